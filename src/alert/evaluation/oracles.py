"""Oracles in hindsight, vectorised over configurations (paper §5.1, Table 3; docs/evaluation.md).

What meets a goal, what is best and the best effort are the goal's (``alert.goals.Goal``:
``misses``, ``rank``, ``cost``, ``best_effort``); the oracles only search.

- ``oracle``        the best configuration for every input (perfect per-input knowledge): among the
                    configurations that meet all of that input's constraints, the least energy
                    (min-energy) or the highest accuracy, then least energy (min-error). When none
                    meets them, the best effort: the highest accuracy (min-energy) or the least
                    energy (min-error).
- ``oracle_static`` one configuration for all inputs: the best mean objective among the
                    configurations that the violation rule accepts (≤ 10 % of inputs missing);
                    when none, the fewest misses. With ``allowance=0`` (``OracleStatic_strict``,
                    the second normaliser) it must meet every input.
- ``oracle_static_split`` beyond the paper: OracleStatic without hindsight on the inputs it is
                    scored on. The inputs are dealt into folds (two by default: input n into fold n mod 2), and each
                    fold gets the fixed configuration ``oracle_static`` picks on the *other* folds'
                    inputs. OracleStatic scores a choice on the very inputs it was chosen on, so where
                    several configurations are within the noise of those inputs it takes the one that
                    luck favoured; this choice pays for that noise as any policy that is not told the
                    future does. The gap between the two is the part of OracleStatic's edge that is
                    the noise of the inputs it is scored on. With the trace's states it cross-fits
                    ``oracle_state`` the same way (``Oracle_State_split``).
- ``oracle_state``  beyond the paper: knows each input's contention state but not its per-input
                    noise, and applies ``oracle_static`` separately to the inputs of each state —
                    the configuration best in expectation for that state.

Each returns per-input ``(candidate, setting)`` index arrays; replay them with ``replay.deliver``.
"""

from __future__ import annotations

import numpy as np

from alert.evaluation.metrics import VIOLATION_FRACTION, Constraint
from alert.evaluation.replay import Outcomes

_TIE = 1e-12


def _lexi_best(primary: np.ndarray, secondary: np.ndarray, axis: int) -> np.ndarray:
    """Index minimising ``primary`` along ``axis``, ties broken by the smaller ``secondary``."""
    best = np.min(primary, axis=axis, keepdims=True)
    sec = np.where(primary <= best + _TIE * np.maximum(1.0, np.abs(best)), secondary, np.inf)
    return np.argmin(sec, axis=axis)


def oracle(out: Outcomes, c: Constraint) -> tuple[np.ndarray, np.ndarray]:
    """Per-input best configuration in hindsight: the goal's ``rank`` among the configurations
    that meet it, its ``best_effort`` when none does."""
    N, C, L = out.accuracy.shape
    goal = c.goal()
    acc = out.accuracy.reshape(N, C * L)
    en = out.energy.reshape(N, C * L)
    late = out.late.reshape(N, C * L)
    ok = ~goal.misses(acc, en, late)
    primary, secondary = goal.rank(acc, en)
    feas = _lexi_best(np.where(ok, primary, np.inf), secondary, axis=1)
    fallback = _lexi_best(*goal.best_effort(acc, en, late), axis=1)
    k = np.where(ok.any(axis=1), feas, fallback)
    return k // L, k % L


def _static_choice(acc: np.ndarray, en: np.ndarray, late: np.ndarray, c: Constraint,
                   allowance: float = VIOLATION_FRACTION) -> int:
    """Flat index of the best fixed configuration for inputs given as (n, C*L) arrays, among those
    with at most ``allowance`` of the inputs missing (the fewest misses when none qualifies)."""
    goal = c.goal()
    miss_rate = goal.misses(acc, en, late).mean(axis=0)
    obj = goal.cost(acc, en, axis=0)
    accepted = miss_rate <= allowance
    if accepted.any():
        return int(_lexi_best(np.where(accepted, obj, np.inf), miss_rate, axis=0))
    return int(_lexi_best(miss_rate, obj, axis=0))


def oracle_static(out: Outcomes, c: Constraint, allowance: float = VIOLATION_FRACTION
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The best single configuration in hindsight, used for every input; ``allowance``: the share
    of inputs it may miss (0: every input met)."""
    N, C, L = out.accuracy.shape
    k = _static_choice(out.accuracy.reshape(N, -1), out.energy.reshape(N, -1), out.late.reshape(N, -1), c,
                       allowance)
    return np.full(N, k // L, dtype=np.intp), np.full(N, k % L, dtype=np.intp)


def oracle_static_split(out: Outcomes, c: Constraint, folds: int = 2, allowance: float = VIOLATION_FRACTION,
                        state: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per input, the fixed configuration ``oracle_static`` picks on the inputs of the other folds
    (the k-th input is in fold k mod ``folds``; module docstring). With ``state``, ``oracle_state``
    cross-fitted the same way: the inputs of each contention state are dealt into folds in their
    order, and each fold gets the choice made on the other folds of that state (a state with fewer
    inputs than folds keeps the choice made on its own inputs)."""
    N, C, L = out.accuracy.shape
    if not 2 <= folds <= N:
        raise ValueError(f"oracle_static_split: folds must be between 2 and the {N} inputs, got {folds!r}")
    acc, en, late = (a.reshape(N, C * L) for a in (out.accuracy, out.energy, out.late))
    groups = [np.arange(N)] if state is None else [np.flatnonzero(state == s) for s in np.unique(state)]
    k = np.empty(N, dtype=np.intp)
    for rows in groups:
        fold = np.arange(rows.size) % folds
        for f in range(folds):
            mine, fit = rows[fold == f], rows[fold != f]
            if mine.size:
                fit = fit if fit.size else mine
                k[mine] = _static_choice(acc[fit], en[fit], late[fit], c, allowance)
    return k // L, k % L


def oracle_state(out: Outcomes, c: Constraint, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The best fixed configuration per contention state, in hindsight over that state's inputs."""
    N, C, L = out.accuracy.shape
    cand = np.empty(N, dtype=np.intp)
    sett = np.empty(N, dtype=np.intp)
    for s in np.unique(state):
        rows = np.flatnonzero(state == s)
        k = _static_choice(out.accuracy[rows].reshape(rows.size, -1), out.energy[rows].reshape(rows.size, -1),
                           out.late[rows].reshape(rows.size, -1), c)
        cand[rows] = k // L
        sett[rows] = k % L
    return cand, sett
