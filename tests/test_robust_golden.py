"""The default controller decides as the pinned reference does, input by input.

``tests/data/robust-decisions.json`` holds the decisions of ``ControllerConfig()`` and two named
variants on recorded and simulated traces, written by ``tests/make_robust_golden.py``. A change
meant to leave behaviour alone (speed work on the decision path) must pass unchanged; a change
meant to alter it regenerates the file and says so.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from alert.estimators.robust import ProfileDepartureWarning
from make_paper_golden import decisions
from make_robust_golden import SCHEMES

GOLDEN = json.loads((Path(__file__).parent / "data" / "robust-decisions.json").read_text())


@pytest.mark.slow
def test_default_controller_reproduces_its_pinned_decisions():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProfileDepartureWarning)
        now = decisions(SCHEMES)
    assert set(now) == set(GOLDEN) and len(GOLDEN) > 60
    changed = [k for k, (cand, sett) in GOLDEN.items()
               if not (np.array_equal(now[k][0], cand) and np.array_equal(now[k][1], sett))]
    assert not changed, f"{len(changed)} of {len(GOLDEN)} decision sequences changed, e.g. {changed[:3]}"
