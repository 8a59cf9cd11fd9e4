"""Constrained choice of a configuration (paper Eq. 1, 2, 10, 11) and the infeasibility fallback (§4).

Constraints per dimension (all vectorised over candidates × settings):

* latency  — with Pr_th: Pr ≥ Pr_th (Eq. 10/11); by default the expected latency μ·t ≤ T.
  (The default otherwise lets the deadline act through Pr and q̂, NOTES.md.) t and Pr are those
  of the candidate's stopping stage (``anytime_deadline="stop"``, the paper's t_{i,j}). Option
  ``anytime_deadline="first"``: an anytime model is stopped at the deadline with its latest
  output, so it meets the deadline when its *first* stage does (t and Pr of stage 1).
* accuracy — MinimizeEnergy: q̂ ≥ Q_goal by default (the expectation); with Pr_th the chance
  constraint of Eq. 11, q_i ≥ Q_goal and Pr ≥ Pr_th (with ``"first"``: some stage up to the
  stopping one with q_m ≥ Q_goal and Pr_m ≥ Pr_th); MinimizeLatency: q_i ≥ Q_goal.
* energy   — e ≤ E_goal.

When no configuration meets every constraint, the constraints are walked in priority order
(default latency, accuracy, energy): a constraint that some remaining configuration meets filters
the set; one that none meets is *given up* and the set shrinks to the configurations closest to
it (least expected latency, highest q̂, least energy). The objective then picks among what is
left, ties broken by energy and then latency. A configuration is therefore always returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from alert.estimate import Estimates
from alert.goals import DEFAULT_PRIORITY, Dimension, Goal, MaximizeAccuracy, MinimizeLatency
from alert.profile import Profile

_TIE = 1e-9
AnytimeDeadline = Literal["stop", "first"]


@dataclass(frozen=True)
class Selection:
    """The chosen configuration (flat index = candidate·L + setting) and the goals it keeps."""

    candidate: int
    setting: int
    met: dict[str, bool]
    gave_up: tuple[str, ...]


def constraint_masks(profile: Profile, est: Estimates, goal: Goal,
                     anytime_deadline: AnytimeDeadline = "stop") -> dict[str, np.ndarray]:
    """Boolean (candidates × settings) masks of the configurations meeting each constraint of ``goal``."""
    masks: dict[str, np.ndarray] = {}
    first = anytime_deadline == "first" and profile.has_anytime
    for dim in goal.constraints:
        if dim == "latency":
            if goal.pr_th is not None:
                pr = est.pr[profile.group_start] if first else est.pr
                masks[dim] = pr >= goal.pr_th
            elif first:
                # μ·t_first ≤ T, with t_first the end of the candidate's first output
                masks[dim] = profile.t_first <= est.deadline / est.mean
            else:
                masks[dim] = est.latency <= est.deadline
        elif dim == "accuracy":
            assert not isinstance(goal, MaximizeAccuracy)  # accuracy is its objective, not a constraint
            reaches = profile.q[:, None] >= goal.accuracy - _TIE
            if isinstance(goal, MinimizeLatency):
                masks[dim] = np.broadcast_to(reaches, est.accuracy.shape)
            elif goal.pr_th is not None:
                ok = reaches & (est.pr >= goal.pr_th)
                if first:
                    for row, prev in profile.stage_links:  # some stage up to the stopping one will do
                        ok[row] |= ok[prev]
                masks[dim] = ok
            else:
                masks[dim] = est.accuracy >= goal.accuracy - _TIE
        else:
            masks[dim] = est.energy <= goal.energy_budget()
    return masks


def _score(dim: str, est: Estimates) -> np.ndarray:
    """Lower is better along ``dim``."""
    if dim == "latency":
        return est.latency
    if dim == "accuracy":
        return -est.accuracy
    return est.energy


def select(profile: Profile, est: Estimates, goal: Goal,
           priority: tuple[Dimension, ...] = DEFAULT_PRIORITY,
           anytime_deadline: AnytimeDeadline = "stop") -> Selection:
    """Pick the configuration that optimises ``goal.objective`` under its constraints (Eq. 1, 2, 10, 11)."""
    masks = constraint_masks(profile, est, goal, anytime_deadline)
    first, *rest = masks.values()
    alive = first & rest[0] if rest else first
    gave_up: list[str] = []
    if not alive.any():
        alive = np.ones(est.latency.shape, dtype=bool)
        for dim in priority:
            if dim not in masks:
                continue
            keep = alive & masks[dim]
            if keep.any():
                alive = keep
            else:
                gave_up.append(dim)
                s = np.where(alive, _score(dim, est), np.inf)
                alive = alive & _near(s, s.min())
    flat = _argbest(alive, goal.objective, est)
    c, j = divmod(int(flat), est.latency.shape[1])
    met = {dim: bool(m[c, j]) for dim, m in masks.items()}
    return Selection(c, j, met, tuple(gave_up))


def _near(values: np.ndarray, best: float) -> np.ndarray:
    """Values tied with ``best`` (within a relative 1e-9)."""
    return values <= best + _TIE * max(1.0, abs(best))


def _argbest(alive: np.ndarray, objective: str, est: Estimates) -> int:
    obj = np.where(alive, _score(objective, est), np.inf).ravel()
    i = int(obj.argmin())
    ties = _near(obj, obj[i])
    if np.count_nonzero(ties) == 1:
        return i
    for tb in ("energy", "latency"):
        if tb == objective:
            continue
        s = np.where(ties, _score(tb, est).ravel(), np.inf)
        return int(np.argmin(s))
    return int(np.argmax(ties))  # pragma: no cover - every objective has another tie-break
