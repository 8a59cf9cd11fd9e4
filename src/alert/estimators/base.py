"""The estimator interface and its registry (see ``alert.estimators``)."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from alert.filters import MeasurementGuard, as_real, is_count


class Estimator(ABC):
    """The interface every latency estimator honours.

    Subclasses set ``guard`` (a :class:`~alert.filters.MeasurementGuard` on the slowdown ratio
    observed / profiled: bad measurements are rejected or clamped, never fed to the state) and
    count accepted observations in ``n``.
    """

    name: str = "estimator"
    guard: MeasurementGuard
    n: int = 0
    #: configurations whose live latency departs from the profile by more than the estimator's
    #: documented factor (0 for estimators that do not check; the controller logs it)
    departures: int = 0

    def bind(self, t_prof: np.ndarray) -> None:  # noqa: B027 - optional hook
        """Called once with the profile's (candidates × settings) table before any other call."""

    @abstractmethod
    def update(self, observed: float, profiled: float, config: tuple[int, int] | None = None) -> bool:
        """Feed one observed latency of a configuration whose profiled latency is ``profiled``.

        Returns True when the observation was accepted (possibly clamped), False when rejected."""

    def update_censored(self, bound: float, profiled: float, config: tuple[int, int] | None = None) -> bool:
        """Feed an observation known only to exceed ``bound``: an anytime model stopped at the
        deadline before the stage decided on (profiled latency ``profiled``) finished.

        Return True when the estimator used it; the default returns False and the controller feeds
        the stage that was reached instead (``update``), which is what the paper's filter sees."""
        return False

    @abstractmethod
    def prob_within(self, deadline: float, t_prof: np.ndarray) -> np.ndarray:
        """Pr[latency ≤ ``deadline``] for every cell of ``t_prof`` (same shape)."""

    def prob_within_each(self, deadlines: np.ndarray, t_prof: np.ndarray) -> np.ndarray:
        """Pr[latency ≤ ``deadlines[i, j]``] for every cell of ``t_prof``: one deadline per cell
        (same shape), as ``prob_within`` answers for one (what the safe fallback asks for the
        latest time each configuration keeps an energy budget, ``Estimates.budget_pr``). The
        default asks ``prob_within`` once per distinct deadline, up to once per cell: correct for
        any estimator but slow on a large profile (the built-in estimators override it with one
        pass over the cells, whose answer may then differ from ``prob_within``'s only by the
        rounding of a deadline; an estimator of one's own should too)."""
        d = np.broadcast_to(np.asarray(deadlines, dtype=float), np.shape(t_prof))
        out = np.zeros(d.shape)
        values, inverse = np.unique(d, return_inverse=True)
        inverse = inverse.reshape(d.shape)
        for k, v in enumerate(values.tolist()):
            cells = inverse == k
            out[cells] = self.prob_within(v, t_prof)[cells]
        return out

    def within(self, deadline: float, p: float | np.ndarray, t_prof: np.ndarray) -> np.ndarray:
        """Boolean table: Pr[latency ≤ ``deadline``] ≥ ``p`` for every cell of ``t_prof`` (a chance
        constraint). ``p`` is a number, or a column of them, one per row: at most 0 admits every
        cell and more than 1 none (what an accuracy goal asks of a row that meets it at any Pr, or
        at none; ``Estimates.accuracy_at_least``). The default compares ``prob_within``; an
        estimator overrides it with a cheaper test that gives the same answer (e.g. from its
        ``p``-quantile)."""
        return self.prob_within(deadline, t_prof) >= p

    def prob_within_at(self, deadline: float, t_prof: np.ndarray, rows: range, col: int | slice) -> np.ndarray:
        """``prob_within(deadline, t_prof)[rows, col]`` for the bound table: Pr of some rows at one
        setting (the configuration chosen) or at every setting (``col=slice(None)``). The default
        computes the whole table; an estimator overrides it to compute only those cells, with the
        same values."""
        return self.prob_within(deadline, t_prof)[rows.start:rows.stop, col]

    @abstractmethod
    def quantile(self, p: float, t_prof: np.ndarray) -> np.ndarray:
        """The ``p``-quantile of the latency of every cell of ``t_prof`` (same shape, ≥ 0)."""

    @abstractmethod
    def expected(self, t_prof: np.ndarray) -> np.ndarray:
        """The expected latency of every cell of ``t_prof`` (same shape)."""

    @abstractmethod
    def assume(self, mean: float, std: float | None = None) -> None:
        """Set the belief to a global slowdown with this mean (and spread, where given): what
        ``alert decide --slowdown --sigma`` asks for."""

    @abstractmethod
    def summary(self) -> dict[str, float]:
        """A few numbers for logs: at least ``mean`` and ``std`` of the global slowdown."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to restore the estimator (JSON-serialisable)."""

    @abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state returned by ``state_dict``. A state that is not one (a missing field, a
        wrong type, a number that is not finite or out of its range, a shape that does not fit the
        bound profile) raises a ValueError naming the field, and leaves the estimator as it was
        (the conformance suite checks both; :class:`StateReader` helps)."""

    def admit(self, observed: float, profiled: float) -> float | None:
        """The slowdown ratio observed / profiled after ``guard``'s rule (docs/controller.md):
        None when either is not a finite positive number; clamped when out of range (a finite
        latency whose ratio overflows counts as too large)."""
        try:
            obs, prof = float(observed), float(profiled)
        except (TypeError, ValueError, OverflowError):
            self.guard.rejected += 1
            return None
        if not (math.isfinite(obs) and obs > 0 and math.isfinite(prof) and prof > 0):
            self.guard.rejected += 1
            return None
        xi = obs / prof
        return self.guard.admit(xi if math.isfinite(xi) else self.guard.high * 2)

    # Convenience for logs and the ALERT* ablation.
    @property
    def mean(self) -> float:
        return float(self.summary()["mean"])

    @property
    def std(self) -> float:
        return float(self.summary()["std"])


E = TypeVar("E", bound=type[Estimator])
ESTIMATORS: dict[str, Callable[..., Estimator]] = {}


def register(name: str) -> Callable[[E], E]:
    """Class decorator: make an estimator available under ``name``."""

    def deco(cls: E) -> E:
        if name in ESTIMATORS:
            raise ValueError(f"an estimator named {name!r} is already registered")
        cls.name = name
        ESTIMATORS[name] = cls
        return cls

    return deco


def make_estimator(name: str, **params: Any) -> Estimator:
    """Build the registered estimator ``name`` with ``params``; a clear error names the choices."""
    try:
        factory = ESTIMATORS[name]
    except KeyError:
        raise ValueError(f"unknown estimator {name!r}; choose one of {sorted(ESTIMATORS)}") from None
    try:
        return factory(**params)
    except TypeError as e:
        raise ValueError(f"estimator {name!r}: {e}") from None



class StateReader:
    """Checked reads of a saved estimator state: each raises a ValueError naming the field (as
    ``load_state_dict`` promises) instead of a KeyError, TypeError or NaN deep inside."""

    def __init__(self, state: object, owner: str) -> None:
        if not isinstance(state, Mapping):
            raise ValueError(f"{owner} state: {type(state).__name__} is not a mapping; load what state_dict() saved")
        self.state, self.owner = state, owner

    def fail(self, name: str, problem: str) -> ValueError:
        return ValueError(f"{self.owner} state: {name} {problem}; load a state saved by state_dict() "
                          "with the same estimator and profile")

    def get(self, name: str, default: Any = ..., of: Mapping[str, Any] | None = None) -> Any:
        src = self.state if of is None else of
        if not isinstance(src, Mapping):
            raise self.fail(name, "is not inside a mapping")
        if name not in src:
            if default is not ...:
                return default
            raise self.fail(name, "is missing")
        return src[name]

    def number(self, name: str, value: Any, lo: float = -math.inf, hi: float = math.inf,
               open_lo: bool = False) -> float:
        """A finite real number in [lo, hi] (``open_lo``: above lo)."""
        v = as_real(value)
        if v is None:
            raise self.fail(name, f"is {str(value)[:40]}, not a number")
        if not math.isfinite(v) or v > hi or v < lo or (open_lo and v == lo):
            raise self.fail(name, f"is {v!r}, outside {'(' if open_lo else '['}{lo:g}, {hi:g}]")
        return v

    def count(self, name: str, value: Any, lo: int = 0, hi: float = math.inf) -> int:
        """An integer in [lo, hi]."""
        if not is_count(value) or not lo <= value <= hi:
            raise self.fail(name, f"is {value!r}, not an integer in [{lo}, {hi:g}]")
        return int(value)

    def array(self, name: str, value: Any, shape: tuple[int, ...] | None = None, lo: float = -math.inf) -> np.ndarray:
        """A float array of finite values >= lo (of ``shape`` when given)."""
        try:
            a = np.array(value, dtype=float)
        except (TypeError, ValueError):
            raise self.fail(name, "is not an array of numbers") from None
        if shape is not None and a.shape != shape:
            raise self.fail(name, f"has shape {a.shape}, not {shape}")
        if not np.all(np.isfinite(a)) or (a.size and float(a.min()) < lo):
            raise self.fail(name, f"holds a value that is not finite or below {lo:g}")
        return a
