"""A small valid profile document for tests (imported by name; conftest modules collide)."""

from __future__ import annotations

import copy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def make_profile_dict(models=None, settings=None, q_fail=0.1):
    """A small valid profile document; tests mutate copies of it."""
    settings = settings or [
        {"name": "10W", "value": 10.0, "unit": "W", "idle_power": 2.0},
        {"name": "20W", "value": 20.0, "unit": "W", "idle_power": 3.0},
    ]
    models = models or [
        {"name": "small", "kind": "traditional", "accuracy": 0.8, "latency": [0.04, 0.02]},
        {"name": "big", "kind": "traditional", "accuracy": 0.9, "latency": [0.10, 0.05]},
        {"name": "any", "kind": "anytime", "accuracy": [0.7, 0.85, 0.92],
         "latency": [[0.02, 0.01], [0.06, 0.03], [0.12, 0.06]]},
    ]
    return {"format": "alert-profile", "version": 1, "name": "tiny", "metadata": {"platform": "test"},
            "q_fail": q_fail, "settings": settings, "models": models}


def gaussian(mean: float, std: float):
    """The paper's estimator holding the belief ξ ~ N(mean, std²) (for estimate() tests)."""
    from alert.estimators import make_estimator

    est = make_estimator("paper")
    est.assume(mean, std)
    return est


def mutate(d, path, value):
    """A deep copy of the JSON-like document ``d`` with the entry at ``path`` (keys and indices)
    set to ``value``, or removed when ``value`` is ``KeyError``."""
    d = copy.deepcopy(d)
    obj = d
    for k in path[:-1]:
        obj = obj[k]
    if value is KeyError:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value
    return d
