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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alert import outcome
from alert.evaluation import metrics
from alert.evaluation.metrics import Constraint
from alert.evaluation.traces import Trace
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


class LogError(ValueError):
    """A live log is malformed; the message names the file, the column and the fix."""


REQUIRED = ("met_deadline", "delivered_accuracy", "energy_j", "correct")


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """The rows of an ``alert run`` log (``.csv`` or ``.csv.gz``), as text."""
    p = Path(path)
    if not p.is_file():
        raise LogError(f"{p}: file not found. Fix: run `alert run ... --log {p}` first")
    try:
        with (gzip.open(p, "rt", newline="") if p.suffix == ".gz" else open(p, newline="")) as f:
            return list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise LogError(f"{p}: not a readable CSV log ({e}). Fix: use the file `alert run --log` wrote, "
                       "gzip-compressed only if named .gz") from None


def read_log(path: str | Path) -> dict[str, np.ndarray]:
    """The columns of an ``alert run`` log (``.csv`` or ``.csv.gz``) that the comparison needs.
    ``on``: whether contention was on for each input (all False without a ``state`` column)."""
    p = Path(path)
    rows = read_rows(p)
    if not rows:
        raise LogError(f"{p}: no input rows. Fix: the run logged nothing; re-run it")
    for col in REQUIRED:
        if col not in rows[0]:
            raise LogError(f"{p}: column '{col}' missing. Fix: use a log written by `alert run --log`")
    try:
        pre = (np.array([float(r["response_s"]) - float(r["latency_s"]) for r in rows])
               if "response_s" in rows[0] and "latency_s" in rows[0] else np.zeros(len(rows)))
        return {"late": np.array([r["met_deadline"] != "True" for r in rows]), "pre_overhead": pre,
                "accuracy": np.array([float(r["delivered_accuracy"]) for r in rows]),
                "energy": np.array([float(r["energy_j"]) for r in rows]),
                "correct": np.array([float(r["correct"]) for r in rows]),
                "overhead": np.array([float(r.get("overhead_s") or 0.0) for r in rows]),
                "on": np.array([r.get("state", "") == "on" for r in rows])}
    except ValueError as e:
        raise LogError(f"{p}: a value is not numeric ({e}). Fix: use an unedited `alert run` log") from None


def live_outcome(log: dict[str, np.ndarray], c: Constraint) -> Outcome:
    m = metrics.misses(None, c, accuracy=log["accuracy"], energy=log["energy"], late=log["late"])
    cor = log["correct"][log["correct"] >= 0]
    return Outcome(float(log["energy"].mean()), float(log["accuracy"].mean()), float(m.mean()), int(m.size),
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
        data = read_log(log)
        tr = traces[w]
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
            "replay_raw": replay_outcome(tr, c, scheme).as_dict()}
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
