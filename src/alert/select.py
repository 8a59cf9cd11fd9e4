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

Options of the controller (``ControllerConfig``), all off for the paper preset:

* ``pr_th``: a chance constraint (Eq. 10/11 with Pr_th = ``pr_th``) for a goal that has no Pr_th
  of its own: the goal's masks are those of the same goal with that Pr_th, and with
  ``expected_latency`` (the default) the latency constraint also keeps the expected latency
  μ·t ≤ T (the paper's t_{i,j} ≤ T; implied by Pr ≥ Pr_th ≥ 0.5 under the paper's Gaussian).
* ``fallback="safe"``: when nothing meets every constraint, first keep the configurations that
  meet the goal's deterministic constraints (q_i ≥ Q_goal; for an energy budget, a period that
  can keep it at all): accuracy and the budget are not given up for a latency the estimate
  already doubts, and a tight budget is not answered with a certain budget miss. Among them
  MinimizeEnergy takes the most probable to meet the deadline (largest Pr); MaximizeAccuracy lets
  its objective q̂ = Pr·q + (1 − Pr)·q_fail decide. With an energy budget, lateness and an
  over-budget period are one event (a period's energy grows with the latency): a configuration's
  chance is Pr[latency ≤ min(T, t_E)] (``Estimates.budget_pr``), and MaximizeAccuracy first keeps
  the configurations whose own output counted that way, q_fail + (q − q_fail)·chance, is best
  (within ``accuracy_tie``) before q̂ decides among them (docs/controller.md, "The safe fallback
  under an energy budget"); when none has any chance of both but some can make the deadline,
  the least planned energy is kept. Not so for an input of a sequence (``shared``, e.g. a word of a
  sentence): its deadline and budget are shares of the sequence's, and a word past its share of
  the deadline leaves the next words less time but misses nothing, while the energy it spent is
  gone from the budget they share: there the budget is kept on the planned energy (Eq. 9 / 12,
  e ≤ E_goal) and the deadline acts through Pr and q̂.
  When none of them has any chance of the deadline (Pr = 0 everywhere: it has already passed, as
  after queueing), the least expected latency decides instead, so the input frees the server as
  soon as it can. Only when no configuration meets the deterministic constraints does it walk the
  priority order.
* ``accuracy_tie``: for an accuracy objective (MaximizeAccuracy), configurations whose q̂ is within
  this much (absolute) of the best count as equally accurate, and among them the least expected
  latency decides (then energy): the most margin on the deadline the budget already pays for.
  q̂ differences that small say nothing about which configuration will be late: a probability of
  lateness of 10⁻⁵ read off a 40-input window's fitted tail, or a Pr near 1 that the window's
  quiet phase overstates where contention comes and goes (docs/controller.md, "Accuracy ties").
  Under an energy budget only the tied configurations whose planned energy is at most the best
  q̂'s count: a faster configuration can cost more (where a setting's idle draw is above its
  inference draw, a faster model's period does), and its margin on the deadline would then be
  bought with the budget. None (the paper preset): ties within a relative 1e-9, broken by energy
  and then latency, as for every other objective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Literal

import numpy as np

from alert.estimate import Estimates
from alert.goals import (
    DEFAULT_PRIORITY,
    TOLERANCE,
    AnytimeDeadline,
    Dimension,
    Goal,
    GoalError,
    MaximizeAccuracy,
    MinimizeEnergy,
    expected_within,
)
from alert.profile import Profile

_TIE = TOLERANCE
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
    """Boolean (candidates × settings) masks of the configurations meeting each constraint of
    ``goal`` (``goal.masks``), checked to hold exactly one mask per constraint the goal names.
    ``pr_th`` and ``expected_latency``: the chance constraint of the module docstring."""
    g = goal
    if pr_th is not None and goal.pr_th is None and "latency" in goal.constraints:
        g = _with_pr_th(goal, pr_th)
    masks = g.masks(profile, est, anytime_deadline)
    if tuple(masks) != tuple(goal.constraints):
        raise GoalError(f"{type(goal).__name__}.masks returned masks for {list(masks)} but the goal's "
                        f"constraints are {list(goal.constraints)}. Fix: return one mask per constraint, "
                        "in the order of Goal.constraints")
    if (pr_th is not None or goal.pr_th is not None) and expected_latency and "latency" in masks:
        masks["latency"] = masks["latency"] & expected_within(profile, est, goal.first_output(profile, anytime_deadline))
    return masks


def _with_pr_th(goal: Goal, pr_th: float) -> Goal:
    """``goal`` with ``pr_th`` as its chance threshold (the goal itself when it has no such field).

    The threshold moves with every input under ACI, so this runs once per decision: the built-in
    goals, whose checks of ``pr_th`` a threshold in (0, 1) passes, are copied through their
    ``__dict__``; any other goal goes through ``dataclasses.replace`` and its own checks."""
    if type(goal) in (MinimizeEnergy, MaximizeAccuracy):
        g = object.__new__(type(goal))
        g.__dict__.update(goal.__dict__)
        g.__dict__["pr_th"] = float(pr_th)
        return g
    if is_dataclass(goal) and any(f.name == "pr_th" for f in fields(goal)):
        return replace(goal, pr_th=pr_th)
    return goal


def fallback_order(goal: Goal, priority: tuple[str, ...] = DEFAULT_PRIORITY) -> tuple[str, ...]:
    """The goal's constraints in the order the infeasibility fallback walks them: those named by
    ``priority`` in its order, then the others in the goal's order."""
    return tuple(d for d in priority if d in goal.constraints) + tuple(
        c for c in goal.constraints if c not in priority)


def select(profile: Profile, est: Estimates, goal: Goal,
           priority: tuple[Dimension, ...] = DEFAULT_PRIORITY,
           anytime_deadline: AnytimeDeadline = "stop", pr_th: float | None = None,
           expected_latency: bool = True, fallback: Fallback = "priority",
           accuracy_tie: float | None = None, shared: bool = False) -> Selection:
    """Pick the configuration that optimises ``goal.objective`` under its constraints (Eq. 1, 2, 10,
    11); ``pr_th``, ``expected_latency``, ``fallback``, ``accuracy_tie`` and ``shared`` (the input
    is one of a sequence, ``Controller.begin_sequence``) as in the module docstring."""
    masks = constraint_masks(profile, est, goal, anytime_deadline, pr_th, expected_latency)
    alive: np.ndarray | None = None
    for m in masks.values():
        alive = m if alive is None else alive & m
    gave_up: list[str] = []
    if alive is None:
        alive = np.ones(est.latency.shape, dtype=bool)
    elif not np.count_nonzero(alive):  # (ndarray.any goes through a Python wrapper)
        safe = (_safe(profile, est, goal, anytime_deadline, accuracy_tie, shared)
                if fallback == "safe" and "latency" in masks else None)
        if safe is not None:
            alive = safe
        else:
            alive = np.ones(est.latency.shape, dtype=bool)
            for name in fallback_order(goal, priority):
                keep = alive & masks[name]
                if keep.any():
                    alive = keep
                else:
                    gave_up.append(name)
                    s = np.where(alive, goal.score(name, profile, est), np.inf)
                    alive = alive & _near(s, s.min())
    flat = _argbest(alive, goal, profile, est, accuracy_tie)
    c, j = divmod(int(flat), est.latency.shape[1])
    met = {name: bool(m[c, j]) for name, m in masks.items()}
    if fallback == "safe" and not gave_up:
        gave_up = [name for name, ok in met.items() if not ok]
    return Selection(c, j, met, tuple(gave_up))


def _safe(profile: Profile, est: Estimates, goal: Goal, anytime_deadline: AnytimeDeadline,
          accuracy_tie: float | None = None, shared: bool = False) -> np.ndarray | None:
    """The safe fallback: among configurations meeting the goal's deterministic constraints
    (q_i ≥ Q_goal; an energy budget that some latency keeps), those most likely to meet the
    deadline (and the budget: ``Estimates.budget_pr``); None when there are none. ``shared``:
    the deadline and budget are the input's shares of a sequence's, the budget is checked on the
    planned energy instead (module docstring)."""
    det = np.ones(est.latency.shape, dtype=bool)
    if "accuracy" in goal.constraints:
        det &= (profile.q >= goal.accuracy_goal() - _TIE)[:, None]
    t_e = None
    budget = _budget(goal)
    if shared:
        det &= est.energy <= budget
    elif math.isfinite(budget):  # (a goal with no budget is judged on the deadline alone)
        t_e, pr = est.budget_pr(budget)
        det &= t_e > 0
    if not det.any():
        return None
    if t_e is None:
        pr = est.pr
    first = goal.first_output(profile, anytime_deadline)  # on time with the first stage's output
    p = np.where(det, np.where(first, pr[profile.group_start], pr), -1.0)
    best = p.max()
    if best <= _PR_TIE:
        if t_e is not None and float(np.where(det, est.pr, 0.0).max()) > _PR_TIE:
            # the deadline can be met but not within the budget: spend the least (finishing
            # first, the rule below, would take the most power)
            en = np.where(det, est.energy, np.inf)
            return det & _near(en, en.min())
        # no configuration can meet the deadline (it has passed, e.g. after queueing): finish as
        # soon as possible, or the cheapest (slowest) would be taken and a queue would build on
        lat = np.where(det, est.latency, np.inf)
        return det & _near(lat, lat.min())
    if goal.objective == "accuracy":
        # q̂ = Pr·q + (1 − Pr)·q_fail already weighs the deadline: the objective decides. With a
        # budget, first keep the configurations whose own output is worth most when it counts
        # only on time and within the budget: q_fail + (q − q_fail)·Pr[last stage ≤ min(T, t_E)]
        if t_e is None:
            return det
        lost = np.where(det, (profile.q_fail - profile.q)[:, None] * pr, np.inf)
        return det & _near(lost, float(lost.min()), accuracy_tie or 0.0)
    return p >= best - _PR_TIE


def _budget(goal: Goal) -> float:
    """E_goal where the goal constrains energy, else ∞ (judged on the deadline alone)."""
    return goal.energy_budget() if "energy" in goal.constraints else math.inf


def _near(values: np.ndarray, best: float, atol: float = 0.0) -> np.ndarray:
    """Values tied with ``best`` (within a relative 1e-9, or ``atol``)."""
    return values <= best + max(_TIE * max(1.0, abs(best)), atol)


def _argbest(alive: np.ndarray, goal: Goal, profile: Profile, est: Estimates,
             accuracy_tie: float | None = None) -> int:
    obj = np.where(alive, goal.score(goal.objective, profile, est), np.inf).ravel()
    i = int(obj.argmin())
    atol = accuracy_tie if goal.objective == "accuracy" else None
    ties = _near(obj, obj[i], atol or 0.0)
    if np.count_nonzero(ties) == 1:
        return i
    if atol is not None:  # ties in q̂ (accuracy_tie): the most margin on the deadline, then energy
        if math.isfinite(_budget(goal)):
            # margin bought with no more of the budget than the best q̂ plans to spend
            en = est.energy.ravel()
            ties &= _near(en, float(en[i]))
        lat = np.where(ties, est.latency.ravel(), np.inf)
        ties &= _near(lat, float(lat.min()))
        return int(np.argmin(np.where(ties, est.energy.ravel(), np.inf)))
    for tb in ("energy", "latency"):
        if tb == goal.objective:
            continue
        s = np.where(ties, goal.score(tb, profile, est).ravel(), np.inf)
        return int(np.argmin(s))
    return int(np.argmax(ties))  # pragma: no cover - every objective has another tie-break
