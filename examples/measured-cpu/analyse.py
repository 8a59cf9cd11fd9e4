"""Where the live runs and their replay differ: the numbers behind docs/measured.md ("What is still
wrong"), from the committed logs and fresh traces of the fidelity check.

    python3 examples/measured-cpu/analyse.py

Per live run: the share of inputs whose model ran over 50 ms and the share of the energy they
carry, live and in the replay (``ALERT_runtime``, weighted to the live contended share); the
energy gap with and without them; and the late inputs split into (a) a model on time but started
late (decide + apply), (b) a traditional model past the deadline, (c) an anytime model with no
stage by the deadline, against the late share of the replay charging the median overhead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alert.evaluation import fidelity, measured, suite  # noqa: E402
from alert.evaluation.cli import _constraint_from_goal  # noqa: E402
from alert.evaluation.metrics import Constraint  # noqa: E402

STALL_S = 0.05


def main() -> int:
    plat = measured.load_platform(HERE)
    doc = json.loads((HERE / "fidelity.json").read_text())
    fresh = measured.load_traces(ROOT / doc["traces"], plat.profile)
    print("| workload | goal | live: runs > 50 ms / their energy | replay: same | energy gap | without them "
          "| live late = (a) + (b) + (c) | replay late (median overhead) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in doc["runs"]:
        w, c = r["workload"], _constraint_from_goal(r["goal"])
        rows = fidelity.read_rows(ROOT / r["log"])
        col = lambda k: np.array([float(x[k]) for x in rows])  # noqa: E731
        energy, run, lat, resp = col("energy_j"), col("run_s"), col("latency_s"), col("response_s")
        on = np.array([x["state"] == "on" for x in rows])
        late = np.array([x["met_deadline"] != "True" for x in rows])
        anytime = np.array([x["stage"] != "" for x in rows])
        none = anytime & np.array([x["stage_reached"] == "0" for x in rows])
        tr, T = fresh[w], c.deadline
        wts = fidelity.state_weights(tr, on)
        wts = np.full(tr.n_inputs, 1.0 / tr.n_inputs) if wts is None else wts
        tl = suite.timeline(tr, c, doc["scheme"])
        stall, r_stall = run > STALL_S, tl.latency > STALL_S
        trimmed = energy[~stall].mean() / ((wts[~r_stall] @ tl.energy[~r_stall]) / wts[~r_stall].sum()) - 1
        a = (lat <= T) & (resp > T) & ~none
        b = ~anytime & (lat > T)
        o = r["overhead_s"]
        tlo = suite.timeline(tr, Constraint(c.task, T - o, c.accuracy, c.power_budget), doc["scheme"])
        print(f"| {w} | `{r['goal']}` | {stall.mean():.1%} / {energy[stall].sum() / energy.sum():.1%} | "
              f"{wts @ r_stall:.1%} / {(wts * tl.energy)[r_stall].sum() / (wts @ tl.energy):.1%} | "
              f"{r['gap']['energy']:+.1%} | {trimmed:+.1%} | {late.mean():.1%} = {a.mean():.1%} + {b.mean():.1%} + "
              f"{none.mean():.1%} | {wts @ tlo.late:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
