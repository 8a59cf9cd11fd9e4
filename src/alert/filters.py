"""The two Kalman filters of ALERT (paper §3.4).

``SlowdownFilter`` tracks the global slowdown factor ξ (Eq. 5): its mean μ and its variance σ²,
which ALERT reads as a measure of the environment's volatility. ``IdlePowerFilter`` tracks φ, the
ratio of DNN-idle power to the power of the configuration last used (Eq. 8).

Both filters guard their state: an observation that is not a finite positive number is rejected,
and one outside a plausible range is clamped (``MeasurementGuard``), so the state never becomes NaN
or infinite whatever is fed to them.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass


def as_real(v: object) -> float | None:
    """``v`` as a float when it is a real number (numpy's too; a bool is not one), else None (an
    integer too large for a float included): the one rule for a number given as configuration."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        return None
    try:
        return float(v)
    except OverflowError:
        return None


def is_count(v: object) -> bool:
    """Whether ``v`` is an integer (numpy's too; a bool is not one)."""
    return not isinstance(v, bool) and isinstance(v, numbers.Integral)


def check_real(owner: str, **values: object) -> None:
    """A ValueError naming the first of ``values`` that is not a finite real number (``as_real``)."""
    for name, v in values.items():
        f = as_real(v)
        if f is None or not math.isfinite(f):
            raise ValueError(f"{owner}: {name} must be a finite number, got {str(v)[:40]}")


def check_count(owner: str, **values: object) -> None:
    """A ValueError naming the first of ``values`` that is not an integer (``is_count``)."""
    for name, v in values.items():
        if not is_count(v):
            raise ValueError(f"{owner}: {name} must be an integer, got {v!r}")


@dataclass
class MeasurementGuard:
    """The documented rule for bad measurements.

    * NaN, ±inf, zero and negative values are **rejected**: the filter state is unchanged.
    * Finite positive values outside ``[low, high]`` are **clamped** to the nearest bound.
      For ξ the default bounds are [1/50, 50]: a latency 1000x the profile is taken as a slowdown
      of 50 (still a strong signal, but one that the filter recovers from in a few inputs).

    Counters ``rejected`` and ``clamped`` record how often each rule fired.
    """

    low: float
    high: float
    rejected: int = 0
    clamped: int = 0

    def admit(self, x: float) -> float | None:
        """Return the value to feed the filter, or None when the measurement is rejected."""
        try:
            x = float(x)
        except (TypeError, ValueError):
            self.rejected += 1
            return None
        if not math.isfinite(x) or x <= 0.0:
            self.rejected += 1
            return None
        if x < self.low:
            self.clamped += 1
            return self.low
        if x > self.high:
            self.clamped += 1
            return self.high
        return x


class SlowdownFilter:
    """Kalman filter with adaptive process noise for the global slowdown ξ (Eq. 5).

    With state μ, σ², K, Q and the previous innovation y_prev, an observation ξ_obs gives::

        y      = ξ_obs − μ
        Q_new  = max(Q0, α·Q + (1−α)·(K·y_prev)²)
        P      = (1−K)·σ² + Q_new          (uses the previous gain K)
        K_new  = P / (P + R)
        μ_new  = μ + K_new·y
        σ²_new = P

    Defaults are the paper's: μ=1, σ²=0.1, K=0.5, Q0=0.1, R=0.001, α=0.3. σ² never falls below Q0,
    so ALERT never believes the environment is perfectly calm; raise ``q0`` for extra caution (§3.6).
    The reading is docs/controller.md, "Eq. 5: the slowdown filter".
    """

    def __init__(self, mean: float = 1.0, variance: float = 0.1, gain: float = 0.5, q0: float = 0.1,
                 r: float = 0.001, alpha: float = 0.3, min_xi: float = 1.0 / 50, max_xi: float = 50.0) -> None:
        check_real("slowdown filter", mean=mean, variance=variance, gain=gain, q0=q0, r=r, alpha=alpha,
                   min_xi=min_xi, max_xi=max_xi)
        if not (variance > 0 and q0 > 0 and r > 0 and 0 <= alpha <= 1 and 0 <= gain <= 1 and mean > 0):
            raise ValueError("SlowdownFilter needs mean > 0, variance > 0, q0 > 0, r > 0, 0 <= alpha, gain <= 1")
        self.mean = float(mean)
        self.variance = float(variance)
        self.gain = float(gain)
        self.q = float(q0)
        self.q0 = float(q0)
        self.r = float(r)
        self.alpha = float(alpha)
        self.y_prev = 0.0
        self.n = 0
        self.guard = MeasurementGuard(min_xi, max_xi)

    @property
    def std(self) -> float:
        """σ, the standard deviation of ξ."""
        return math.sqrt(self.variance)

    def update(self, xi: float) -> float:
        """Feed one observed slowdown ξ = t_observed / t_prof (Eq. 5); return the new mean μ."""
        x = self.guard.admit(xi)
        if x is None:
            return self.mean
        y = x - self.mean
        q_new = max(self.q0, self.alpha * self.q + (1.0 - self.alpha) * (self.gain * self.y_prev) ** 2)
        p = (1.0 - self.gain) * self.variance + q_new
        k_new = p / (p + self.r)
        self.mean = self.mean + k_new * y
        self.variance = p
        self.gain = k_new
        self.q = q_new
        self.y_prev = y
        self.n += 1
        return self.mean

    def state(self) -> dict[str, float]:
        return {"mean": self.mean, "variance": self.variance, "gain": self.gain, "q": self.q,
                "y_prev": self.y_prev, "n": self.n}


class IdlePowerFilter:
    """Kalman filter for φ, the DNN-idle power over the power of the last configuration (Eq. 8)::

        W   = (M + S) / (M + S + V)
        M   = (1 − W)·(M + S)
        φ   = φ + W·(p_idle / p_last − φ)

    Defaults are the paper's: M0=0.01, S=0.0001, V=0.001. Ratios outside [0, ``max_ratio``] or
    non-finite ones are rejected or clamped (``guard``); a ratio of exactly 0 is allowed.
    """

    def __init__(self, phi: float, m0: float = 0.01, s: float = 0.0001, v: float = 0.001,
                 max_ratio: float = 10.0) -> None:
        if not (math.isfinite(phi) and phi >= 0):
            raise ValueError(f"initial idle-power ratio must be finite and >= 0, got {phi}")
        check_real("idle-power filter", m0=m0, s=s, v=v, max_ratio=max_ratio)
        if not (m0 >= 0 and s >= 0 and v > 0 and max_ratio > 0):
            raise ValueError(f"idle-power filter: needs m0 >= 0, s >= 0, v > 0 and max_ratio > 0 (Eq. 8's "
                             f"M0, S, V), got m0={m0!r}, s={s!r}, v={v!r}, max_ratio={max_ratio!r}")
        self.phi = float(phi)
        self.m = float(m0)
        self.s = float(s)
        self.v = float(v)
        self.n = 0
        self.guard = MeasurementGuard(1e-12, max_ratio)

    def update(self, idle_power: float, last_power: float) -> float:
        """Feed a measured DNN-idle power and the power p[i, j] of the configuration last used."""
        try:
            ratio = float(idle_power) / float(last_power)
        except (TypeError, ValueError, ZeroDivisionError):
            self.guard.rejected += 1
            return self.phi
        if ratio == 0.0 and float(idle_power) == 0.0:
            x: float | None = 0.0
        else:
            x = self.guard.admit(ratio)
        if x is None:
            return self.phi
        w = (self.m + self.s) / (self.m + self.s + self.v)
        self.m = (1.0 - w) * (self.m + self.s)
        self.phi = self.phi + w * (x - self.phi)
        self.n += 1
        return self.phi
