"""Fidelity of replay: a live ``alert run`` of ALERT against what replaying the recorded trace
predicts for the same goal and workload (``alert fidelity``).

Live: the per-input CSV log of ``alert run`` (real knob, real contention, the same meter), with
inputs paced every ``period`` = deadline seconds, so each input's energy covers one deadline
period as in replay. Replay: the ``ALERT`` scheme of :mod:`alert.evaluation.schemes` on the
workload's recorded trace. Both are judged with the evaluation's miss rule
(:func:`alert.evaluation.metrics.misses`): no output by the deadline, delivered accuracy below the
goal, or the input's energy above P_goal·T.

The gap is relative for energy and accuracy (live / replay − 1) and a difference in percentage
points for the miss rate. A second replay charges the live run's median pre-model overhead
(decide + apply: ``response_s − latency_s`` of the log), which replay otherwise takes as zero; a
third judges each input with its own overhead drawn from the live distribution (``rejudge``),
since an input whose overhead is in the tail is late although its model was on time.

Contention states: a live run and a trace rarely spend the same share of their inputs under
contention (different lengths cut the on/off schedule differently), so the replay's per-input
outcomes are weighted to the live run's share of each state (``state_weights``); the unweighted
replay is kept as ``replay_raw``. When the live logs were recorded next to a fresh trace
(``traces``), the platform's committed trace is replayed too (``replay_platform``): the difference
between the two replays is the drift of the machine between the recordings.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alert import outcome
from alert.evaluation import metrics
from alert.evaluation.metrics import Constraint
from alert.evaluation.traces import Trace
from alert.profile import Profile
from alert.safeio import InputError
from alert.system.base import PowerModel


@dataclass(frozen=True)
class Outcome:
    """Mean energy per input (J), mean delivered accuracy, share of inputs missing a constraint."""

    energy: float
    accuracy: float
    miss_rate: float
    inputs: int
    measured_accuracy: float = float("nan")

    def as_dict(self) -> dict[str, float]:
        return {"energy": self.energy, "accuracy": self.accuracy, "miss_rate": self.miss_rate,
                "inputs": self.inputs, "measured_accuracy": self.measured_accuracy}


class LogError(InputError):
    """A live log is malformed; the message names the file, the field (row and column) and the fix."""


REQUIRED = ("met_deadline", "delivered_accuracy", "energy_j", "correct")
#: contention states a log may name: none (no ``--contend``), or ``--contend``'s on/off schedule
STATES = ("", "none", "off", "on")
#: columns of seconds (``alert.live.runtime.LOG_COLUMNS``) checked where the log has them
SECONDS = ("latency_s", "response_s", "overhead_s")
UNEDITED = "use the log `alert run --log` wrote, unedited"


def _rows(p: Path) -> tuple[list[dict[str, str]], list[int]]:
    """The rows of the log at ``p`` and the file line each ends on; a row with more or fewer
    values than the header names is a :class:`LogError`."""
    src = str(p)
    if not p.is_file():  # also refuses directories, FIFOs and devices
        raise LogError(src, "<file>", "file not found (or not a regular file)", f"run `alert run ... --log {p}` first")
    rows, lines = [], []
    try:
        with (gzip.open(p, "rt", newline="") if p.suffix == ".gz" else open(p, newline="")) as f:
            reader = csv.DictReader(f)
            for r in reader:
                rows.append(r)
                lines.append(reader.line_num)
    except (OSError, UnicodeDecodeError, EOFError, csv.Error, zlib.error, MemoryError) as e:
        raise LogError(src, "<file>", f"not a readable CSV log ({type(e).__name__}: {e})",
                       "use the file `alert run --log` wrote, gzip-compressed only if named .gz") from None
    for r, line in zip(rows, lines, strict=True):
        missing = [k for k, v in r.items() if v is None]
        if missing:
            raise LogError(src, f"<row {line}>", f"no value for {', '.join(missing)} (the row is cut short)",
                           f"{UNEDITED}; re-run if it was cut off")
        if None in r:
            raise LogError(src, f"<row {line}>", f"{len(r[None])} value(s) beyond the {len(r) - 1} columns of the "
                           "header", UNEDITED)
    return rows, lines


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """The rows of an ``alert run`` log (``.csv`` or ``.csv.gz``), as text."""
    return _rows(Path(path))[0]


def read_log(path: str | Path, profile: Profile | None = None, goal: Constraint | None = None) -> dict[str, np.ndarray]:
    """The columns of an ``alert run`` log (``.csv`` or ``.csv.gz``) that the comparison needs,
    every value checked (a :class:`LogError` names the file, the row, the column and the fix).
    ``profile``: the models and settings the log may name; ``goal``: the goal the run was given
    (the log's ``goal`` and ``deadline_s`` must agree with it). ``on``: whether contention was on
    for each input (all False without a ``state`` column). ``energy``: NaN where the meter's
    reading was not a finite energy >= 0 (``alert run`` logs such a reading as read and does not
    feed it to the controller; ``energy_ok`` is False there)."""
    p = Path(path)
    src = str(p)
    rows, lines = _rows(p)
    if not rows:
        raise LogError(src, "<rows>", "no input rows", "the run logged nothing; re-run it")
    for col in REQUIRED:
        if col not in rows[0]:
            raise LogError(src, col, "column missing", "use a log written by `alert run --log`")
    has = set(rows[0])

    def bad(i: int, col: str, problem: str, fix: str = UNEDITED) -> LogError:
        return LogError(src, f"<row {lines[i]}>.{col}", f"{problem}: {rows[i][col]!r}"[:300], fix)

    def num(i: int, col: str) -> float:
        try:
            return float(rows[i][col])
        except ValueError:
            raise bad(i, col, "not a number") from None

    def column(col: str, lo: float, hi: float, what: str, allow: tuple[float, ...] = ()) -> np.ndarray:
        out = np.array([num(i, col) for i in range(len(rows))])
        wrong = np.flatnonzero(~((np.isfinite(out) & (out >= lo) & (out <= hi)) | np.isin(out, allow)))
        if wrong.size:
            raise bad(int(wrong[0]), col, f"must be {what}")
        return out

    def flag(i: int) -> bool:
        t = rows[i]["met_deadline"].strip().lower()
        if t not in ("true", "false", "1", "0"):
            raise bad(i, "met_deadline", "must be True or False")
        return t in ("true", "1")

    late = np.array([not flag(i) for i in range(len(rows))])
    accuracy = column("delivered_accuracy", 0.0, 1.0, "an accuracy in [0, 1]")
    correct = column("correct", 0.0, 1.0, "the share predicted right, in [0, 1], or -1 (no label)", (-1.0,))
    energy = np.array([num(i, "energy_j") for i in range(len(rows))])
    ok = np.isfinite(energy) & (energy >= 0)
    if not ok.any():
        raise LogError(src, "energy_j", "no input's reading is a finite energy >= 0 (the meter failed throughout)",
                       "check the meter (alert doctor) and re-run")
    seconds = {c: column(c, 0.0, np.inf, "a finite number of seconds >= 0") for c in SECONDS if c in has}
    for i, r in enumerate(rows):
        if r.get("state", "") not in STATES:
            raise bad(i, "state", f"not a contention state ({', '.join(map(repr, STATES))})")
    if profile is not None:
        for col, names in (("model", [m.name for m in profile.models]), ("setting", [s.name for s in profile.settings])):
            for i, r in enumerate(rows):
                if col in r and r[col] not in names:
                    raise bad(i, col, f"not a {col} of the profile {profile.name!r} ({', '.join(names)})",
                              "compare a run with the platform (and traces) recorded for its profile")
    if "deadline_s" in has:
        dl = column("deadline_s", np.nextafter(0.0, 1.0), np.inf, "a deadline in seconds > 0")
        if goal is not None:
            fix = f"give the goal the run was given (the --run goal has deadline={goal.deadline:g})"
            over = np.flatnonzero(dl > goal.deadline * (1 + 1e-5))
            if over.size:
                raise bad(int(over[0]), "deadline_s", f"above the goal's deadline {goal.deadline:g} s", fix)
            if dl.max() < goal.deadline / 2:
                raise bad(int(np.argmax(dl)), "deadline_s", f"the log's largest deadline, less than half the goal's "
                          f"{goal.deadline:g} s", fix)
    if "goal" in has and goal is not None:
        from alert.evaluation.metrics import constraint_from_goal

        for text in dict.fromkeys(r["goal"] for r in rows):
            i = next(k for k, r in enumerate(rows) if r["goal"] == text)
            try:
                g = constraint_from_goal(text)
            except ValueError as e:
                raise bad(i, "goal", f"not a goal ({e})") from None
            if g.task != goal.task or any(not math.isclose(a, b, rel_tol=1e-9) for a, b in
                                          ((g.deadline, goal.deadline), (g.accuracy or 0, goal.accuracy or 0),
                                           (g.power_budget or 0, goal.power_budget or 0))):
                raise bad(i, "goal", f"not the --run goal ({goal.label()})", "give the goal the run was given")
    pre = (seconds["response_s"] - seconds["latency_s"] if "response_s" in seconds and "latency_s" in seconds
           else np.zeros(len(rows)))
    return {"late": late, "pre_overhead": pre, "accuracy": accuracy, "energy": np.where(ok, energy, np.nan),
            "energy_ok": ok, "correct": correct, "overhead": seconds.get("overhead_s", np.zeros(len(rows))),
            "on": np.array([r.get("state", "") == "on" for r in rows])}


def live_outcome(log: dict[str, np.ndarray], c: Constraint) -> Outcome:
    """The live run's outcome; its mean energy leaves out the meter readings ``alert run`` rejected
    (``energy_ok``), as its own summary does, and those inputs are not judged over an energy budget."""
    m = metrics.misses(None, c, accuracy=log["accuracy"], energy=log["energy"], late=log["late"])
    cor = log["correct"][log["correct"] >= 0]
    ok = log.get("energy_ok", np.isfinite(log["energy"]))
    return Outcome(float(log["energy"][ok].mean()), float(log["accuracy"].mean()), float(m.mean()), int(m.size),
                   float(cor.mean()) if cor.size else float("nan"))


def trace_on(trace: Trace) -> np.ndarray:
    """Whether contention was on for each input of ``trace`` (a state other than off/none)."""
    on_names = np.array([n not in ("off", "none") for n in trace.state_names])
    return on_names[trace.states()]


def state_weights(trace: Trace, live_on: np.ndarray) -> np.ndarray | None:
    """Per-input weights (summing to 1) that give the trace's inputs the live run's share of
    contended inputs: w_n = share_live(s_n) / count_trace(s_n). None when the shares already agree
    or a state the live run saw is missing from the trace (nothing to weight)."""
    on = trace_on(trace)
    share = float(np.mean(live_on)) if live_on.size else 0.0
    n_on = int(on.sum())
    n_off = on.size - n_on
    if (share > 0 and n_on == 0) or (share < 1 and n_off == 0) or abs(share - n_on / on.size) < 1e-12:
        return None
    return np.where(on, share / max(n_on, 1), (1.0 - share) / max(n_off, 1))


def overhead_draws(pre: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` per-input overheads with the distribution of the live ones (``pre``): its quantiles at
    (i + 0.5) / n, in a seeded random order."""
    q = np.quantile(np.asarray(pre, dtype=float), (np.arange(n) + 0.5) / n)
    return np.random.default_rng(seed).permutation(q)


def rejudge(trace: Trace, candidate: np.ndarray, setting: np.ndarray, deadline: float, stop: float,
            overhead: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Delivered accuracy and lateness of the replayed choices when input n's model starts
    ``overhead[n]`` after the input arrived, as in ``alert.runtime``: an anytime model keeps the
    last stage that ends within ``stop`` seconds of its own start (the controller's deadline), and
    the input is late when that output (or a traditional model's) comes after ``deadline``
    counted from the arrival. Returns (accuracy, late), one per input."""
    prof = trace.profile
    n = np.arange(trace.n_inputs)
    c, j = np.asarray(candidate), np.asarray(setting)
    at_j = (n, slice(None), j)                                   # (N, C) at the chosen settings
    t = outcome.table(prof, trace.latency[at_j][:, :, None], trace.power[at_j][:, :, None],
                      trace.idle_power[n, j][:, None, None], deadline, stop=stop,
                      start=np.asarray(overhead, dtype=float)[:, None, None])
    return t.accuracy[n, c, 0], ~t.on_time[n, c, 0]


def replay_outcome(trace: Trace, c: Constraint, scheme: str = "ALERT", overhead: float = 0.0,
                   weights: np.ndarray | None = None, draws: np.ndarray | None = None) -> Outcome:
    """Replay ``scheme``. ``overhead``: seconds the runtime spends before each model starts (decide,
    apply): the model then has ``deadline − overhead`` (lateness, anytime cut-off and the
    controller's goal), and the overhead is charged at the setting's idle power. ``draws``: the
    live run's per-input overheads; each input is then judged with its own draw (``rejudge``,
    ``overhead_draws``), while the choices stay those made with ``overhead``, since the controller
    cannot foresee an input's overhead. ``weights``: per-input weights of the means
    (``state_weights``); equal weights by default."""
    from alert.evaluation import suite

    short = c.with_deadline(c.deadline - overhead) if overhead > 0 else c
    tl = suite.timeline(trace, short, scheme)
    energy = tl.energy + overhead * trace.idle_power[np.arange(trace.n_inputs), tl.setting]
    acc, late = tl.accuracy, tl.late
    if draws is not None:
        acc, late = rejudge(trace, tl.candidate, tl.setting, c.deadline, short.deadline,
                            overhead_draws(draws, trace.n_inputs))
    m = metrics.misses(None, c, accuracy=acc, energy=energy, late=late)
    w = np.full(m.size, 1.0 / m.size) if weights is None else weights
    return Outcome(float(w @ energy), float(w @ acc), float(w @ m), int(m.size))


def runtime_watts(trace: Trace) -> float:
    """Power the live runtime's own work (decide, apply, observe) adds, by the trace's meter: one
    busy core of the CPU-time model (its W per core, ``PowerModel``), 0 for a meter that does not
    see the host CPU (e.g. NVML's GPU power)."""
    model = PowerModel.of_metadata(trace.metadata)
    return model.watts_per_core if model is not None else 0.0


def with_runtime_energy(o: Outcome, seconds: float, watts: float) -> Outcome:
    """``o`` with ``seconds`` of runtime work per input charged at ``watts`` more than idle (the
    miss rate is left as it was: the runtime's energy does not change what was late)."""
    return dataclasses.replace(o, energy=o.energy + seconds * watts)


def gap(live: Outcome, replay: Outcome) -> dict[str, float]:
    """Relative gaps (live / replay − 1) of energy and accuracy; miss-rate difference (live − replay)."""
    return {"energy": live.energy / replay.energy - 1.0, "accuracy": live.accuracy / replay.accuracy - 1.0,
            "miss_rate": live.miss_rate - replay.miss_rate}


def compare(runs: Sequence[tuple[str, str, str | Path]], traces: dict[str, Trace],
            scheme: str = "ALERT", platform_traces: dict[str, Trace] | None = None) -> dict[str, Any]:
    """``runs``: (workload, goal text, live log). Returns the ``fidelity.json`` document.
    ``traces``: the traces replayed (recorded next to the live runs, or the platform's);
    ``platform_traces``: the platform's committed traces, replayed too when given (the drift).
    ``scheme``: the replayed scheme (e.g. ``ALERT_runtime``, which applies the live runtime's
    stage-granular anytime rule)."""
    from alert.evaluation.metrics import constraint_from_goal

    out: list[dict[str, Any]] = []
    for w, goal, log in runs:
        if w not in traces:
            raise ValueError(f"run {log}: no recorded trace for workload {w!r} (have {sorted(traces)}). "
                             "Fix: record it with `alert trace record --workload`")
        c = constraint_from_goal(goal)
        tr = traces[w]
        data = read_log(log, tr.profile, c)
        wts = state_weights(tr, data["on"])
        lv = live_outcome(data, c)
        rp = replay_outcome(tr, c, scheme, weights=wts)
        o = float(np.median(data["pre_overhead"]))
        ro = replay_outcome(tr, c, scheme, overhead=o, weights=wts) if 0 < o < c.deadline else rp
        pre = data["pre_overhead"][np.isfinite(data["pre_overhead"]) & (data["pre_overhead"] >= 0)]
        rd = replay_outcome(tr, c, scheme, overhead=o, weights=wts, draws=pre) if pre.size and 0 < o < c.deadline else ro
        row: dict[str, Any] = {
            "workload": w, "goal": goal, "log": str(log), "live": lv.as_dict(), "replay": rp.as_dict(),
            "gap": gap(lv, rp), "overhead_s": o, "replay_overhead": ro.as_dict(), "gap_overhead": gap(lv, ro),
            "replay_overhead_draws": rd.as_dict(), "gap_overhead_draws": gap(lv, rd),
            "runtime_s": float(np.mean(data["overhead"])), "runtime_watts": runtime_watts(tr),
            "contended_share": {"live": float(np.mean(data["on"])), "trace": float(np.mean(trace_on(tr)))},
            "replay_raw": replay_outcome(tr, c, scheme).as_dict(),
            "meter_rejected": int((~data["energy_ok"]).sum())}
        rr = with_runtime_energy(rd, row["runtime_s"], row["runtime_watts"])
        row["replay_runtime"], row["gap_runtime"] = rr.as_dict(), gap(lv, rr)
        if platform_traces is not None and w in platform_traces:
            pt = platform_traces[w]
            rpp = replay_outcome(pt, c, scheme, weights=state_weights(pt, data["on"]))
            row["replay_platform"] = rpp.as_dict()
            row["gap_platform"] = gap(lv, rpp)
            row["drift"] = gap(rp, rpp)  # fresh trace vs committed trace, both replayed
        out.append(row)
    doc: dict[str, Any] = {"scheme": scheme, "runs": out}
    keys = [("gap", "per_workload"), ("gap_overhead", "per_workload_overhead"),
            ("gap_overhead_draws", "per_workload_overhead_draws"), ("gap_runtime", "per_workload_runtime"),
            ("gap_platform", "per_workload_platform"), ("drift", "per_workload_drift")]
    for key, name in keys:
        per: dict[str, dict[str, float]] = {}
        for w in dict.fromkeys(r["workload"] for r in out):
            sub = [r[key] for r in out if r["workload"] == w and key in r]
            if sub:
                per[w] = {k: float(np.mean([abs(g[k]) for g in sub])) for k in ("energy", "accuracy", "miss_rate")}
        if per:
            doc[name] = per
    return doc
