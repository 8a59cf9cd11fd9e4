"""Constrained choice of a configuration (paper Eq. 1, 2, 10, 11) and the infeasibility fallback (§4).

Constraints per dimension (all vectorised over candidates × settings):

* latency  — the paper's t_{i,j} ≤ T (Eq. 1, 2, 10, 11): the expected latency μ·t ≤ T; with a
  threshold Pr_th also Pr ≥ Pr_th (Eq. 10/11). ``expected_latency=False`` drops the first (the
  deadline then acts through Pr and q̂ alone, NOTES.md's reading). t and Pr are those of the
  candidate's stopping stage (``anytime_deadline="stop"``, the paper's t_{i,j}). Option
  ``anytime_deadline="first"``: an anytime model is stopped at the deadline with its latest
  output, so it meets the deadline when its *first* stage does (t and Pr of stage 1).
* accuracy — MinimizeEnergy: q̂ ≥ Q_goal by default (the expectation); with Pr_th the chance
  constraint of Eq. 11, q_i ≥ Q_goal and Pr ≥ Pr_th (with ``"first"``: some stage up to the
  stopping one with q_m ≥ Q_goal and Pr_m ≥ Pr_th); MinimizeLatency: q_i ≥ Q_goal.
* energy   — e ≤ E_goal.

Pr_th is the goal's own (``goal.pr_th``) or, when the goal has none, the ``pr_th`` the caller
passes (the controller's chance constraint, ``ControllerConfig(chance=...)``).

When no configuration meets every constraint, ``fallback="priority"`` (the paper's §4, the
default) walks the constraints in priority order (default latency, accuracy, energy): a
constraint that some remaining configuration meets filters the set; one that none meets is
*given up* and the set shrinks to the configurations closest to it (least expected latency,
highest q̂, least energy). ``fallback="safe"`` first keeps the configurations that meet the goal's
deterministic constraints (q_i ≥ Q_goal for MinimizeEnergy, e ≤ E_goal): accuracy and the budget
are not given up for a latency the estimate already doubts, and a tight budget is not answered
with a certain budget miss. Among them MinimizeEnergy takes the most probable to meet the deadline
(largest Pr); MaximizeAccuracy lets its objective q̂ = Pr·q + (1 − Pr)·q_fail decide (the most
probable configuration would be the smallest model). Only when no configuration meets those does
it walk the priority order. Either way the objective then picks among what is left, ties broken
by energy and then latency, so a configuration is always returned.
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
Fallback = Literal["priority", "safe"]
_PR_TIE = 1e-6


@dataclass(frozen=True)
class Selection:
    """The chosen configuration (flat index = candidate·L + setting) and the goals it keeps."""

    candidate: int
    setting: int
    met: dict[str, bool]
    gave_up: tuple[str, ...]


def constraint_masks(profile: Profile, est: Estimates, goal: Goal,
                     anytime_deadline: AnytimeDeadline = "stop", pr_th: float | None = None,
                     expected_latency: bool = True) -> dict[str, np.ndarray]:
    """Boolean (candidates × settings) masks of the configurations meeting each constraint of ``goal``.

    ``pr_th``: the chance threshold when the goal has none of its own; ``expected_latency``:
    whether the latency constraint includes the paper's μ·t ≤ T."""
    masks: dict[str, np.ndarray] = {}
    first = anytime_deadline == "first" and profile.has_anytime
    th = goal.pr_th if goal.pr_th is not None else pr_th
    pr_ok = est.pr >= th if th is not None and not first else None  # shared by latency and accuracy
    for dim in goal.constraints:
        if dim == "latency":
            lat: np.ndarray | None = None
            if expected_latency:
                # μ·t_first ≤ T with t_first the end of the candidate's first output ("first")
                lat = profile.t_first <= est.deadline / est.mean if first else est.latency <= est.deadline
            if th is not None:
                ok = est.pr[profile.group_start] >= th if pr_ok is None else pr_ok
                lat = ok if lat is None else lat & ok
            masks[dim] = np.ones(est.latency.shape, dtype=bool) if lat is None else lat
        elif dim == "accuracy":
            assert not isinstance(goal, MaximizeAccuracy)  # accuracy is its objective, not a constraint
            if isinstance(goal, MinimizeLatency):
                masks[dim] = np.broadcast_to(profile.q[:, None] >= goal.accuracy - _TIE, est.accuracy.shape)
            elif th is not None:
                ok = (profile.q[:, None] >= goal.accuracy - _TIE) & (est.pr >= th if pr_ok is None else pr_ok)
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
           anytime_deadline: AnytimeDeadline = "stop", pr_th: float | None = None,
           expected_latency: bool = True, fallback: Fallback = "priority") -> Selection:
    """Pick the configuration that optimises ``goal.objective`` under its constraints (Eq. 1, 2, 10, 11);
    ``pr_th``, ``expected_latency`` and ``fallback`` as in the module docstring."""
    masks = constraint_masks(profile, est, goal, anytime_deadline, pr_th, expected_latency)
    first, *rest = masks.values()
    alive = first & rest[0] if rest else first
    gave_up: list[str] = []
    if not alive.any():
        alive = None
        if fallback == "safe" and "latency" in masks:
            alive = _safe(profile, est, goal, anytime_deadline)
        if alive is None:
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
    if fallback == "safe" and not gave_up:
        gave_up = [dim for dim, ok in met.items() if not ok]
    return Selection(c, j, met, tuple(gave_up))


def _safe(profile: Profile, est: Estimates, goal: Goal, anytime_deadline: AnytimeDeadline) -> np.ndarray | None:
    """The safe fallback: among configurations meeting the goal's deterministic constraints
    (q_i ≥ Q_goal, e ≤ E_goal), those most likely to meet the deadline; None when there are none."""
    det = np.ones(est.latency.shape, dtype=bool)
    if "accuracy" in goal.constraints and not isinstance(goal, MaximizeAccuracy):
        det &= (profile.q >= goal.accuracy - _TIE)[:, None]
    if "energy" in goal.constraints:
        det &= est.energy <= goal.energy_budget()
    if not det.any():
        return None
    if goal.objective == "accuracy":
        return det  # q̂ = Pr·q + (1 − Pr)·q_fail already weighs the deadline: the objective decides
    pr = est.pr[profile.group_start] if anytime_deadline == "first" and profile.has_anytime else est.pr
    p = np.where(det, pr, -1.0)
    return p >= p.max() - _PR_TIE


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
