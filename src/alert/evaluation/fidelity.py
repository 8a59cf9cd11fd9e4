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
(decide + apply: ``response_s − latency_s`` of the log), which replay otherwise takes as zero.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alert.evaluation import metrics
from alert.evaluation.metrics import Constraint
from alert.evaluation.traces import Trace


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


def read_log(path: str | Path) -> dict[str, np.ndarray]:
    """The columns of an ``alert run`` log that the comparison needs."""
    p = Path(path)
    if not p.is_file():
        raise LogError(f"{p}: file not found. Fix: run `alert run ... --log {p}` first")
    with open(p, newline="") as f:
        rows = list(csv.DictReader(f))
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
                "correct": np.array([float(r["correct"]) for r in rows])}
    except ValueError as e:
        raise LogError(f"{p}: a value is not numeric ({e}). Fix: use an unedited `alert run` log") from None


def live_outcome(log: dict[str, np.ndarray], c: Constraint) -> Outcome:
    m = metrics.misses(None, c, accuracy=log["accuracy"], energy=log["energy"], late=log["late"])
    cor = log["correct"][log["correct"] >= 0]
    return Outcome(float(log["energy"].mean()), float(log["accuracy"].mean()), float(m.mean()), int(m.size),
                   float(cor.mean()) if cor.size else float("nan"))


def replay_outcome(trace: Trace, c: Constraint, scheme: str = "ALERT", overhead: float = 0.0) -> Outcome:
    """Replay ``scheme``. ``overhead``: seconds the runtime spends before each model starts (decide,
    apply): the model then has ``deadline − overhead`` (lateness, anytime cut-off and the
    controller's goal), and the overhead is charged at the setting's idle power."""
    from alert.evaluation import suite

    if overhead > 0:
        short = Constraint(c.task, c.deadline - overhead, c.accuracy, c.power_budget)
        tl = suite.timeline(trace, short, scheme)
        energy = tl.energy + overhead * trace.idle_power[np.arange(trace.n_inputs), tl.setting]
    else:
        tl = suite.timeline(trace, c, scheme)
        energy = tl.energy
    m = metrics.misses(None, c, accuracy=tl.accuracy, energy=energy, late=tl.late)
    return Outcome(float(energy.mean()), float(tl.accuracy.mean()), float(m.mean()), int(m.size))


def gap(live: Outcome, replay: Outcome) -> dict[str, float]:
    """Relative gaps (live / replay − 1) of energy and accuracy; miss-rate difference (live − replay)."""
    return {"energy": live.energy / replay.energy - 1.0, "accuracy": live.accuracy / replay.accuracy - 1.0,
            "miss_rate": live.miss_rate - replay.miss_rate}


def compare(runs: Sequence[tuple[str, str, str | Path]], traces: dict[str, Trace],
            scheme: str = "ALERT") -> dict[str, Any]:
    """``runs``: (workload, goal text, live log). Returns the ``fidelity.json`` document.
    ``scheme``: the replayed scheme (e.g. ``ALERT_runtime``, which applies the live runtime's
    stage-granular anytime rule)."""
    from alert.evaluation.cli import _constraint_from_goal

    out: list[dict[str, Any]] = []
    for w, goal, log in runs:
        if w not in traces:
            raise ValueError(f"run {log}: no recorded trace for workload {w!r} (have {sorted(traces)}). "
                             "Fix: record it with `alert trace record --workload`")
        c = _constraint_from_goal(goal)
        data = read_log(log)
        lv = live_outcome(data, c)
        rp = replay_outcome(traces[w], c, scheme)
        o = float(np.median(data["pre_overhead"]))
        ro = replay_outcome(traces[w], c, scheme, overhead=o) if 0 < o < c.deadline else rp
        out.append({"workload": w, "goal": goal, "log": str(log), "live": lv.as_dict(), "replay": rp.as_dict(),
                    "gap": gap(lv, rp), "overhead_s": o, "replay_overhead": ro.as_dict(),
                    "gap_overhead": gap(lv, ro)})
    per: dict[str, dict[str, float]] = {}
    per_o: dict[str, dict[str, float]] = {}
    for w in dict.fromkeys(r["workload"] for r in out):
        for key, dst in (("gap", per), ("gap_overhead", per_o)):
            sub = [r[key] for r in out if r["workload"] == w]
            dst[w] = {k: float(np.mean([abs(g[k]) for g in sub])) for k in ("energy", "accuracy", "miss_rate")}
    return {"scheme": scheme, "runs": out, "per_workload": per, "per_workload_overhead": per_o}
