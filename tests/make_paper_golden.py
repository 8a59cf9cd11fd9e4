"""Write tests/data/paper-decisions.json: the paper preset's decisions on recorded and simulated
traces, pinned so that refactors cannot change them (test_paper_golden.py compares).

Run from the repository root with the code whose behaviour is the reference:
    python tests/make_paper_golden.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alert.evaluation import metrics, scenarios, schemes  # noqa: E402
from alert.evaluation.replay import outcomes  # noqa: E402
from alert.evaluation.traces import Trace  # noqa: E402

# the paper preset's variants, as ControllerConfig options (the golden keys keep these names)
SCHEMES: dict[str, dict] = {"ALERT": {}, "ALERT_Pr90": {"pr_th": 0.9}, "ALERT*": {"mean_only": True},
                            "ALERT_first": {"anytime_deadline": "first"}, "ALERT_Any": {"candidates": "anytime"}}


def cases():
    """(name, trace) pairs: two recorded platforms and one simulated cell."""
    for plat in ("measured-cpu", "measured-gpu"):
        yield f"{plat}/memory", Trace.load(ROOT / "examples" / plat / "memory.npz")
    yield "sim/cpu1-image-memory", scenarios.generate("cpu1", "image", "memory", n_inputs=120, seed=3)


def decisions(variants: dict[str, dict] | None = None, **common) -> dict:
    """Decision sequences of each of ``variants`` (``ControllerConfig`` options; default: the paper
    preset's, with ``estimator="paper"``), keyed by case, task, grid setting and variant."""
    if variants is None:
        variants, common = SCHEMES, {"estimator": "paper", **common}
    out = {}
    for name, trace in cases():
        for task in ("min-energy", "min-error"):
            grid = metrics.grid(trace.profile, task, n_deadlines=2, n_goals=2)
            for i, c in enumerate(grid):
                out_c = outcomes(trace, c.deadline)
                for s, opts in variants.items():
                    if s == "ALERT_Any" and not trace.profile.is_anytime.any():
                        continue
                    ctx = schemes.SchemeContext(trace, out_c, c, trace.profile)
                    ch = schemes.run_controller(ctx, **common, **opts)
                    out[f"{name}|{task}#{i}|{c.label()}|{s}"] = [ch.candidate.tolist(), ch.setting.tolist()]
    return out


if __name__ == "__main__":
    path = ROOT / "tests" / "data" / "paper-decisions.json"
    path.write_text(json.dumps(decisions(), separators=(",", ":")))
    print(f"wrote {path}")
