"""Tiny hand-made profiles and traces for the evaluation tests."""

from __future__ import annotations

import numpy as np

from alert.evaluation.traces import Trace
from alert.profile import Profile


def tiny_profile() -> Profile:
    """One traditional model (q 0.9) and a 2-stage anytime model (q 0.6, 0.8); settings 10 W and 20 W."""
    return Profile.from_dict({
        "format": "alert-profile", "version": 1, "name": "tiny", "q_fail": 0.1,
        "settings": [{"name": "10W", "value": 10.0, "unit": "W", "idle_power": 2.0},
                     {"name": "20W", "value": 20.0, "unit": "W", "idle_power": 4.0}],
        "models": [
            {"name": "big", "kind": "traditional", "accuracy": 0.9, "latency": [0.10, 0.05], "power": [10.0, 20.0]},
            {"name": "nest", "kind": "anytime", "accuracy": [0.6, 0.8],
             "latency": [[0.04, 0.02], [0.08, 0.04]], "power": [10.0, 20.0]},
        ]})


def tiny_trace(latency: np.ndarray, state: np.ndarray | None = None, idle: float | None = None) -> Trace:
    prof = tiny_profile()
    N = latency.shape[0]
    power = np.broadcast_to(prof.power, latency.shape).copy()
    idle_p = np.broadcast_to(prof.idle_power if idle is None else np.full(2, idle), (N, 2)).copy()
    names = ("none", "memory") if state is not None else ("none",)
    return Trace(prof, latency, power, idle_p, state, names)


