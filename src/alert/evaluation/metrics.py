"""Constraint settings, grids (Table 3), the miss and violation rules, normalisation, harmonic means.

Conventions (docs/evaluation.md, "Evaluation conventions"):

- An input *misses* when it has no output by the deadline, delivers accuracy below the accuracy
  goal, or its period's energy exceeds the energy budget E_goal = P_goal · T_goal.
- A setting is *violated* by a scheme when more than 10 % of its inputs miss.
- A cell's result for a scheme is the mean, over the settings it does not violate (and that
  OracleStatic does not violate), of its objective normalised to OracleStatic's: energy per input
  in the min-energy task, error rate (1 − mean delivered accuracy) in the min-error task.
- Summaries across cells use the harmonic mean (Table 4's last row).

Fair scoring beside the paper's metric (docs/evaluation.md, "Fair metrics"): the paper's mean
leaves out the settings a scheme violates, which flatters a scheme that violates more.
:func:`fair_summaries` adds, per scheme, the mean over the settings that *every* compared scheme
meets (the same settings for all), the share of settings it meets, its mean miss rate, and its
objective normalised to a second baseline, OracleStatic_strict (the best fixed configuration
that meets every input: the paper's OracleStatic may have had no 10 % allowance).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

import numpy as np

from alert.evaluation.replay import Delivered
from alert.goals import TOLERANCE, Goal, GoalError, MaximizeAccuracy, MinimizeEnergy, parse_goal
from alert.profile import Profile

Task = Literal["min-energy", "min-error"]
TASKS: tuple[str, ...] = ("min-energy", "min-error")
VIOLATION_FRACTION = 0.10
REL_TOL = TOLERANCE  # the goals' tolerance (alert.goals)


@dataclass(frozen=True)
class Constraint:
    """One constraint setting of a grid: a deadline plus an accuracy goal (min-energy) or a power
    budget (min-error).

    This record names a goal in grids, labels and ``results.json``; what it means (what a miss is,
    what the objective is, what the controller is asked) is its goal's: ``goal()`` builds the
    ``alert.goals`` goal, and ``Constraint.of`` the record of a goal, so the controller, the
    oracles and the evaluation share one vocabulary.
    """

    task: Task
    deadline: float
    accuracy: float | None = None       # Q_goal, min-energy task
    power_budget: float | None = None   # P_goal in W, min-error task: E_goal = P_goal · T_goal

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"constraint task {self.task!r}: use one of {TASKS}")
        if not self.deadline > 0:
            raise ValueError(f"constraint deadline {self.deadline!r} must be > 0 seconds")
        if self.task == "min-energy" and self.accuracy is None:
            raise ValueError("a min-energy constraint needs an accuracy goal (accuracy=...)")
        if self.task == "min-error" and self.power_budget is None:
            raise ValueError("a min-error constraint needs a power budget in W (power_budget=...)")
        self.goal()  # the goal validates the values (accuracy a fraction, budget > 0)

    def goal(self, pr_th: float | None = None) -> Goal:
        """The controller's goal for this setting (with ``pr_th``: its Eq. 10/11 form)."""
        if self.task == "min-energy":
            assert self.accuracy is not None
            return MinimizeEnergy(self.deadline, self.accuracy, pr_th=pr_th)
        return MaximizeAccuracy(self.deadline, power=self.power_budget, pr_th=pr_th)

    @classmethod
    def of(cls, goal: Goal, name: str | None = None) -> Constraint:
        """The setting of ``goal``: a min-energy goal, or a max-accuracy goal with a power or an
        energy budget (E becomes P = E / T). A clear ``GoalError`` for another goal (``name``: how
        the message names the goal, e.g. the text it was parsed from)."""
        who = goal if name is None else name
        if isinstance(goal, MinimizeEnergy):
            return cls("min-energy", goal.deadline, accuracy=goal.accuracy)
        if isinstance(goal, MaximizeAccuracy):
            if goal.power is not None:
                return cls("min-error", goal.deadline, power_budget=goal.power)
            if goal.energy is not None:
                return cls("min-error", goal.deadline, power_budget=goal.energy / goal.deadline)
            raise GoalError(f"goal {who}: give power=W or energy=J for the min-error task")
        raise GoalError(f"goal {who}: the evaluation handles min-energy and max-accuracy (min-error) goals")

    def with_deadline(self, deadline: float) -> Constraint:
        """The same goals with another deadline (the power budget stays a power)."""
        return replace(self, deadline=deadline)

    @property
    def energy_budget(self) -> float | None:
        return None if self.power_budget is None else self.power_budget * self.deadline

    def label(self) -> str:
        g = f"Q>={self.accuracy:.3f}" if self.task == "min-energy" else f"P<={self.power_budget:.3g}W"
        return f"T={self.deadline * 1e3:.4g}ms {g}"


def constraint_from_goal(text: str) -> Constraint:
    """The evaluation constraint of a goal string (``min-energy:...`` or ``max-accuracy:...`` with a
    power or energy budget); a clear ``ValueError`` (a ``GoalError``) otherwise."""
    return Constraint.of(parse_goal(text), name=repr(text))


def misses(d: Delivered | None, c: Constraint, accuracy: np.ndarray | None = None,
           energy: np.ndarray | None = None, late: np.ndarray | None = None) -> np.ndarray:
    """Boolean per input (any shape): the input misses one of the constraints of ``c``
    (``Goal.misses``: no output by the deadline, or a constraint missed)."""
    acc = d.accuracy if d is not None else accuracy
    en = d.energy if d is not None else energy
    lt = d.late if d is not None else late
    return c.goal().misses(np.asarray(acc), np.asarray(en), np.asarray(lt))


def objective(c: Constraint, accuracy: np.ndarray, energy: np.ndarray, axis: int = 0) -> np.ndarray:
    """The task's objective (smaller is better, ``Goal.cost``): mean energy, or error rate 1 − mean accuracy."""
    return c.goal().cost(accuracy, energy, axis=axis)


def violated(miss: np.ndarray, axis: int = 0) -> np.ndarray:
    """The violation rule: more than 10 % of inputs miss."""
    return np.mean(miss, axis=axis) > VIOLATION_FRACTION


@dataclass(frozen=True)
class SettingResult:
    """One scheme on one constraint setting."""

    objective: float
    miss_rate: float
    violated: bool


def evaluate(d: Delivered, c: Constraint) -> SettingResult:
    m = misses(d, c)
    return SettingResult(float(objective(c, d.accuracy, d.energy)), float(m.mean()), bool(m.mean() > VIOLATION_FRACTION))


@dataclass(frozen=True)
class CellSummary:
    """A scheme's cell result: mean normalised objective over usable settings and violation counts."""

    normalized: float          # NaN when no setting is usable
    violated: int              # settings this scheme violates (among those OracleStatic meets)
    settings: int              # settings in the grid
    baseline_violated: int     # settings OracleStatic itself violates (reported apart)
    per_setting: tuple[float, ...]  # normalised objective per setting (NaN where excluded)
    raw: tuple[float, ...] = ()     # normalised objective per setting, violated ones included


def normalise(obj: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Objective over the baseline's, per setting (a zero baseline: 1 if the objective is 0 too, else inf)."""
    obj, base = np.asarray(obj, dtype=float), np.asarray(base, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(base > 0, obj / base, np.where(obj > 0, np.inf, 1.0))


def summarise(results: Sequence[SettingResult], baseline: Sequence[SettingResult]) -> CellSummary:
    """Normalise to OracleStatic and average over settings that neither the scheme nor the baseline violates."""
    obj = np.array([r.objective for r in results])
    viol = np.array([r.violated for r in results])
    base = np.array([r.objective for r in baseline])
    bviol = np.array([r.violated for r in baseline])
    norm = normalise(obj, base)
    usable = ~viol & ~bviol
    per = np.where(usable, norm, np.nan)
    mean = float(np.mean(norm[usable])) if usable.any() else float("nan")
    return CellSummary(mean, int((viol & ~bviol).sum()), len(results), int(bviol.sum()), tuple(per.tolist()),
                       tuple(norm.tolist()))


@dataclass(frozen=True)
class FairSummary:
    """A scheme's cell result under the fair metrics (beside the paper's :class:`CellSummary`).

    ``common_normalized``: mean normalised objective over the ``common_settings``, the settings
    that every compared scheme and OracleStatic meet (NaN when there are none). ``met`` /
    ``met_share``: settings this scheme does not violate, and their share of all settings.
    ``mean_miss_rate``: the share of inputs missing a constraint, averaged over all settings.
    ``strict_normalized``: mean of the objective over the strict baseline's (OracleStatic_strict)
    on the settings this scheme meets and where the strict baseline meets every input
    (``strict_settings`` of them; NaN when none)."""

    common_normalized: float
    common_settings: int
    met: int
    met_share: float
    mean_miss_rate: float
    strict_normalized: float = float("nan")
    strict_settings: int = 0


def common_settings(results: Mapping[str, Sequence[SettingResult]], compared: Iterable[str]) -> np.ndarray:
    """Boolean per setting: no scheme of ``compared`` (those present in ``results``) violates it."""
    names = [n for n in compared if n in results]
    if not names:
        raise ValueError("common_settings: none of the compared schemes has results")
    return ~np.any([[r.violated for r in results[n]] for n in names], axis=0)


def fair_summaries(results: Mapping[str, Sequence[SettingResult]], baseline: str, compared: Iterable[str],
                   strict: str | None = None) -> dict[str, FairSummary]:
    """The fair metrics of every scheme in ``results`` (see :class:`FairSummary`): normalised to
    ``baseline``, common settings of ``compared`` plus the baseline, second normaliser ``strict``."""
    base = np.array([r.objective for r in results[baseline]])
    common = common_settings(results, [*compared, baseline])
    strict_ok: np.ndarray | None = None
    strict_obj: np.ndarray | None = None
    if strict is not None and strict in results:
        strict_obj = np.array([r.objective for r in results[strict]])
        strict_ok = np.array([r.miss_rate == 0.0 for r in results[strict]])
    out: dict[str, FairSummary] = {}
    for name, rs in results.items():
        obj = np.array([r.objective for r in rs])
        viol = np.array([r.violated for r in rs])
        norm = normalise(obj, base)
        cmean = float(np.mean(norm[common])) if common.any() else float("nan")
        s_mean, s_n = float("nan"), 0
        if strict_ok is not None and strict_obj is not None:
            use = strict_ok & ~viol
            s_n = int(use.sum())
            if s_n:
                s_mean = float(np.mean(normalise(obj, strict_obj)[use]))
        out[name] = FairSummary(cmean, int(common.sum()), int((~viol).sum()), float(np.mean(~viol)),
                                float(np.mean([r.miss_rate for r in rs])), s_mean, s_n)
    return out


def harmonic_mean(values: Sequence[float]) -> float:
    """Harmonic mean of the finite, positive values (NaN when there are none)."""
    v = np.asarray([x for x in values if np.isfinite(x) and x > 0], dtype=float)
    return float(len(v) / np.sum(1.0 / v)) if v.size else float("nan")


# ============================================================================ grids (Table 3)
def reference_latency(profile: Profile) -> float:
    """Mean latency of the largest anytime model (its last stage) at the default (highest) setting.

    Table 3: deadlines span 0.4×–2× this value. Without an anytime model, the slowest traditional
    model is used instead.
    """
    j = int(np.argmax(profile.setting_values))
    if profile.is_anytime.any():
        rows = np.flatnonzero(profile.is_anytime)
        return float(profile.t_prof[rows, j].max())
    return float(profile.t_prof[:, j].max())


def grid(profile: Profile, task: Task, n_deadlines: int = 8, n_goals: int = 5,
         lo: float = 0.4, hi: float = 2.0) -> list[Constraint]:
    """A Table-3 constraint grid: ``n_deadlines`` deadlines in [lo, hi] × reference latency times
    ``n_goals`` accuracy goals (min-energy: evenly over the range of candidate accuracies) or power
    budgets (min-error: evenly over the feasible power range, from the lowest setting's idle power
    halfway to the lowest inference power, up to the highest inference power)."""
    ref = reference_latency(profile)
    deadlines = ref * np.linspace(lo, hi, n_deadlines)
    out: list[Constraint] = []
    if task == "min-energy":
        q = np.unique(profile.q)
        goals = np.linspace(q.min(), q.max(), n_goals)
        for T in deadlines:
            out += [Constraint("min-energy", float(T), accuracy=float(g)) for g in goals]
    elif task == "min-error":
        p_lo = 0.5 * (profile.idle_power.min() + profile.power.min())
        p_hi = float(profile.power.max())
        for T in deadlines:
            out += [Constraint("min-error", float(T), power_budget=float(P))
                    for P in np.linspace(p_lo, p_hi, n_goals)]
    else:
        raise ValueError(f"task {task!r}: use one of {TASKS}")
    return out


BudgetGrid = Literal["profile", "trace"]
BUDGET_GRIDS: tuple[str, ...] = ("profile", "trace")


def resolve_budget_grid(budgets: str, recorded: bool) -> BudgetGrid:
    """The budget grid ``budgets`` names for a trace: ``"auto"`` is ``"trace"`` for a recorded
    platform's trace (its power may depart from the quiet profile) and ``"profile"`` for a
    simulated one (Table 3); ``"profile"`` and ``"trace"`` name themselves."""
    if budgets == "auto":
        return "trace" if recorded else "profile"
    if budgets not in BUDGET_GRIDS:
        raise ValueError(f"budget grid {budgets!r}: use auto or one of {BUDGET_GRIDS}")
    return cast(BudgetGrid, budgets)


def reachable_power_budgets(trace: Any, deadline: float, n_goals: int) -> np.ndarray:
    """``n_goals`` power budgets (W) spanning what the configurations of ``trace`` actually reach
    at ``deadline``: with e90[c, j] the energy of configuration (c, j) that 90 % of the inputs'
    periods stay within (replay semantics), and only the configurations that are on time for at
    least 90 % of the inputs (all of them when none is), from min e90 (the least budget some
    configuration keeps) to max e90 (above it the budget binds none of them), divided by T."""
    from alert.evaluation.replay import outcomes

    out = outcomes(trace, deadline)
    e90 = np.quantile(out.energy, 1.0 - VIOLATION_FRACTION, axis=0, method="higher")   # (C, L)
    on_time = out.late.mean(axis=0) <= VIOLATION_FRACTION
    pool = e90[on_time] if on_time.any() else e90.ravel()
    return np.linspace(float(pool.min()), float(pool.max()), n_goals) / float(deadline)


def trace_grid(trace: Any, task: Task, n_deadlines: int = 8, n_goals: int = 5, lo: float = 0.4, hi: float = 2.0,
               budgets: BudgetGrid = "trace") -> list[Constraint]:
    """:func:`grid` for one trace. ``budgets="profile"``: exactly :func:`grid` of the trace's
    profile (Table 3). ``budgets="trace"``: the same deadlines and accuracy goals, but the power
    budgets of the min-error task from :func:`reachable_power_budgets` per deadline, so that a
    recording whose power departs from its quiet profile still gets budgets it can meet."""
    if budgets not in BUDGET_GRIDS:
        raise ValueError(f"budget grid {budgets!r}: use one of {BUDGET_GRIDS}")
    base = grid(trace.profile, task, n_deadlines, n_goals, lo, hi)
    if budgets == "profile" or task != "min-error":
        return base
    out: list[Constraint] = []
    for T in dict.fromkeys(c.deadline for c in base):
        out += [Constraint("min-error", T, power_budget=float(P)) for P in reachable_power_budgets(trace, T, n_goals)]
    return out
