"""The paper preset decides exactly as the reference code did, input by input.

``tests/data/paper-decisions.json`` holds the decisions of the paper's ALERT and its variants on
recorded and simulated traces, written by ``tests/make_paper_golden.py`` from the code before the
estimator interface existed. Any change that alters one decision of the paper preset fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alert.evaluation import schemes
from alert.evaluation.replay import outcomes
from make_paper_golden import cases

GOLDEN = json.loads((Path(__file__).parent / "data" / "paper-decisions.json").read_text())
OPTIONS = {"ALERT": {}, "ALERT_Pr90": {"pr_th": 0.9}, "ALERT*": {"mean_only": True},
           "ALERT_first": {"anytime_deadline": "first"}, "ALERT_Any": {"candidates": "anytime"}}


@pytest.mark.slow
def test_paper_preset_reproduces_reference_decisions():
    from alert.evaluation import metrics

    checked = 0
    for name, trace in cases():
        for task in ("min-energy", "min-error"):
            for i, c in enumerate(metrics.grid(trace.profile, task, n_deadlines=2, n_goals=2)):
                out = outcomes(trace, c.deadline)
                ctx = schemes.SchemeContext(trace, out, c, trace.profile)
                for s, opts in OPTIONS.items():
                    key = f"{name}|{task}#{i}|{c.label()}|{s}"
                    if key not in GOLDEN:
                        continue
                    ch = schemes.run_controller(ctx, estimator="paper", **opts)
                    cand, sett = GOLDEN[key]
                    assert np.array_equal(ch.candidate, cand) and np.array_equal(ch.setting, sett), key
                    checked += 1
    assert checked == len(GOLDEN) and checked > 100
