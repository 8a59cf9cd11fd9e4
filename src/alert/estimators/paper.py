"""The paper's estimator (preset ``paper``): one global slowdown ξ ~ N(μ, σ²) from Eq. 5.

Latency of configuration (i, j) is ξ·t_prof[i, j], so (docs/controller.md, Eq. 6 and 12)::

    Pr[latency ≤ T]  = Φ((T − μ·t) / (σ·t))
    quantile(p)      = max(0, μ + σ·Φ⁻¹(p))·t
    expected latency = μ·t

μ and σ² come from :class:`~alert.filters.SlowdownFilter`, exactly as the paper gives it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from alert.estimators.base import Estimator, StateReader, register
from alert.filters import SlowdownFilter, check_real


def deadline_probability(t_prof: np.ndarray, mean: float, std: float, deadline: float,
                         mean_only: bool = False) -> np.ndarray:
    """Eq. 6: Pr[ξ·t ≤ T] = Φ((T − μ·t) / (σ·t)) for every cell of ``t_prof``.

    With ``mean_only`` (ALERT*, §5.3) the probability is 1 when μ·t ≤ T and 0 otherwise.
    """
    if not math.isfinite(deadline):
        return np.ones_like(t_prof)
    if mean_only or std <= 1e-12:
        return (mean * t_prof <= deadline).astype(float)
    z = (deadline / std) / t_prof
    z -= mean / std
    return ndtr(z, out=z)


@register("paper")
class PaperKalman(Estimator):
    """Eq. 5's Kalman filter on the global slowdown, with a Gaussian belief (Eq. 6, 12).

    Parameters are the paper's (docs/controller.md): ``mean0`` μ₀=1, ``variance0`` σ²₀=0.1,
    ``gain0`` K₀=0.5, ``q0`` Q₀=0.1 (the floor of σ²), ``r`` R=0.001, ``alpha`` α=0.3; slowdown
    observations are clamped to [1/``max_slowdown``, ``max_slowdown``].
    """

    def __init__(self, q0: float = 0.1, r: float = 0.001, alpha: float = 0.3, mean0: float = 1.0,
                 variance0: float = 0.1, gain0: float = 0.5, max_slowdown: float = 50.0) -> None:
        check_real("paper estimator", max_slowdown=max_slowdown)
        if max_slowdown <= 1:
            raise ValueError(f"paper estimator: max_slowdown must be > 1, got {max_slowdown!r}")
        self.filter = SlowdownFilter(mean0, variance0, gain0, q0, r, alpha, 1.0 / max_slowdown, max_slowdown)
        self.guard = self.filter.guard
        self._z_of: tuple[object, np.ndarray] = (None, np.empty(0))

    @property
    def n(self) -> int:  # type: ignore[override]
        return self.filter.n

    def update(self, observed: float, profiled: float, config: tuple[int, int] | None = None) -> bool:
        xi = self.admit(observed, profiled)
        if xi is None:
            return False
        self.filter.update(xi)
        return True

    def prob_within(self, deadline: float, t_prof: np.ndarray) -> np.ndarray:
        return deadline_probability(t_prof, self.filter.mean, self.filter.std, deadline)

    def prob_within_at(self, deadline: float, t_prof: np.ndarray, rows: range, col: int | slice) -> np.ndarray:
        mean, std = self.filter.mean, self.filter.std
        if rows.stop - rows.start == 1 and not isinstance(col, slice) and std > 1e-12 and math.isfinite(deadline):
            # one cell (a traditional model chosen): Eq. 6 on floats, the same operations as the table's
            return np.array([ndtr((deadline / std) / float(t_prof[rows.start, col]) - mean / std)])
        return deadline_probability(t_prof[rows.start:rows.stop, col], mean, std, deadline)

    def prob_within_each(self, deadlines: np.ndarray, t_prof: np.ndarray) -> np.ndarray:
        """Eq. 6 with a deadline per cell: Φ((T_ij − μ·t) / (σ·t))."""
        d = np.asarray(deadlines, dtype=float)
        mean, std = self.filter.mean, self.filter.std
        if std <= 1e-12:
            return np.asarray(mean * t_prof <= d, dtype=float)
        z = np.divide(d, std) / t_prof
        z -= mean / std
        return np.asarray(ndtr(np.nan_to_num(z, nan=-np.inf)))

    def within(self, deadline: float, p: float | np.ndarray, t_prof: np.ndarray) -> np.ndarray:
        """Φ(z) ≥ p ⟺ z = (T/σ)/t − μ/σ ≥ Φ⁻¹(p) ⟺ t ≤ (T/σ)/(Φ⁻¹(p) + μ/σ): one comparison
        with a limit per row instead of Φ over every cell (equal to ``prob_within(...) >= p`` but
        where a cell lies within rounding of the limit). With T > 0, a limit whose denominator is not
        positive admits every cell; p ≥ 1 none (t > 0), p ≤ 0 every cell. A deadline that is not
        positive or finite, or no spread, goes through Pr itself."""
        mean, std = self.filter.mean, self.filter.std
        if not (math.isfinite(deadline) and deadline > 0) or std <= 1e-12:
            return super().within(deadline, p, t_prof)
        if np.ndim(p) == 0:  # one threshold: one limit
            s1 = float(ndtri(min(max(float(p), 0.0), 1.0))) + mean / std
            return t_prof <= (deadline / std) / s1 if s1 > 0 else np.ones(np.shape(t_prof), dtype=bool)
        if p is self._z_of[0]:  # Φ⁻¹ of the last read-only column asked (Profile.pr_needed's)
            z = self._z_of[1]
        else:
            z = np.asarray(ndtri(np.minimum(np.maximum(p, 0.0), 1.0)), dtype=float)
            if isinstance(p, np.ndarray) and p.base is None and not p.flags.writeable:
                self._z_of = (p, z)
        s = z + mean / std
        np.maximum(s, 1e-300, out=s)  # s ≤ 0: every cell (the limit is past any latency)
        return np.asarray(t_prof <= np.divide(deadline / std, s, out=s))

    def quantile(self, p: float, t_prof: np.ndarray) -> np.ndarray:
        return max(0.0, self.filter.mean + self.filter.std * float(ndtri(p))) * t_prof

    def expected(self, t_prof: np.ndarray) -> np.ndarray:
        return self.filter.mean * t_prof

    def assume(self, mean: float, std: float | None = None) -> None:
        if not (math.isfinite(mean) and mean > 0):
            raise ValueError(f"slowdown must be a finite number > 0, got {mean!r}")
        if std is not None and not (math.isfinite(std) and std >= 0):
            raise ValueError(f"sigma must be a finite number >= 0, got {std!r}")
        self.filter.mean = float(mean)
        if std is not None:
            self.filter.variance = float(std) ** 2

    @property
    def mean(self) -> float:
        return self.filter.mean

    @property
    def std(self) -> float:
        return self.filter.std

    def summary(self) -> dict[str, float]:
        return {"mean": self.filter.mean, "std": self.filter.std, "variance": self.filter.variance}

    def state_dict(self) -> dict[str, Any]:
        return self.filter.state()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        r = StateReader(state, "paper estimator")
        mean, variance = (r.number(k, r.get(k), 0.0, open_lo=True) for k in ("mean", "variance"))
        gain = r.number("gain", r.get("gain"), 0.0, 1.0)
        q = r.number("q", r.get("q"), 0.0, open_lo=True)
        y_prev, n = r.number("y_prev", r.get("y_prev")), r.count("n", r.get("n"))
        f = self.filter
        f.mean, f.variance, f.gain, f.q, f.y_prev, f.n = mean, variance, gain, q, y_prev, n
