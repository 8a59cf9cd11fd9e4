"""Sleep-timed fake models and a matching profile for the LoadGen and Ray Serve tests: a model's
latency is a sleep, its prediction is the label encoded in the input (x[:, 0])."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from alert.live.runner import RunOutput, run_stages
from alert.profile import Model, Profile, Setting

Q_FAIL = 0.1


def predict(x: Any) -> np.ndarray:
    x = np.asarray(x)
    out = np.zeros((x.shape[0], 4))
    out[np.arange(x.shape[0]), x[:, 0].astype(int) % 4] = 1.0
    return out


class Sleeper:
    """A traditional model that takes ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, x: Any) -> np.ndarray:
        time.sleep(self.seconds)
        return predict(x)

    def __alert_runner__(self, x: Any, stage: Any, deadline: Any, stage_ends: Any = None) -> RunOutput:
        out = self(x)
        return RunOutput(out, None, out.argmax(-1).tolist())


class AnytimeSleeper:
    """An anytime model of ``len(stages)`` stages, each taking its seconds."""

    def __init__(self, stages: list[float]) -> None:
        self.stages = stages
        self.n_stages = len(stages)

    def init_state(self, x: Any) -> Any:
        return x

    def run_stage(self, k: int, state: Any) -> np.ndarray:
        time.sleep(self.stages[k])
        return predict(state)

    def __call__(self, x: Any) -> list[np.ndarray]:
        return [self.run_stage(k, x) for k in range(self.n_stages)]

    def __alert_runner__(self, x: Any, stage: Any, deadline: Any, stage_ends: Any = None) -> RunOutput:
        return run_stages(self, x, stage, deadline, stage_ends)


def profile(spec: dict[str, tuple[list[float], list[float]]], unit: str = "level",
            values: tuple[float, ...] = (1.0,)) -> Profile:
    """``{name: (accuracy per stage, latency per stage)}`` at every setting (same latency), with a
    small spread, 5 W inferring and 1 W idle."""
    models = []
    for name, (acc, lat) in spec.items():
        k, L = len(acc), len(values)
        t = np.cumsum(lat)[:, None] * np.ones((1, L))
        models.append(Model(name, "anytime" if k > 1 else "traditional", np.array(acc, float), t,
                            np.full((k, L), 5.0), 0.05 * t, 1.1 * t))
    settings = tuple(Setting(f"{v:g}", v, unit, 1.0) for v in values)
    return Profile(tuple(models), settings, Q_FAIL, "fake-sleepers")


def samples(n: int, batch: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` inputs whose first feature is the label."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        y = rng.integers(0, 4, batch)
        x = np.concatenate([y[:, None].astype(np.float32), rng.standard_normal((batch, 3)).astype(np.float32)], 1)
        out.append((x, y))
    return out
