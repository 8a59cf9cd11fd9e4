"""Constrained choice of a configuration (paper Eq. 1, 2, 10, 11) and the infeasibility fallback (§4).

The goal owns its constraints and its objective (``alert.goals``): it turns the estimates into one
feasibility mask per constraint and scores along each. Selection combines them without knowing
the goal: the configurations meeting every constraint are kept and the objective picks among
them.

When no configuration meets every constraint, the goal's constraints are walked in priority order
(default latency, accuracy, energy; a constraint the priority does not name comes after, in the
goal's order): a constraint that some remaining configuration meets filters the set; one that
none meets is *given up* and the set shrinks to the configurations closest to it (by the goal's
score: least expected latency, highest q̂, least energy). The objective then picks among what is
left, ties broken by energy and then latency. A configuration is therefore always returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alert.estimate import Estimates
from alert.goals import DEFAULT_PRIORITY, TOLERANCE, AnytimeDeadline, Dimension, Goal, GoalError
from alert.profile import Profile

_TIE = TOLERANCE


@dataclass(frozen=True)
class Selection:
    """The chosen configuration (flat index = candidate·L + setting) and the goals it keeps."""

    candidate: int
    setting: int
    met: dict[str, bool]
    gave_up: tuple[str, ...]


def constraint_masks(profile: Profile, est: Estimates, goal: Goal,
                     anytime_deadline: AnytimeDeadline = "stop") -> dict[str, np.ndarray]:
    """Boolean (candidates × settings) masks of the configurations meeting each constraint of
    ``goal`` (``goal.masks``), checked to hold exactly one mask per constraint the goal names."""
    masks = goal.masks(profile, est, anytime_deadline)
    if tuple(masks) != tuple(goal.constraints):
        raise GoalError(f"{type(goal).__name__}.masks returned masks for {list(masks)} but the goal's "
                        f"constraints are {list(goal.constraints)}. Fix: return one mask per constraint, "
                        "in the order of Goal.constraints")
    return masks


def fallback_order(goal: Goal, priority: tuple[str, ...] = DEFAULT_PRIORITY) -> tuple[str, ...]:
    """The goal's constraints in the order the infeasibility fallback walks them: those named by
    ``priority`` in its order, then the others in the goal's order."""
    return tuple(d for d in priority if d in goal.constraints) + tuple(
        c for c in goal.constraints if c not in priority)


def select(profile: Profile, est: Estimates, goal: Goal,
           priority: tuple[Dimension, ...] = DEFAULT_PRIORITY,
           anytime_deadline: AnytimeDeadline = "stop") -> Selection:
    """Pick the configuration that optimises ``goal.objective`` under its constraints (Eq. 1, 2, 10, 11)."""
    masks = constraint_masks(profile, est, goal, anytime_deadline)
    alive: np.ndarray | None = None
    for m in masks.values():
        alive = m if alive is None else alive & m
    gave_up: list[str] = []
    if alive is None:
        alive = np.ones(est.latency.shape, dtype=bool)
    elif not alive.any():
        alive = np.ones(est.latency.shape, dtype=bool)
        for name in fallback_order(goal, priority):
            keep = alive & masks[name]
            if keep.any():
                alive = keep
            else:
                gave_up.append(name)
                s = np.where(alive, goal.score(name, profile, est), np.inf)
                alive = alive & _near(s, s.min())
    flat = _argbest(alive, goal, profile, est)
    c, j = divmod(int(flat), est.latency.shape[1])
    met = {name: bool(m[c, j]) for name, m in masks.items()}
    return Selection(c, j, met, tuple(gave_up))


def _near(values: np.ndarray, best: float) -> np.ndarray:
    """Values tied with ``best`` (within a relative 1e-9)."""
    return values <= best + _TIE * max(1.0, abs(best))


def _argbest(alive: np.ndarray, goal: Goal, profile: Profile, est: Estimates) -> int:
    obj = np.where(alive, goal.score(goal.objective, profile, est), np.inf).ravel()
    i = int(obj.argmin())
    ties = _near(obj, obj[i])
    if np.count_nonzero(ties) == 1:
        return i
    for tb in ("energy", "latency"):
        if tb == goal.objective:
            continue
        s = np.where(ties, goal.score(tb, profile, est).ravel(), np.inf)
        return int(np.argmin(s))
    return int(np.argmax(ties))  # pragma: no cover - every objective has another tie-break
