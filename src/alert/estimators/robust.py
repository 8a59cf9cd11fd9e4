"""A robust latency estimator (preset ``robust``): an empirical slowdown distribution with regimes.

The paper's filter (preset ``paper``) believes ξ ~ N(μ, σ²) with σ ≥ 0.316 and a gain near 1.
Real latency under a CPU quota is bimodal, under contention heavy-tailed, and a configuration
can carry a fixed per-call cost its back-to-back profile hid. This estimator models the latency
of configuration c = (i, j) as::

    latency = t_prof[c]·e^(a[c] + R)        (+ b[c], a fixed per-call cost, for some c)

* ``R``, the *global* log slowdown, has an **empirical distribution**: a sliding window (``window``)
  of residuals R_n = log(observed / t_prof) − a, read as an interpolated empirical CDF whose upper
  tail above the top ``tail_fraction`` of the window is an exponential fitted to those excesses
  (mean excess, at least ``tail_floor``), mixed with a weak Gaussian prior (``prior_weight``
  pseudo-observations of spread ``prior_sigma``, centred on the window's median) so that a short
  window is not over-confident. With ``start_shrink``, while the first regime (before any change
  point or forgotten level) holds fewer than ``recall_after`` observations, the prior's centre is
  the posterior mean between the starting level (the profile's, R = 0) with ``prior_weight``
  pseudo-observations and the window's median: one slow first input does not by itself make every
  configuration near the deadline look too slow.
* **Change points**: a two-sided CUSUM on robust z-scores z = (R − median) / (IQR / 1.349, at
  least ``mad_floor``), each clipped to ±``z_clip``, drift ``cusum_k``, threshold ``cusum_h``. On
  a change the values of the run that raised the alarm start a new *regime* (its prior has the old
  regime's spread: the level changed, not the noise). An alarm is taken as a change only when the
  observation that raised it lies more than ``cusum_k`` robust deviations from the median on the
  alarm's side and the one before it lies past the midpoint between the median and it, or once
  the sum passes ``confirm_h`` × ``cusum_h``: two outliers of a heavy tail with an ordinary
  observation between them pass the threshold too, and a regime started on one of them sent the
  controller away from a configuration that was fine. After ``recall_after`` observations a
  remembered regime whose median lies within ``recall_z`` robust standard deviations takes them
  back (the environment returned to a state seen before). Up to ``memory`` regimes are kept. The
  prediction mixes the other remembered regimes (by how often each was visited) with weight
  ``mix_delay`` × the observed switching rate (an exponential average over ``switch_memory``
  inputs), capped at ``mix_cap``: where regimes come and go the controller stays cautious.
* **Per-configuration corrections** (``offsets``): each observation of c is compared with the
  level the *other* configurations of the current regime show (their median residual), which
  updates a configuration factor η_c; the setting factor δ_j learns only from configurations of
  *other* settings (one setting alone cannot tell δ_j from the environment). Both are Kalman
  updates with prior spread ``offset_sigma`` and noise = the regime's robust variance +
  ``level_drift`` × the age (in inputs) of the comparison: a slowdown seen on one configuration
  with no recent comparison goes to R, a steady difference seen side by side to the corrections.
  With ``apply="departed"`` (the default) the correction a[c] = δ_j + η_c is applied only once it
  passes ``departure_factor`` either way (the profile is trusted until a configuration departs
  from it: small learnt corrections only added noise on the recorded CPU traces); ``"always"``
  applies them as learnt. A configuration that departs is reported once
  (:class:`ProfileDepartureWarning`, counted in ``departures``); one that departs *upwards* is,
  with ``fixed_costs``, modelled from then on as t_prof·e^R + b_c: a fixed per-call cost that a
  slowdown does not scale (the own-model case of docs/controller.md). A departure made on one
  observation of a configuration (a stall looks the same) is provisional: if the configuration
  is not seen again for ``retest_after`` inputs, its profile is trusted again, so that one stall
  cannot make it look too slow ever to be chosen, and corrected, again. A reading clamped to the
  guard's bound teaches no correction.
* **Tiny configurations** (``tiny_fraction``): one profiled under 2 % of the profile's median
  latency is dominated by its own per-call costs, so its ratio to the profile says nothing about
  the others: its observations teach its own corrections but never enter the level. A level that
  nothing has measured for ``window // 8`` inputs (only tiny configurations ran) is forgotten for
  the profile's, a wait that doubles, up to ``retest_after``, with each level forgotten in a row
  (back to the least once a measurement finds the old level gone, or the level has been measured
  ``recall_after`` times): the controller does not stay on a tiny model because of a level it
  alone set (the own-model case with a fixed cost under ``departure_factor``).
* **Censored observations**: an anytime model stopped at the deadline before its decided stage
  (``update_censored``) is recorded at the deadline times e^β (the fitted tail's mean excess),
  not as the faster stage it reached. It enters the window only: being a bound, it teaches no
  configuration's correction and is no level the others are compared with.

Every question is answered from one CDF table on a uniform grid of ``grid`` points over residual
log slowdowns in ±3 (beyond: clipped): ``prob_within`` is an add, a clip, a cast and a gather over
the (candidates × settings) table (plus a few operations on the fixed-cost cells); ``quantile``
and ``expected`` are one product. docs/controller.md gives every parameter's default and the
traces it was chosen on.

Groups (``groups="setting"`` or ``"config"``, preset ``robust-config``): each setting (or
configuration) also keeps its own window of residuals; a cell's CDF is its group's blended with
the global one by n / (n + ``group_blend``), n the group's observations. Conservative: it keeps a
throttled setting's own wide spread instead of the pooled one. A group not seen for
``retest_after`` inputs is forgotten (a window changes only when its configuration runs).
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from scipy.special import ndtr

from alert.estimators.base import Estimator, StateReader, register
from alert.filters import MeasurementGuard, check_count, check_real

Offsets = Literal["none", "setting", "config", "both"]
Groups = Literal["none", "setting", "config"]
Apply = Literal["always", "departed"]


_RESCORE = 0.01  # re-score the window when a correction moves by more than 1 % of a latency
_SPAN = 3.0      # the grid covers residual log slowdowns in ±3 (a factor of 20 either way)
_RECENTER = 8    # re-centre the corrections every this many updates
_CENSORED = -2   # a censored observation of cell c is kept in a regime as _CENSORED - c (c = -1: none)
_MAX_WINDOW = 10_000  # windows: the ECDF positions of every size up to the window are kept (memory ~ window²)
_MAX_GRID = 100_001   # CDF grid points


def _cell_of(tags: np.ndarray) -> np.ndarray:
    """The configurations of a regime's observations, censored or not (-1: none given)."""
    return np.where(tags <= _CENSORED, _CENSORED - tags, tags)


def _sorted(v: np.ndarray) -> np.ndarray:
    """A sorted copy of ``v`` (``np.sort`` without its Python wrapper: the window is sorted on every update)."""
    out = v.copy()
    out.sort()
    return out


class ProfileDepartureWarning(UserWarning):
    """A configuration's live latency departs from its profile by more than the documented factor."""


class _Regime:
    """One environment state: a ring buffer of residual log slowdowns (with the configuration,
    input index, raw log slowdown and log t_prof of each; the configuration of a censored
    observation as ``_CENSORED - c``), how many observations it ever took and when it was last
    current."""

    __slots__ = ("v", "c", "t", "y", "lt", "size", "head", "count", "last", "center", "sigma")

    def __init__(self, window: int, center: float = 0.0, sigma: float = 0.3) -> None:
        self.v = np.zeros(window)
        self.c = np.zeros(window, dtype=np.intp)
        self.t = np.zeros(window, dtype=np.int64)
        self.y = np.zeros(window)
        self.lt = np.zeros(window)
        self.size = self.head = self.count = self.last = 0
        self.center = center  # prior centre while the window is empty
        self.sigma = sigma    # spread of the weak prior

    def add(self, v: float, cell: int, t: int, y: float = 0.0, lt: float = 0.0) -> None:
        h = self.head
        self.v[h], self.c[h], self.t[h], self.y[h], self.lt[h] = v, cell, t, y, lt
        self.head = (h + 1) % self.v.size
        self.size = min(self.size + 1, self.v.size)
        self.count += 1
        self.last = t

    def values(self) -> np.ndarray:
        return self.v if self.size == self.v.size else self.v[:self.size]

    def ordered(self) -> list[tuple[float, int, int, float, float]]:
        """(residual, cell, time, raw log slowdown, log t_prof) oldest first."""
        n, W = self.size, self.v.size
        pos = [(self.head - n + k) % W for k in range(n)]
        return [(float(self.v[p]), int(self.c[p]), int(self.t[p]), float(self.y[p]), float(self.lt[p])) for p in pos]

    def pop_latest(self, k: int) -> list[tuple[float, int, int, float, float]]:
        """Remove and return the ``k`` most recent observations, oldest first."""
        items = self.ordered()
        keep, gone = items[:len(items) - k], items[len(items) - k:]
        self.size = self.head = 0
        count = self.count
        for it in keep:
            self.add(*it)
        self.count = count - len(gone)
        return gone

    def state(self) -> dict[str, Any]:
        return {"items": [list(it) for it in self.ordered()], "count": self.count, "last": self.last,
                "center": self.center, "sigma": self.sigma}

    @classmethod
    def from_state(cls, s: Mapping[str, Any], window: int) -> _Regime:
        r = cls(window, float(s["center"]), float(s["sigma"]))
        for v, c, t, y, lt in s["items"]:
            r.add(float(v), int(c), int(t), float(y), float(lt))
        r.count, r.last = int(s["count"]), int(s["last"])
        return r


@register("robust")
class RobustEstimator(Estimator):
    """Empirical slowdown distribution with an exponential tail, CUSUM regimes and per-configuration
    offsets (module docstring). Defaults: docs/controller.md, "The robust estimator"."""

    def __init__(self, window: int = 40, tail_fraction: float = 0.2, tail_floor: float = 0.02,
                 prior_weight: float = 3.0, prior_sigma: float = 0.3, cusum_k: float = 0.5,
                 cusum_h: float = 5.0, z_clip: float = 4.0, mad_floor: float = 0.03, memory: int = 4,
                 recall_after: int = 3, recall_z: float = 1.5, mix_delay: float = 3.0, mix_cap: float = 0.3,
                 switch_memory: int = 100, offsets: Offsets = "both", apply: Apply = "departed",
                 fixed_costs: bool = True,
                 offset_sigma: float = 0.3,
                 offset_drift: float = 1e-3, level_drift: float = 0.005, departure_factor: float = 3.0,
                 retest_after: int = 50, tiny_fraction: float = 0.02, confirm_h: float = 2.0,
                 start_shrink: bool = True,
                 groups: Groups = "none", group_window: int = 20, group_blend: float = 10.0,
                 grid: int = 601, max_slowdown: float = 50.0) -> None:
        check_count("robust estimator", window=window, memory=memory, recall_after=recall_after,
                    switch_memory=switch_memory, group_window=group_window, grid=grid,
                    retest_after=retest_after)
        check_real("robust estimator", tail_fraction=tail_fraction, tail_floor=tail_floor, prior_weight=prior_weight,
                   prior_sigma=prior_sigma, cusum_k=cusum_k, cusum_h=cusum_h, z_clip=z_clip, mad_floor=mad_floor,
                   recall_z=recall_z, mix_delay=mix_delay, mix_cap=mix_cap, offset_sigma=offset_sigma,
                   offset_drift=offset_drift, level_drift=level_drift, departure_factor=departure_factor,
                   tiny_fraction=tiny_fraction, confirm_h=confirm_h, group_blend=group_blend,
                   max_slowdown=max_slowdown)
        for name, flag in (("fixed_costs", fixed_costs), ("start_shrink", start_shrink)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"robust estimator: {name} must be true or false, got {flag!r}")
        checks = [(4 <= window <= _MAX_WINDOW, f"window must be in [4, {_MAX_WINDOW}]"),
                  (0 < tail_fraction < 0.5, "tail_fraction must be in (0, 0.5)"),
                  (tail_floor > 0, "tail_floor must be > 0"), (prior_weight > 0, "prior_weight must be > 0"),
                  (prior_sigma > 0, "prior_sigma must be > 0"), (cusum_h > 0 and cusum_k >= 0, "cusum_h > 0, cusum_k >= 0"),
                  (z_clip > 0 and mad_floor > 0, "z_clip and mad_floor must be > 0"), (memory >= 1, "memory >= 1"),
                  (recall_after >= 1, "recall_after >= 1"), (recall_z >= 0, "recall_z >= 0"),
                  (mix_delay >= 0 and 0 <= mix_cap < 1, "mix_delay >= 0 and 0 <= mix_cap < 1"),
                  (switch_memory >= 1, "switch_memory >= 1"),
                  (offsets in ("none", "setting", "config", "both"), "offsets: 'none', 'setting', 'config' or 'both'"),
                  (offset_sigma > 0 and offset_drift >= 0 and level_drift >= 0, "offset_sigma > 0, drifts >= 0"),
                  (apply in ("always", "departed"), "apply: 'always' or 'departed'"),
                  (departure_factor > 1, "departure_factor must be > 1"),
                  (retest_after >= 1, "retest_after must be >= 1"),
                  (0 <= tiny_fraction < 1, "tiny_fraction must be in [0, 1)"),
                  (confirm_h >= 1, "confirm_h must be >= 1 (1: every alarm of the CUSUM is a change)"),
                  (groups in ("none", "setting", "config"), "groups: 'none', 'setting' or 'config'"),
                  (2 <= group_window <= _MAX_WINDOW and group_blend > 0,
                   f"group_window must be in [2, {_MAX_WINDOW}] and group_blend > 0"),
                  (16 <= grid <= _MAX_GRID, f"grid must be in [16, {_MAX_GRID}]"),
                  (max_slowdown > 1, "max_slowdown must be > 1")]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"robust estimator: {msg}")
        self.window, self.tail_fraction, self.tail_floor = int(window), float(tail_fraction), float(tail_floor)
        self.prior_weight, self.prior_sigma = float(prior_weight), float(prior_sigma)
        self.cusum_k, self.cusum_h, self.z_clip, self.mad_floor = float(cusum_k), float(cusum_h), float(z_clip), float(mad_floor)
        self.memory, self.recall_after, self.recall_z = int(memory), int(recall_after), float(recall_z)
        self.mix_delay, self.mix_cap, self.switch_memory = float(mix_delay), float(mix_cap), int(switch_memory)
        self.offsets: Offsets = offsets
        self.fixed_costs = bool(fixed_costs)
        self.apply: Apply = apply
        self.offset_sigma, self.offset_drift, self.level_drift = float(offset_sigma), float(offset_drift), float(level_drift)
        self.departure_factor = float(departure_factor)
        self.retest_after = int(retest_after)
        self.tiny_fraction = float(tiny_fraction)
        self.confirm_h = float(confirm_h)
        self.start_shrink = bool(start_shrink)
        self._tiny = 0.0  # profiled latencies below this are tiny (set by bind)
        self.groups: Groups = groups
        self.group_window, self.group_blend = int(group_window), float(group_blend)
        self.guard = MeasurementGuard(1.0 / max_slowdown, max_slowdown)
        # the grid: residual log slowdowns beyond ±(log max_slowdown + 1) are clipped onto it
        self._lim = math.log(max_slowdown)  # a correction never exceeds max_slowdown either way
        span = min(_SPAN, self._lim + 1.0)
        self._x = np.linspace(-span, span, int(grid))
        self._x0, self._dx = float(self._x[0]), float(self._x[1] - self._x[0])
        self._top = int(grid) - 1
        # E[e^R] = Σ_k (F_k − F_{k−1})·e^{mid_k} + F_0·e^{x_0} + (1 − F_last)·e^{x_last}, as one dot
        mid = np.exp(0.5 * (self._x[1:] + self._x[:-1]))
        ex = np.exp(self._x)
        self._mean_w = np.concatenate([[ex[0] - mid[0]], mid[:-1] - mid[1:], [mid[-1] - ex[-1]]])
        self._mean_c = float(ex[-1])
        mid2, ex2 = mid * mid, ex * ex  # E[e^2R] likewise, for the spread
        self._sq_w = np.concatenate([[ex2[0] - mid2[0]], mid2[:-1] - mid2[1:], [mid2[-1] - ex2[-1]]])
        self._sq_c = float(ex2[-1])
        # per window size n: the prior's weight, the tail's size and the body's ECDF (Hazen positions)
        sizes = range(max(window, group_window) + 1)
        self._prior_w = [self.prior_weight / (n + self.prior_weight) for n in sizes]
        self._tail_m = [int(round(self.tail_fraction * n)) for n in sizes]
        self._hazen = [(np.arange(n) + 0.5) / max(n, 1) for n in sizes]
        self._t: np.ndarray | None = None
        self._reset_state()

    # ------------------------------------------------------------------ state
    def _reset_state(self, center: float = 0.0, sigma: float | None = None) -> None:
        self.n = 0
        self.departures = 0
        self._sigma = self.prior_sigma if sigma is None else sigma
        self._priors: dict[float, np.ndarray] = {}
        self._regimes: list[_Regime] = [_Regime(self.window, center, self._sigma)]
        self._cur = 0
        self._s_hi = self._s_lo = 0.0
        self._run_hi = self._run_lo = 0      # observations in the current upward / downward CUSUM run
        self._rate = 0.0                     # switching rate (per input)
        self._changes = 0
        self._tables: list[np.ndarray | None] = [None]
        self._mix_stale = True  # the regimes changed since the mixture of the others was cached
        self._mix: np.ndarray | None = None
        self._flagged: set[int] = set()
        self._expiries = 0  # levels forgotten since one was last measured (_expire_level)
        self._stale: float | None = None  # below this, a measurement shows the forgotten level gone
        self._groups_state: dict[int, deque[float]] = {}  # ordered: least recently seen first
        self._group_last: dict[int, int] = {}  # group → the input that last added to it
        self._gtab: np.ndarray | None = None
        self._alloc_offsets()
        self._rebuild()

    def _alloc_offsets(self) -> None:
        shape = (1, 1) if self._t is None else self._t.shape
        var = self.offset_sigma ** 2
        self._d_set = np.zeros(shape[1])
        self._p_set = np.full(shape[1], var if self.offsets in ("setting", "both") else 0.0)
        cfg_on = self.offsets in ("config", "both")
        self._d_cfg = np.zeros(shape)
        self._a = np.zeros(shape)  # the correction applied to each cell (log factor)
        self._eta_max = 0.0         # the largest |η_c| learnt (a bound for skipping column refreshes)
        self._p_cfg = np.full(shape, var if cfg_on else 0.0)
        # per-configuration fixed cost b (seconds) of the configurations that departed upward from
        # their profile (fixed_costs=True), its variance (0: the configuration has none)
        self._b = np.zeros(shape)
        self._p_b = np.zeros(shape)
        self._b_pos: dict[int, int] = {}
        self._b_cells = np.zeros(0, dtype=np.intp)
        self._b_vals = np.zeros(0)
        # cell → the input at which it departed from its profile on one observation (provisional)
        self._provisional: dict[int, int] = {}
        self._refresh_cells()

    def bind(self, t_prof: np.ndarray) -> None:
        t = np.asarray(t_prof, dtype=float)
        if t.ndim != 2 or not np.all(np.isfinite(t)) or not np.all(t > 0):
            raise ValueError("robust estimator: t_prof must be a 2-D table of finite latencies > 0")
        self._t = t_prof
        self._logt = np.log(t)
        self._tiny = self.tiny_fraction * float(np.median(t))
        self._alloc_offsets()
        self._gtab = None
        for g, vals in self._groups_state.items():
            self._group_row(g, vals)

    def _applied(self, total: np.ndarray, fixed: np.ndarray) -> np.ndarray:
        """The applied log correction of cells whose learnt total (δ_j + η_c) is ``total``: all of
        it (``apply="always"``), or only an upward departure beyond ``departure_factor``
        (``"departed"``: the profile is trusted until a configuration runs slower than it by
        more than that; one that runs faster is only reported, since its correction would move
        the level every other configuration is predicted from). A fixed-cost cell's scale is its
        profile's: latency = e^R·t_prof + b_c."""
        if self.apply == "departed":
            total = np.where(total > math.log(self.departure_factor), total, 0.0)
        return total if not fixed.any() else np.where(fixed, 0.0, total)

    def _refresh_cells(self, cell: int | None = None, col: int | None = None) -> None:
        """Recompute the applied corrections and the caches the questions read (grid index base
        (−log t_prof − a)/dx, scale t_prof·e^a, and per fixed-cost cell (log t_prof + a + x0)/dx):
        for every cell, one setting's column, or one cell."""
        if self._t is None:
            return
        if cell is None and col is None:
            self._a = self._applied(self._d_cfg + self._d_set[None, :], self._p_b > 0)
            self._base0 = (-self._logt - self._a - self._x0) / self._dx
            self._scale0 = np.exp(self._logt + self._a)
        elif col is not None:
            self._a[:, col] = self._applied(self._d_cfg[:, col] + self._d_set[col], self._p_b[:, col] > 0)
            self._base0[:, col] = (-self._logt[:, col] - self._a[:, col] - self._x0) / self._dx
            self._scale0[:, col] = np.exp(self._logt[:, col] + self._a[:, col])
        else:  # one cell: scalars
            assert cell is not None
            total = float(self._d_cfg.flat[cell]) + float(self._d_set[cell % self._d_set.size])
            if self._p_b.flat[cell] > 0 or (self.apply == "departed" and total <= math.log(self.departure_factor)):
                total = 0.0
            lt = float(self._logt.flat[cell])
            self._a.flat[cell] = total
            self._base0.flat[cell] = (-lt - total - self._x0) / self._dx
            self._scale0.flat[cell] = math.exp(lt + total)
        if self._b_cells.size:
            c = self._b_cells
            self._b_off = (self._logt.ravel()[c] + self._a.ravel()[c] + self._x0) / self._dx

    # ------------------------------------------------------------------ tables
    def _idx(self, x: float) -> int:
        return min(self._top + 1, max(0, int(math.ceil((x - self._x0) / self._dx))))

    def _prior(self, sigma: float) -> np.ndarray:
        """N(0, σ²)'s CDF on the grid, padded so that any centre is a slice (cached per σ)."""
        p = self._priors.get(sigma)
        if p is None:
            K = self._x.size
            if len(self._priors) > 16:
                self._priors.clear()
            p = self._priors[sigma] = ndtr(np.arange(-K, 2 * K) * (self._dx / sigma))
        return p

    def _table(self, v: np.ndarray, center: float, sigma: float, shrink: bool = False) -> np.ndarray:
        """CDF on the grid of the residual log slowdown given a *sorted* window ``v``: interpolated
        ECDF (Hazen positions), an exponential upper tail fitted to the top ``tail_fraction``,
        mixed with the weak prior N(median, σ²) (N(``center``, σ²) while the window is empty; with
        ``shrink``, N((w·center + n·median) / (w + n), σ²), w = ``prior_weight``: the posterior mean
        of a level whose prior is ``center``; the prior's centre is rounded to the grid). Each piece
        is evaluated only where it is not 0 or 1."""
        x = self._x
        n = v.size
        K = x.size
        if n:
            med = float(v[n // 2]) if n % 2 else float(0.5 * (v[n // 2 - 1] + v[n // 2]))
            center = (self.prior_weight * center + n * med) / (self.prior_weight + n) if shrink else med
        w = self._prior_w[n]
        kc = min(K - 1, max(0, int(round((center - self._x0) / self._dx))))
        F = self._prior(sigma)[K - kc:2 * K - kc] * w
        if n == 0:
            return F
        wn = 1.0 - w
        m = self._tail_m[n]
        if m >= 1 and n - m - 1 >= 0:
            u = float(v[n - m - 1])
            beta = max(self.tail_floor, float(np.add.reduce(v[n - m:])) / m - u)
            self._beta_last = beta
            pu = (m + 0.5) / n
            # the body ends where the tail starts, at the first grid point at or past u: np.interp at
            # a knot that ties with later ones answers the last tie, above the tail's 1 − pu
            a, b = self._idx(float(v[0])), int(x.searchsorted(u))  # side="left"
            c = self._idx(u + beta * math.log(pu * 1e5))  # beyond: 1 to within 1e-5
            F[a:b] += wn * np.interp(x[a:b], v, self._hazen[n])
            tail = np.subtract(u, x[b:c])  # wn − wn·pu·e^((u − x)/β), in one buffer
            tail /= beta
            np.exp(tail, out=tail)
            tail *= wn * pu
            np.subtract(wn, tail, out=tail)
            F[b:c] += tail
            F[c:] += wn
        else:
            a, b = self._idx(float(v[0])), self._idx(float(v[-1]))
            F[a:b] += wn * np.interp(x[a:b], v, self._hazen[n])
            F[b:] += wn
        return F

    def _regime_table(self, r: _Regime) -> np.ndarray:
        self._beta_last = self.tail_floor
        # the first regime (no change point, no level forgotten yet) while it is young: the profile's
        # level is all that was known before it, so its prior leans there (start_shrink)
        shrink = (self.start_shrink and self._changes == 0 and len(self._regimes) == 1
                  and r.size < self.recall_after)
        return self._table(_sorted(r.values()), r.center, r.sigma, shrink)

    def _rebuild(self) -> None:
        """Rebuild the current regime's table and the mixture the questions read."""
        # (the current regime's own table is not kept: it is rebuilt on every update, and only the
        # other regimes' tables are mixed in; its slot in _tables stays None, so a regime that stops
        # being current is rebuilt when first mixed)
        F = self._regime_table(self._regimes[self._cur])
        self._beta = self._beta_last
        w_other = min(self.mix_cap, self.mix_delay * self._rate) if len(self._regimes) > 1 else 0.0
        if w_other > 1e-4:
            M = self._others_mix()
            if M is not None:
                F *= 1.0 - w_other
                F += w_other * M
        # every piece is monotone and continuous where it meets the next: only rounding can pass 1
        self._F = np.minimum(F, 1.0, out=F)
        self._monotone: bool | None = None  # whether the table never decreases (within() asks)
        self._mean = float(self._F @ self._mean_w) + self._mean_c
        m2 = float(self._F @ self._sq_w) + self._sq_c
        self._std = math.sqrt(max(0.0, m2 - self._mean * self._mean))
        self._summary: dict[str, float] | None = None

    def _others_mix(self) -> np.ndarray | None:
        """The other remembered regimes' CDFs weighted by how often each was visited (cached: a
        regime that is not current does not change; a change point or a recall marks it stale)."""
        if self._mix_stale:
            others = [k for k in range(len(self._regimes)) if k != self._cur and self._regimes[k].size]
            self._mix_stale, self._mix = False, None
            if others:
                counts = [float(self._regimes[k].count) for k in others]
                total = sum(counts)
                M = np.zeros(self._x.size)
                for k, c in zip(others, counts, strict=True):
                    tk = self._tables[k]
                    if tk is None:
                        tk = self._tables[k] = self._regime_table(self._regimes[k])
                    M += (c / total) * tk
                self._mix = M
        return self._mix

    def _quantile_x(self, p: float) -> float:
        """The grid's log slowdown at CDF level ``p`` (linear between grid points)."""
        F = self._F
        k = int(F.searchsorted(p))  # side="left"
        if k <= 0:
            return float(self._x[0])
        if k > self._top:
            return float(self._x[-1])
        lo, hi = float(F[k - 1]), float(F[k])
        f = 0.0 if hi <= lo else (p - lo) / (hi - lo)
        return float(self._x[k - 1] + f * self._dx)

    # ------------------------------------------------------------------ update
    def update(self, observed: float, profiled: float, config: tuple[int, int] | None = None) -> bool:
        return self._update(observed, profiled, config, learn=True)

    def _update(self, observed: float, profiled: float, config: tuple[int, int] | None, learn: bool) -> bool:
        """One observation into the window (and the CUSUM, the regimes, the groups); with ``learn``,
        also into the configuration's corrections (``_learn``)."""
        xi = self.admit(observed, profiled)
        if xi is None:
            return False
        y = math.log(xi)
        cell = self._cell(config)
        n = self.n + 1
        self.n = n
        reg = self._regimes[self._cur]
        vals = _sorted(reg.values())
        med, scale = self._robust_scale(vals, reg.sigma)
        clamped = not self.guard.low < xi < self.guard.high  # (a reading at the guard's bound)
        if learn and cell >= 0 and self.offsets != "none" and not clamped:
            self._learn(xi * float(profiled), cell, n, reg, scale)
        if float(profiled) < self._tiny:  # a tiny configuration: its own costs, no evidence of the level
            self._rate -= self._rate / self.switch_memory
            self._expire_level(n)
        else:
            self._raw = (y, math.log(float(profiled)))
            e = min(max(self._residual(y, xi, float(profiled), cell), self._x0), -self._x0)
            if self._stale is not None:  # the first measurement since a stale level was forgotten
                if e < self._stale:  # it is gone: the next expiry waits the least again
                    self._expiries = 0
                self._stale = None
            changed = vals.size >= max(3, self.recall_after) and self._cusum(e, med, scale)
            if changed and max(self._s_hi, self._s_lo) <= self.confirm_h * self.cusum_h:
                changed = self._confirmed(e, reg, med, scale)
            tag = cell if learn or cell < 0 else _CENSORED - cell  # (_cell_of reads it back)
            if changed:
                self._change(e, tag, n, med, scale)
            else:
                reg.add(e, tag, n, *self._raw)
                if reg.size == self.recall_after and reg.count == self.recall_after and len(self._regimes) > 1:
                    self._recall()
            self._rate += (float(changed) - self._rate) / self.switch_memory
            if self.groups != "none" and cell >= 0 and not clamped:
                self._group_add(cell, e)
        if self._provisional:
            self._retest(n)
        if self._groups_state:
            self._expire_groups(n)
        self._rebuild()
        return True

    def update_censored(self, bound: float, profiled: float, config: tuple[int, int] | None = None) -> bool:
        """A stage stopped at the deadline: its latency passed ``bound``. Recorded at the bound times
        e^β, the mean of the fitted exponential tail beyond it (β the current tail scale, at least
        ``tail_floor``), never as the faster stage that was reached instead. It goes into the
        window only: a bound says nothing about how this configuration compares with the others,
        so the configuration's corrections do not learn from it (learnt from a bound, a stage
        stopped a few times at a deadline several times its profiled latency would depart from
        its profile and be modelled with a fixed per-call cost it does not have)."""
        if not (math.isfinite(bound) and bound > 0):
            return False
        return self._update(bound * math.exp(self._beta), profiled, config, learn=False)

    def _cell(self, config: tuple[int, int] | None) -> int:
        if config is None or self._t is None:
            return -1
        try:
            r, j = int(config[0]), int(config[1])
        except (TypeError, ValueError, IndexError):
            return -1
        R, L = self._t.shape
        return r * L + j if 0 <= r < R and 0 <= j < L else -1

    def _offset(self, cell: int) -> float:
        return 0.0 if cell < 0 else float(self._a.flat[cell])

    def _residual(self, y: float, xi: float, profiled: float, cell: int) -> float:
        """Residual log slowdown of an observation: log(latency − b) − log t_prof − offset."""
        if cell >= 0 and self._p_b.flat[cell] > 0:
            b = float(self._b.flat[cell])
            lat = xi * profiled
            y = math.log(max(lat - b, lat / self.guard.high) / profiled)
        return y - self._offset(cell)

    def _robust_scale(self, v: np.ndarray, sigma: float) -> tuple[float, float]:
        """Median and robust standard deviation (interquartile range / 1.349) of a *sorted* array
        (``sigma``, the prior's, while there are fewer than 4 values)."""
        n = v.size
        if n == 0:
            return 0.0, sigma
        med = float(v[n // 2]) if n % 2 else float(0.5 * (v[n // 2 - 1] + v[n // 2]))
        if n < 4:
            return med, max(self.mad_floor, sigma)
        iqr = float(v[(3 * n) // 4] - v[n // 4])
        return med, max(self.mad_floor, iqr / 1.349)

    def _others_level(self, cell: int, n: int, reg: _Regime, other_setting: bool
                      ) -> tuple[float, int] | None:
        """Median residual of the regime's observations of other configurations (of other settings
        with ``other_setting``) and the age in inputs of the newest of them; None when there is none."""
        if reg.size < 1:
            return None
        c = reg.c[:reg.size]  # (a censored observation, c < 0, is no level to compare with)
        others = (c >= 0) & ((c % self._d_set.size) != (cell % self._d_set.size) if other_setting else c != cell)
        k = int(np.count_nonzero(others))
        if k == 0:
            return None
        vo = reg.v[:reg.size][others]
        vo.partition(k // 2)
        return float(vo[k // 2]), n - int(reg.t[:reg.size][others].max())

    def _learn(self, lat: float, cell: int, n: int, reg: _Regime, scale: float) -> None:
        """Learn this configuration's corrections from how it compares with the others.

        The configuration's factor η_c from the level of the other configurations in the current
        regime; the setting's factor δ_j from the level of the configurations of *other settings*
        (configurations of one setting alone cannot tell δ_j from the environment); each a Kalman
        update with prior spread ``offset_sigma`` and noise = the regime's robust variance +
        ``level_drift`` × the age of the comparison. A configuration whose correction passes
        ``departure_factor`` upwards is modelled, with ``fixed_costs``, as latency =
        e^(R + δ_j)·t_prof + b_c: a fixed per-call cost that does not scale with a slowdown."""
        L = self._d_set.size
        j = cell % L
        assert self._t is not None
        t = float(self._t[cell // L, j])
        cap = self.offset_sigma ** 2
        lim = self._lim
        # this configuration's state as floats (written back where it is learnt)
        d_set, d_cfg = float(self._d_set[j]), float(self._d_cfg.flat[cell])
        b, pb, pc = float(self._b.flat[cell]), float(self._p_b.flat[cell]), float(self._p_cfg.flat[cell])
        before = (d_set, d_cfg, b, pb, self._b_cells.size)
        a_cell = float(self._a.flat[cell])
        fixed = pb > 0
        ref_all = self._others_level(cell, n, reg, other_setting=False)
        # observed again: whatever it departed on is tested now, by what it learns from this one
        self._provisional.pop(cell, None)
        if (pc > 0 or fixed) and ref_all is not None:
            level, age = ref_all
            R = scale * scale + self.level_drift * age
            if fixed:
                sc = math.exp(level) * t
                k = pb / (pb + sc * sc * R)
                b = min(0.999 * lat, max(0.0, b + k * (lat - sc - b)))
                pb = pb * (1 - k) + self.offset_drift * sc * sc
                self._b.flat[cell], self._p_b.flat[cell] = b, pb
                self._b_vals[self._b_pos[cell]] = b
            else:
                k = pc / (pc + R)
                v = math.log(lat / t) - level - d_set - d_cfg
                d_cfg = min(lim, max(-lim, d_cfg + k * v))
                pc = min(cap, pc * (1 - k) + self.offset_drift)
                self._d_cfg.flat[cell], self._p_cfg.flat[cell] = d_cfg, pc
        ps = float(self._p_set[j])
        if ps > 0 and ref_all is not None:  # no other configuration: none of another setting
            ref = self._others_level(cell, n, reg, other_setting=True)
            if ref is not None:
                level, age = ref
                R = scale * scale + self.level_drift * age + pc
                k = ps / (ps + R)
                rest = max(lat - b, lat / self.guard.high)
                v = math.log(rest / t) - level - d_set - d_cfg
                d_set = min(lim, max(-lim, d_set + k * v))
                self._d_set[j], self._p_set[j] = d_set, min(cap, ps * (1 - k) + self.offset_drift)
        factor = math.exp(d_set + d_cfg)
        if fixed:
            g = math.exp(ref_all[0]) if ref_all is not None else 1.0
            factor += b / (g * t)
        elif self.fixed_costs and factor > self.departure_factor and pc > 0:
            self._to_fixed(cell, lat, t, ref_all)
            d_cfg, b, pb = 0.0, float(self._b.flat[cell]), float(self._p_b.flat[cell])
        self._eta_max = max(self._eta_max, abs(d_cfg))
        learnt = (d_set, d_cfg, b, pb, self._b_cells.size) != before  # (a configuration that became a fixed cost counts)
        if not learnt:  # no other configuration to compare with: what is applied stands
            moved = 0.0
        elif d_set != before[0] and (self.apply == "always" or max(abs(d_set), abs(before[0])) + self._eta_max
                                     > math.log(self.departure_factor)):
            a_col = self._a[:, j].copy()
            self._refresh_cells(col=j)  # the setting's change can move what is applied
            moved = float(np.abs(self._a[:, j] - a_col).max())
        else:
            self._refresh_cells(cell=cell)
            moved = abs(float(self._a.flat[cell]) - a_cell)
        if moved > _RESCORE or abs(b - before[2]) > _RESCORE * lat:
            self._rescore(reg, j)
        if self.apply == "always" and n % _RECENTER == 0:
            self._recenter(reg)
        if self.apply == "departed" and a_cell == 0.0 and not fixed and (
                self._a.flat[cell] != 0.0 or self._p_b.flat[cell] > 0):
            self._provisional[cell] = n  # departed on this one observation: re-tested if it stays unseen
        self._check_departure(cell, factor)

    def _recenter(self, reg: _Regime) -> None:
        """Keep the corrections relative: their mean over the current window's observations is 0.

        Corrections are learnt from comparisons between configurations, which say nothing about
        their common level; left alone, that level would wander off between the corrections and
        the environment's R. It belongs to R: the configuration seen most keeps a correction near 0
        and a configuration never seen is predicted like the ones that were (the paper's global
        slowdown), while the differences between configurations stay as learnt."""
        n = reg.size
        if n == 0:
            return
        cells = _cell_of(reg.c[:n])
        shift = 0.0
        for table in (self._d_cfg.ravel(), self._d_set):
            idx = cells if table.size == self._d_cfg.size else cells % self._d_set.size
            m = float(table.take(idx).sum()) / n
            if abs(m) > _RESCORE / 4:
                moved = table != 0.0
                table[moved] -= m
                shift += m
        if shift:
            for r in self._regimes:
                r.v[:r.size] += shift
            # every regime's residuals moved: the remembered regimes' tables and their mixture too
            self._tables = [None] * len(self._regimes)
            self._mix_stale = True
            self._refresh_cells()


    def _retest(self, n: int) -> None:
        """Forget the departures made on one observation of a configuration that has not been seen
        since, ``retest_after`` inputs on: its profile is trusted again, so that it is chosen (and
        measured) again where it is the best. One stall, or a bad reading clamped to the guard's
        bound, then costs that many inputs instead of the configuration for good (a departed
        configuration looks too slow to be chosen, and so is never corrected); a configuration that
        really departed departs again on its next observation."""
        for c in [c for c, at in self._provisional.items() if n - at > self.retest_after]:
            del self._provisional[c]
            self._d_cfg.flat[c] = 0.0
            self._p_cfg.flat[c] = self.offset_sigma ** 2 if self.offsets in ("config", "both") else 0.0
            if self._p_b.flat[c] > 0:
                self._b.flat[c] = self._p_b.flat[c] = 0.0
                keep = self._b_cells != c
                self._b_cells, self._b_vals = self._b_cells[keep], self._b_vals[keep]
                self._b_pos = {cc: k for k, cc in enumerate(self._b_cells.tolist())}
            self._eta_max = float(np.abs(self._d_cfg).max(initial=0.0))
            self._refresh_cells(cell=c)
            self._rescore(self._regimes[self._cur], c % self._d_set.size)

    def _to_fixed(self, cell: int, lat: float, t: float, ref: tuple[float, int] | None) -> None:
        """Model a configuration that departed upwards as e^R·t_prof + b_c from now on."""
        level = ref[0] if ref is not None else 0.0
        sc = math.exp(level) * t
        b = min(0.999 * lat, max(0.0, lat - sc))
        self._d_cfg.flat[cell] = 0.0
        self._p_cfg.flat[cell] = 0.0
        self._b.flat[cell] = b
        self._p_b.flat[cell] = (0.5 * b) ** 2 + self.offset_drift * sc * sc
        self._b_pos[cell] = self._b_cells.size
        self._b_cells = np.append(self._b_cells, cell)
        self._b_vals = np.append(self._b_vals, b)

    def _rescore(self, reg: _Regime, j: int) -> None:
        """Recompute the residuals of the regime's observations at setting ``j`` with the current
        corrections, so that the window does not keep what a correction has since explained."""
        n = reg.size
        c = _cell_of(reg.c[:n])
        L = self._d_set.size
        m = (c >= 0) & ((c % L) == j)
        if not m.any():
            return
        cm = c[m]
        y, lt = reg.y[:n][m], reg.lt[:n][m]
        b = self._b.ravel()[cm]
        if b.any():
            lat = np.exp(y + lt)
            y = np.log(np.maximum(lat - b, lat / self.guard.high)) - lt
        e = y - self._a.ravel()[cm]
        reg.v[:n][m] = np.clip(e, self._x0, -self._x0)

    def _check_departure(self, cell: int, factor: float) -> None:
        if cell in self._flagged or not (factor > self.departure_factor or factor * self.departure_factor < 1.0):
            return
        self._flagged.add(cell)
        self.departures += 1
        r, j = divmod(cell, self._d_set.size)
        used = ("its own correction is used" if factor > 1 or self.apply == "always"
                else "its profile is kept (a faster configuration is only reported)")
        warnings.warn(f"configuration (row {r}, setting {j}) runs {factor:.3g}x its profiled latency relative "
                      f"to the others (more than {self.departure_factor:g}x off); {used} "
                      "(re-profile it paced, as it is served)", ProfileDepartureWarning, stacklevel=5)

    def _cusum(self, e: float, med: float, scale: float) -> bool:
        """Feed the current regime's two-sided CUSUM; True when it signals a change."""
        z = min(self.z_clip, max(-self.z_clip, (e - med) / scale))
        hi = self._s_hi + z - self.cusum_k
        lo = self._s_lo - z - self.cusum_k
        self._run_hi = self._run_hi + 1 if hi > 0 else 0
        self._run_lo = self._run_lo + 1 if lo > 0 else 0
        self._s_hi, self._s_lo = max(0.0, hi), max(0.0, lo)
        return self._s_hi > self.cusum_h or self._s_lo > self.cusum_h

    def _confirmed(self, e: float, reg: _Regime, med: float, scale: float) -> bool:
        """Whether an alarm of the CUSUM (below ``confirm_h`` × ``cusum_h``) is a change: the
        observation that raised it pushes the CUSUM its way (beyond ``cusum_k`` robust deviations
        from the median) and the one before it lies on the same side of the midpoint between the
        median and this observation, so the new regime would start with two observations
        (``_change`` splits the run there). Otherwise the alarm was raised by observations
        separated by ordinary ones, as two outliers of a heavy tail are: the observation joins the
        current regime and the CUSUM keeps its sum (so, until it drains, two observations in a row
        a little past ``cusum_k`` are taken as a change: a regime of ordinary values, which
        ``_recall`` merges back). "The one before" is the regime's latest value: inputs of tiny
        configurations, which never enter it, are skipped."""
        up = self._upward(e, med)
        if (e - med > self.cusum_k * scale) if up else (med - e > self.cusum_k * scale):
            prev = float(reg.v[(reg.head - 1) % reg.v.size])
            return (prev > 0.5 * (med + e)) if up else (prev < 0.5 * (med + e))
        return False

    def _upward(self, e: float, med: float) -> bool:
        """Whether the alarm is the upper sum's: the sum past ``cusum_h``, or, where both are (only
        possible with ``confirm_h`` > 2, whose kept sums can meet), the side of this observation."""
        return self._s_hi > self.cusum_h and (self._s_lo <= self.cusum_h or e > med)

    def _change(self, e: float, cell: int, n: int, med: float, scale: float) -> None:
        """Start a new regime with the run that raised the alarm (this observation included); its
        prior has the old regime's spread (``scale``, at most ``prior_sigma``): the level changed."""
        old = self._regimes[self._cur]
        run = min(old.size - 1, max(0, (self._run_hi if self._upward(e, med) else self._run_lo) - 1))
        # of the run, the latest values on the new side of the midpoint between the levels move over
        mid = 0.5 * (med + e)
        up = e > med
        items = old.ordered()
        k = 0
        while k < run and ((items[-1 - k][0] > mid) == up):
            k += 1
        new = _Regime(self.window, e, min(self._sigma, scale))
        for it in old.pop_latest(k):
            new.add(*it)
        new.add(e, cell, n, *self._raw)
        self._make_current(new)
        self._changes += 1
        if new.size >= self.recall_after:
            self._recall()
        self._forget_oldest()

    def _make_current(self, new: _Regime) -> None:
        """Add ``new`` as the current regime, its CUSUM from zero."""
        self._regimes.append(new)
        self._tables.append(None)
        self._cur = len(self._regimes) - 1
        self._s_hi = self._s_lo = 0.0
        self._run_hi = self._run_lo = 0

    def _forget_oldest(self) -> None:
        """Keep ``memory`` regimes: the current one and those most recently current."""
        while len(self._regimes) > self.memory:
            victims = [k for k in range(len(self._regimes)) if k != self._cur]
            k = min(victims, key=lambda i: self._regimes[i].last)
            del self._regimes[k]
            del self._tables[k]
            if k < self._cur:
                self._cur -= 1
        self._mix_stale = True

    def _expire_level(self, n: int) -> None:
        """Forget a level nothing has measured for a while (only tiny configurations ran, and their
        observations do not enter it): after ``window // 8`` inputs, a wait that doubles with each
        level forgotten in a row, up to ``retest_after``, a fresh regime at the profile's level
        (R = 0 under the weak prior) becomes current, so the configurations the stale level kept
        out are chosen, and measured, again where they are the best. The old regime stays
        remembered. The wait is the least again once a level has been measured (``recall_after``),
        or once the first measurement after a level was forgotten lies below it by more than two
        robust deviations (it is gone)."""
        reg = self._regimes[self._cur]
        if reg.size >= self.recall_after:  # the level was measured: the next expiry waits the least again
            self._expiries = 0
        wait = min(self.retest_after, max(1, self.window // 8) << self._expiries)
        if not reg.size or n - reg.last <= wait:
            return
        self._expiries = min(self._expiries + 1, 16)  # unless the level is found gone, wait twice as long next
        med, scale = self._robust_scale(_sorted(reg.values()), reg.sigma)
        self._stale = med - 2.0 * scale
        new = _Regime(self.window, 0.0, self._sigma)
        new.last = n
        self._make_current(new)
        self._forget_oldest()

    def _recall(self) -> None:
        """Merge the young current regime into a remembered one whose level matches."""
        cur = self._regimes[self._cur]
        med, _ = self._robust_scale(np.sort(cur.values()), cur.sigma)
        best, best_d = -1, math.inf
        for k, r in enumerate(self._regimes):
            if k == self._cur or r.size < self.recall_after:
                continue
            rmed, rs = self._robust_scale(np.sort(r.values()), r.sigma)
            d = abs(med - rmed) / rs
            if d <= self.recall_z and d < best_d:
                best, best_d = k, d
        if best < 0:
            return
        tgt = self._regimes[best]
        for it in cur.ordered():
            tgt.add(*it)
        del self._regimes[self._cur]
        del self._tables[self._cur]
        self._cur = best if best < self._cur else best - 1
        self._tables[self._cur] = None  # the merged regime is current now: its slot stays empty
        self._mix_stale = True

    # ------------------------------------------------------------------ groups
    def _group_add(self, cell: int, e: float) -> None:
        """Add a residual to the cell's group window and rebuild that group's CDF row."""
        g = cell % self._d_set.size if self.groups == "setting" else cell
        vals = self._groups_state.pop(g, None) or deque(maxlen=self.group_window)
        self._groups_state[g] = vals  # (last in the order: the groups least recently seen come first)
        self._group_last[g] = self.n
        vals.append(e)
        self._group_row(g, vals)

    def _expire_groups(self, n: int) -> None:
        """Forget the windows of groups not seen for ``retest_after`` inputs: a window changes only
        when its configuration (or setting) runs, so one stall in it could otherwise keep the
        configuration below the threshold, and unseen, for good. Its cells are predicted from
        the global window again until it runs again."""
        while self._groups_state:
            g = next(iter(self._groups_state))
            if n - self._group_last.get(g, n) <= self.retest_after:
                return
            del self._groups_state[g]
            self._group_last.pop(g, None)
            if self._gtab is not None:
                L = self._d_set.size
                self._cell_w[(slice(None), g) if self.groups == "setting" else divmod(g, L)] = 0.0

    def _group_row(self, g: int, vals: deque[float]) -> None:
        if self._t is None:
            return
        K = self._x.size
        if self._gtab is None:
            self._gtab = np.zeros((1, K))
            self._cell_w = np.zeros(self._t.shape)
            self._cell_row = np.zeros(self._t.shape, dtype=np.intp)
            self._grow: dict[int, int] = {}
        row = self._grow.get(g)
        if row is None:
            row = self._grow[g] = self._gtab.shape[0]
            self._gtab = np.vstack([self._gtab, np.zeros((1, K))])
        self._gtab[row] = self._table(np.sort(np.fromiter(vals, float, len(vals))), 0.0, self._sigma)
        n = len(vals)
        L = self._d_set.size
        sel = (slice(None), g) if self.groups == "setting" else divmod(g, L)
        self._cell_w[sel] = n / (n + self.group_blend)
        self._cell_row[sel] = row * K

    # ------------------------------------------------------------------ questions
    def _u(self, deadline: float | np.ndarray) -> np.ndarray:
        """Grid position (before clipping) of ``deadline`` in every cell's residual distribution:
        one deadline, or one per cell (an array of the table's shape, ``prob_within_each``)."""
        if isinstance(deadline, np.ndarray):
            u = self._base0 + np.log(deadline) / self._dx
            at_b: float | np.ndarray = deadline.ravel()[self._b_cells]
        else:
            u = self._base0 + math.log(deadline) / self._dx
            at_b = deadline
        if self._b_cells.size:  # latency = e^R·scale + b: Pr[e^R ≤ (T − b) / scale]
            rest = np.maximum(at_b - self._b_vals, 1e-300)
            np.log(rest, out=rest)
            rest *= 1.0 / self._dx
            rest -= self._b_off
            u.flat[self._b_cells] = rest
        return u

    def _index(self, deadline: float, t_prof: np.ndarray) -> np.ndarray:
        if t_prof is self._t:
            u = self._u(deadline)
        else:
            t = np.asarray(t_prof, dtype=float)
            off = self._a if t.shape == self._a.shape else 0.0
            with np.errstate(divide="ignore", invalid="ignore"):
                u = (math.log(deadline) - np.log(t) - off - self._x0) / self._dx
                if self._b_cells.size and t.shape == self._b.shape:
                    rest = np.log(np.maximum(deadline - self._b.ravel()[self._b_cells], 1e-300))
                    u.flat[self._b_cells] = (rest - np.log(t).ravel()[self._b_cells] - np.ravel(off)[self._b_cells]
                                             - self._x0) / self._dx
            u = np.nan_to_num(u, nan=0.0, posinf=self._top, neginf=0.0)
        return self._clip(u)

    def _clip(self, u: np.ndarray) -> np.ndarray:
        """Grid positions ``u`` (no NaN) as indices into the CDF table: clipped to it, rounded down."""
        np.maximum(u, 0.0, out=u)
        np.minimum(u, self._top, out=u)
        return u.astype(np.intp)

    def _blend(self, pr: np.ndarray, idx: np.ndarray, rows: Any = slice(None), col: Any = slice(None)) -> np.ndarray:
        """Each cell's group CDF blended in by n / (n + group_blend): a gather and an fma."""
        if self._gtab is not None:
            own = self._gtab.take(idx + self._cell_row[rows, col])
            own -= pr
            own *= self._cell_w[rows, col]
            pr += own
        return pr

    def prob_within(self, deadline: float, t_prof: np.ndarray) -> np.ndarray:
        if not (deadline > 0):
            return np.zeros(np.shape(t_prof))
        if not math.isfinite(deadline):
            return np.ones(np.shape(t_prof))
        idx = self._index(deadline, t_prof)
        pr = self._F.take(idx)
        if self._gtab is not None and np.shape(t_prof) == self._cell_w.shape:
            pr = self._blend(pr, idx)
        return pr

    def prob_within_at(self, deadline: float, t_prof: np.ndarray, rows: range, col: int | slice) -> np.ndarray:
        if t_prof is not self._t or not (deadline > 0) or not math.isfinite(deadline):
            return super().prob_within_at(deadline, t_prof, rows, col)
        r = slice(rows.start, rows.stop)
        fixed = bool(self._b_cells.size) and bool(self._p_b[r, col].any())
        if not fixed and self._gtab is None and isinstance(col, (int, np.integer)):
            # one setting (the configuration chosen): the same arithmetic on scalars
            shift, top, F = math.log(deadline) / self._dx, self._top, self._F
            return np.array([F[int(min(max(u + shift, 0.0), top))] for u in self._base0[r, col].tolist()])
        if fixed:
            u = self._u(deadline)[r, col]
        else:  # the cells of _u, computed for these alone
            u = self._base0[r, col] + math.log(deadline) / self._dx
        idx = self._clip(u)
        return self._blend(self._F.take(idx), idx, r, col)

    def prob_within_each(self, deadlines: np.ndarray, t_prof: np.ndarray) -> np.ndarray:
        """``prob_within`` with a deadline per cell: the same grid positions, each from its own
        deadline (one vectorised pass; a logarithm may round apart from the scalar one)."""
        if t_prof is not self._t or np.shape(deadlines) != np.shape(t_prof):
            return super().prob_within_each(deadlines, t_prof)
        d = np.asarray(deadlines, dtype=float)
        pos = d > 0  # no chance by a deadline at or before the start (NaN: none either)
        u = self._u(np.where(pos, d, 1.0))
        idx = self._clip(np.nan_to_num(u, nan=0.0, posinf=self._top, neginf=0.0))
        pr = self._blend(self._F.take(idx), idx)
        pr[~pos] = 0.0
        pr[d == math.inf] = 1.0
        return pr

    def within(self, deadline: float, p: float | np.ndarray, t_prof: np.ndarray) -> np.ndarray:
        """Pr ≥ p without Pr: the CDF table first reaches p at grid point k (a search), so a cell
        qualifies when its grid position is at least k; exactly ``prob_within(...) >= p``, since
        the table never decreases (checked once per table; otherwise the default)."""
        if self._monotone is None:  # once per table (np.maximum.accumulate to force it costs more)
            self._monotone = np.count_nonzero(self._F[1:] >= self._F[:-1]) == self._top
        if (t_prof is not self._t or self._gtab is not None or not self._monotone or not (deadline > 0)
                or not math.isfinite(deadline)):
            return super().within(deadline, p, t_prof)
        k = self._F.searchsorted(p)  # first index with F[k] >= p (side="left")
        # idx = ⌊clip(u, 0, top)⌋ ≥ k: always for k = 0, never for k past the table, else u ≥ k
        if k.ndim == 0:  # one threshold for every cell
            kk = int(k)
            if kk == 0 or kk > self._top:
                return np.full(t_prof.shape, kk == 0)
            return self._u(deadline) >= kk
        return self._u(deadline) >= np.where(k <= 0, -np.inf, np.where(k > self._top, np.inf, k))

    def quantile(self, p: float, t_prof: np.ndarray) -> np.ndarray:
        return self._latency(math.exp(self._quantile_x(min(max(float(p), 0.0), 1.0))), t_prof)

    def expected(self, t_prof: np.ndarray) -> np.ndarray:
        return self._latency(self._mean, t_prof)

    def _latency(self, ratio: float, t_prof: np.ndarray) -> np.ndarray:
        """ratio·t_prof·e^offset (+ the fixed cost b) for every cell."""
        if t_prof is self._t:
            lat = self._scale0 * ratio
            if self._b_cells.size:
                lat += self._b
                np.maximum(lat, 0.0, out=lat)
            return lat
        t = np.asarray(t_prof, dtype=float)
        if t.shape != self._d_cfg.shape:
            return ratio * t
        lat = ratio * t * np.exp(self._a) + self._b
        return np.maximum(lat, 0.0, out=lat)

    # ------------------------------------------------------------------ the rest of the contract
    def assume(self, mean: float, std: float | None = None) -> None:
        if not (math.isfinite(mean) and mean > 0):
            raise ValueError(f"slowdown must be a finite number > 0, got {mean!r}")
        if std is not None and not (math.isfinite(std) and std >= 0):
            raise ValueError(f"sigma must be a finite number >= 0, got {std!r}")
        sigma = self.prior_sigma if std is None else max(1e-3, float(std) / float(mean))
        self._reset_state(math.log(mean), sigma)

    @property
    def mean(self) -> float:
        return self._mean

    @property
    def std(self) -> float:
        return self._std

    def summary(self) -> dict[str, float]:
        """``mean`` and ``std`` of the global slowdown e^R (offsets apart), its ``p90``, the inputs in
        the current regime, the regimes remembered, the change points seen, the switching rate and
        the configurations that departed from their profile."""
        if self._summary is None:
            reg = self._regimes[self._cur]
            self._summary = {"mean": self._mean, "std": self._std,
                             "p90": math.exp(self._quantile_x(0.9)), "regime_inputs": float(reg.size),
                             "regimes": float(len(self._regimes)), "changes": float(self._changes),
                             "switch_rate": self._rate, "departures": float(self.departures)}
        return dict(self._summary)

    def offsets_table(self) -> np.ndarray:
        """The per-configuration factor applied, e^a (1 where the profile is trusted)."""
        return np.exp(self._a)

    def state_dict(self) -> dict[str, Any]:
        return {"n": self.n, "departures": self.departures, "regimes": [r.state() for r in self._regimes],
                "current": self._cur, "cusum": [self._s_hi, self._s_lo, self._run_hi, self._run_lo],
                "rate": self._rate, "changes": self._changes, "sigma": self._sigma,
                "flagged": sorted(self._flagged), "provisional": {str(c): v for c, v in self._provisional.items()},
                "d_set": self._d_set.tolist(), "p_set": self._p_set.tolist(),
                "d_cfg": self._d_cfg.tolist(), "p_cfg": self._p_cfg.tolist(),
                "fixed": {str(c): [float(self._b.flat[c]), float(self._p_b.flat[c])] for c in self._b_cells.tolist()},
                "groups": {str(g): list(v) for g, v in self._groups_state.items()},
                "group_last": {str(g): self._group_last.get(g, self.n) for g in self._groups_state},
                "expiries": self._expiries, "stale": self._stale}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        p = self._checked_state(state)  # everything checked before anything changes
        self.n, self.departures = p["n"], p["departures"]
        self._regimes = p["regimes"]
        self._cur = p["current"]
        self._s_hi, self._s_lo, self._run_hi, self._run_lo = p["cusum"]
        self._rate, self._changes, self._sigma = p["rate"], p["changes"], p["sigma"]
        self._priors = {}
        self._flagged, self._provisional = p["flagged"], p["provisional"]
        d_cfg = p["d_cfg"]
        self._d_set, self._p_set, self._d_cfg, self._p_cfg = p["d_set"], p["p_set"], d_cfg, p["p_cfg"]
        self._b, self._p_b = np.zeros(d_cfg.shape), np.zeros(d_cfg.shape)
        cells = list(p["fixed"])
        for c, (b, pb) in p["fixed"].items():
            self._b.flat[c], self._p_b.flat[c] = b, pb
        self._b_cells = np.array(cells, dtype=np.intp)
        self._b_vals = np.array([self._b.flat[c] for c in cells], dtype=float)
        self._b_pos = {c: k for k, c in enumerate(cells)}
        self._groups_state = {g: deque(v, maxlen=self.group_window) for g, v in p["groups"].items()}
        self._group_last = p["group_last"]
        self._expiries, self._stale = p["expiries"], p["stale"]
        self._gtab = None
        if self._t is not None:
            for g, vals in self._groups_state.items():
                self._group_row(g, vals)
        self._tables = [None] * len(self._regimes)
        self._mix_stale = True
        self._eta_max = float(np.abs(self._d_cfg).max(initial=0.0))
        self._refresh_cells()
        self._rebuild()

    def _checked_state(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The fields of a saved state, each checked (``StateReader``: a ValueError naming the
        field): types, finite numbers, ranges, and cells and shapes that fit the bound profile."""
        r = StateReader(state, "robust estimator")
        out: dict[str, Any] = {}
        # the tables first: their shape (the bound profile's, else the state's own) bounds every cell index
        d_cfg = r.array("d_cfg", r.get("d_cfg"), None if self._t is None else self._t.shape)
        if d_cfg.ndim != 2:
            raise r.fail("d_cfg", "is not a table of configurations")
        out["d_cfg"], out["p_cfg"] = d_cfg, r.array("p_cfg", r.get("p_cfg"), d_cfg.shape, lo=0.0)
        out["d_set"] = r.array("d_set", r.get("d_set"), (d_cfg.shape[1],))
        out["p_set"] = r.array("p_set", r.get("p_set"), (d_cfg.shape[1],), lo=0.0)
        cells = d_cfg.size

        def cell(name: str, v: Any, censored: bool = False) -> int:
            if censored:  # -1 (none), a cell, or a censored cell's tag _CENSORED - c
                c = r.count(name, v, lo=-2**62)
                if c < -1:
                    r.count(name, _CENSORED - c, 0, cells - 1)
                    return c
                return r.count(name, c, -1, cells - 1)
            if isinstance(v, str):
                if not v.isdigit() or len(v) > 18:
                    raise r.fail(name, f"is {v[:20]!r}, not a configuration index")
                v = int(v)
            return r.count(name, v, 0, cells - 1)

        out["n"], out["departures"] = r.count("n", r.get("n")), r.count("departures", r.get("departures"))
        regimes = r.get("regimes")
        if not isinstance(regimes, list) or not regimes:
            raise r.fail("regimes", "is not a non-empty list")
        out["regimes"] = []
        for k, rs in enumerate(regimes):
            where = f"regimes[{k}]"
            reg = _Regime(self.window, r.number(f"{where}.center", r.get("center", of=rs)),
                          r.number(f"{where}.sigma", r.get("sigma", of=rs), 0.0, open_lo=True))
            items = r.get("items", of=rs)
            if not isinstance(items, list) or len(items) > self.window:
                raise r.fail(f"{where}.items", f"is not a list of at most {self.window} observations (the window)")
            for m, it in enumerate(items):
                w = f"{where}.items[{m}]"
                if not isinstance(it, (list, tuple)) or len(it) != 5:
                    raise r.fail(w, "is not [residual, cell, input, log slowdown, log t_prof]")
                reg.add(r.number(w, it[0]), cell(w, it[1], censored=True), r.count(w, it[2]),
                        r.number(w, it[3]), r.number(w, it[4]))
            reg.count = r.count(f"{where}.count", r.get("count", of=rs), len(items))
            reg.last = r.count(f"{where}.last", r.get("last", of=rs))
            out["regimes"].append(reg)
        out["current"] = r.count("current", r.get("current"), 0, len(regimes) - 1)
        cu = r.get("cusum")
        if not isinstance(cu, (list, tuple)) or len(cu) != 4:
            raise r.fail("cusum", "is not [upper sum, lower sum, upper run, lower run]")
        out["cusum"] = (r.number("cusum", cu[0], 0.0), r.number("cusum", cu[1], 0.0),
                        r.count("cusum", cu[2]), r.count("cusum", cu[3]))
        out["rate"] = r.number("rate", r.get("rate"), 0.0, 1.0)
        out["changes"] = r.count("changes", r.get("changes"))
        out["sigma"] = r.number("sigma", r.get("sigma"), 0.0, open_lo=True)
        flagged = r.get("flagged")
        if not isinstance(flagged, list):
            raise r.fail("flagged", "is not a list of configurations")
        out["flagged"] = {cell("flagged", c) for c in flagged}
        prov = r.get("provisional")
        if not isinstance(prov, Mapping):
            raise r.fail("provisional", "is not a mapping of configurations to input indices")
        out["provisional"] = {cell("provisional", c): r.count("provisional", v) for c, v in prov.items()}
        fixed = r.get("fixed")
        if not isinstance(fixed, Mapping):
            raise r.fail("fixed", "is not a mapping of configurations to [b, variance]")
        out["fixed"] = {}
        for c, v in fixed.items():
            if not isinstance(v, (list, tuple)) or len(v) != 2:
                raise r.fail("fixed", f"{str(c)[:20]!r}: is not [b, variance]")
            out["fixed"][cell("fixed", c)] = (r.number("fixed", v[0], 0.0), r.number("fixed", v[1], 0.0))
        groups = r.get("groups")
        if not isinstance(groups, Mapping):
            raise r.fail("groups", "is not a mapping of groups to their windows")
        out["groups"] = {}
        n_groups = d_cfg.shape[1] if self.groups == "setting" else cells
        for g, v in groups.items():
            gi = cell("groups", g)
            if gi >= n_groups or not isinstance(v, list) or len(v) > self.group_window:
                raise r.fail("groups", f"{str(g)[:20]!r}: is not a group with at most {self.group_window} values")
            out["groups"][gi] = [r.number("groups", x) for x in v]
        last = r.get("group_last")
        if not isinstance(last, Mapping) or set(map(str, last)) != set(map(str, groups)):
            raise r.fail("group_last", "is not a mapping of each group to the input that last added to it")
        out["group_last"] = {cell("group_last", g): r.count("group_last", v, 0, out["n"]) for g, v in last.items()}
        order = sorted(out["groups"], key=lambda g: out["group_last"][g])  # least recently seen first
        out["groups"] = {g: out["groups"][g] for g in order}
        out["expiries"] = r.count("expiries", r.get("expiries"), 0, 16)
        stale = r.get("stale")
        out["stale"] = None if stale is None else r.number("stale", stale)
        return out


@register("robust-config")
class RobustPerConfig(RobustEstimator):
    """``robust`` with each configuration's own recent residuals blended in (``groups="config"``)."""

    def __init__(self, **params: Any) -> None:
        params.setdefault("groups", "config")
        super().__init__(**params)
