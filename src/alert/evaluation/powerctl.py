"""A POET/CALOREE-style latency feedback power controller (the system level of Sys-only and No-coord).

POET (Imes et al., RTAS 2015 [38]) estimates the application's base speed with a scalar Kalman
filter and picks the cheapest system configuration whose predicted speed meets the latency
target. Here, per input: the filter tracks w, the work of the running DNN in seconds at the
fastest setting, from observed latency × speedup of the setting used; the controller then picks
the setting of least predicted energy (``p_j·t_j + p_idle_j·(T − t_j)``) among those whose
predicted latency ``w / speedup_j`` meets ``margin·T`` and whose predicted energy fits the budget
(when one is given). If none meets the target, the fastest setting within the budget; if none
fits the budget, the cheapest setting. It knows nothing of DNN choices (that is the point of the
Sys-only and No-coord baselines).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PowerControllerConfig:
    """Kalman noise settings (relative units) and the latency-target margin."""

    process_noise: float = 1e-3      # Q: how fast the workload may drift (relative²)
    measurement_noise: float = 1e-2  # R: per-input latency noise (relative²)
    initial_variance: float = 1.0
    margin: float = 1.0              # target latency = margin × deadline (POET targets the goal itself)


class KalmanPowerController:
    """Picks a setting index per input from latency feedback alone."""

    def __init__(self, base_latency: np.ndarray, power: np.ndarray, idle_power: np.ndarray,
                 config: PowerControllerConfig | None = None) -> None:
        """``base_latency[j]``: the profiled latency of the DNN it believes is running, per setting."""
        self.base = np.asarray(base_latency, dtype=float)
        self.speedup = self.base.min() / self.base            # ≤ 1, 1 at the fastest setting
        self.power = np.asarray(power, dtype=float)
        self.idle = np.asarray(idle_power, dtype=float)
        self.cfg = config or PowerControllerConfig()
        self.w = float(self.base.min())                       # work at the fastest setting (s)
        self.P = self.cfg.initial_variance
        self.fastest = int(np.argmax(self.speedup))

    def choose(self, deadline: float, energy_budget: float | None = None) -> int:
        """The setting for the next input."""
        t = self.w / self.speedup
        e = self.power * t + self.idle * np.maximum(0.0, deadline - t)
        fits = np.ones_like(t, dtype=bool) if energy_budget is None else e <= energy_budget
        meets = (t <= self.cfg.margin * deadline) & fits
        if meets.any():
            return int(np.argmin(np.where(meets, e, np.inf)))
        if fits.any():
            return int(np.argmin(np.where(fits, t, np.inf)))
        return int(np.argmin(e))

    def observe(self, latency: float, setting: int) -> None:
        """Kalman update of the work estimate from one observed latency at ``setting``."""
        w0 = float(self.base.min())                 # filter in units of the profiled work
        z = latency * self.speedup[setting] / w0
        P = self.P + self.cfg.process_noise
        K = P / (P + self.cfg.measurement_noise)
        self.w = w0 * (self.w / w0 + K * (z - self.w / w0))
        self.P = (1 - K) * P
