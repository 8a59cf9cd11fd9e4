"""User goals: meet two of {latency, accuracy, energy} and optimise the third (paper §3.1).

* ``MinimizeEnergy(deadline, accuracy)`` — Eq. 2 (Eq. 11 with ``pr_th``).
* ``MaximizeAccuracy(deadline, energy=… | power=…)`` — Eq. 1 / Eq. 4 (Eq. 10 with ``pr_th``). An
  average power budget P becomes the energy budget E = P·T of one input period (docs/controller.md,
  "Power budgets").
* ``MinimizeLatency(accuracy, energy)`` — the paper's "trivial extension": the fastest
  configuration whose accuracy and per-input inference energy meet the goals.

A goal owns its constraints and its objective (:class:`Goal`). For the controller it turns the
estimates of every configuration into one feasibility mask per constraint (``masks``) and scores
along each constraint and the objective (``score``: lower is better); ``alert.select`` combines
them without knowing the goal. For the evaluation and the oracles it judges outcomes in hindsight
(``misses``, ``cost``, ``rank``, ``best_effort``). A new goal is a subclass, registered with
``register_goal`` for ``parse_goal`` and ``--goal``.

The constraints of the three goals (all vectorised over candidates × settings):

* latency  — with Pr_th: Pr ≥ Pr_th (Eq. 10/11); by default the expected latency μ·t ≤ T (the
  deadline otherwise acts through Pr and q̂, docs/controller.md "Latency constraint"). t and Pr
  are those of the candidate's stopping stage (``anytime_deadline="stop"``, the paper's t_{i,j}).
  With ``anytime_deadline="first"`` an anytime model is stopped at the deadline with its latest
  output, so it meets the deadline when its *first* stage does (t and Pr of stage 1). With
  ``"free"`` (the robust presets) that holds for MaximizeAccuracy where running on to the
  deadline costs what waiting costs (``Profile.free_run``), and ``"stop"`` elsewhere
  (``Goal.first_output``).
* accuracy — MinimizeEnergy: q̂ ≥ Q_goal by default (the expectation); with Pr_th the chance
  constraint of Eq. 11, q_i ≥ Q_goal and Pr ≥ Pr_th (with ``"first"``: some stage up to the
  stopping one with q_m ≥ Q_goal and Pr_m ≥ Pr_th); MinimizeLatency: q_i ≥ Q_goal.
* energy   — e ≤ E_goal.

``Priority`` is the order in which constraints are kept when nothing meets all of them (§4:
latency, then accuracy, then energy by default).
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, cast

import numpy as np

from alert.filters import as_real

if TYPE_CHECKING:
    from alert.estimate import Estimates
    from alert.profile import Profile

Dimension = Literal["latency", "accuracy", "energy"]
DIMENSIONS: tuple[Dimension, ...] = ("latency", "accuracy", "energy")
DEFAULT_PRIORITY: tuple[Dimension, ...] = ("latency", "accuracy", "energy")
AnytimeDeadline = Literal["stop", "first", "free"]
TOLERANCE = 1e-9  # an accuracy within this of Q_goal meets it; an energy within this share of E_goal


class GoalError(ValueError):
    """A goal is malformed (negative deadline, accuracy outside [0, 1], ...)."""


def _shown(v: object) -> str:
    return repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."


def _positive(name: str, v: float | None, allow_none: bool = False) -> float | None:
    if v is None and allow_none:
        return None
    f = as_real(v)
    if f is None or not math.isfinite(f) or f <= 0:
        raise GoalError(f"{name} must be a finite number > 0, got {_shown(v)}")
    return f


def _fraction(name: str, v: float) -> float:
    f = as_real(v)
    if f is None or not (0.0 <= f <= 1.0):
        raise GoalError(f"{name} must be a fraction in [0, 1] (e.g. 0.9, not 90), got {_shown(v)}")
    return f


def _pr_th(v: float | None) -> float | None:
    if v is None:
        return None
    f = as_real(v)
    if f is None or not (0.0 < f < 1.0):
        raise GoalError(f"pr_th must be a probability in (0, 1), got {_shown(v)}")
    return f


class Goal(ABC):
    """What the user asks for: constraints to meet and an objective to optimise.

    A subclass names its ``constraints`` and its ``objective`` and returns one feasibility mask per
    constraint from ``masks``. ``score`` knows the three dimensions; a goal with another
    constraint or objective overrides it (an unknown name is an error, never ignored), and
    overrides ``missed`` to be judged in hindsight.
    """

    objective: ClassVar[str]
    constraints: ClassVar[tuple[str, ...]]
    deadline: float
    pr_th: float | None

    # ------------------------------------------------------------------ expected (the controller)
    @abstractmethod
    def masks(self, profile: Profile, est: Estimates, anytime_deadline: AnytimeDeadline = "stop"
              ) -> dict[str, np.ndarray]:
        """Boolean (candidates × settings) mask of the configurations meeting each constraint,
        keyed and ordered as ``constraints``."""

    def score(self, name: str, profile: Profile, est: Estimates) -> np.ndarray:
        """Lower is better along ``name`` (a constraint or the objective): expected latency,
        −q̂, or energy. The infeasibility fallback keeps the configurations closest to a
        constraint none meets by this score."""
        if name == "latency":
            return est.latency
        if name == "accuracy":
            return -est.accuracy
        if name == "energy":
            return est.energy
        raise GoalError(f"{type(self).__name__}: no score for {name!r}. Fix: override Goal.score for it")

    def energy_budget(self) -> float:
        """E_goal in joules for one input period (inf: unconstrained)."""
        return math.inf

    def first_output(self, profile: Profile, anytime_deadline: AnytimeDeadline = "stop") -> bool | np.ndarray:
        """Where an anytime candidate meets the deadline when its *first* stage does (t and Pr of
        stage 1) rather than its stopping stage: everywhere with ``anytime_deadline="first"``
        (on a profile with anytime models), nowhere otherwise; a goal may answer per
        configuration with a boolean (candidates × settings) table."""
        return _first(profile, anytime_deadline)

    # ------------------------------------------------------------------ hindsight (the evaluation)
    def missed(self, name: str, accuracy: np.ndarray, energy: np.ndarray, late: np.ndarray) -> np.ndarray:
        """Per input, in hindsight: constraint ``name`` was not met by the delivered outcome."""
        if name == "latency":
            return np.asarray(late, dtype=bool)
        if name == "accuracy":
            return np.asarray(accuracy < self.accuracy_goal() - TOLERANCE)
        if name == "energy":
            return np.asarray(energy > self.energy_budget() * (1 + TOLERANCE))
        raise GoalError(f"{type(self).__name__}: cannot judge {name!r} in hindsight. Fix: override Goal.missed")

    def misses(self, accuracy: np.ndarray, energy: np.ndarray, late: np.ndarray) -> np.ndarray:
        """Per input: it has no output by the deadline or misses a constraint (the evaluation's
        miss rule, docs/evaluation.md "Evaluation conventions")."""
        m = np.asarray(late, dtype=bool).copy()
        for name in self.constraints:
            if name != "latency":
                m |= self.missed(name, accuracy, energy, late)
        return m

    def accuracy_goal(self) -> float:
        """Q_goal (0 when accuracy is not constrained)."""
        return 0.0

    def cost(self, accuracy: np.ndarray, energy: np.ndarray, axis: int = 0) -> np.ndarray:
        """The objective over delivered outcomes (smaller is better): mean energy, or the error
        rate 1 − mean accuracy."""
        if self.objective == "energy":
            return np.mean(energy, axis=axis)
        if self.objective == "accuracy":
            return 1.0 - np.mean(accuracy, axis=axis)
        raise GoalError(f"{type(self).__name__}: the evaluation judges energy and accuracy objectives, "
                        f"not {self.objective!r}")

    def rank(self, accuracy: np.ndarray, energy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-outcome (primary, secondary) keys, lower is better: the objective, then the other
        of energy and accuracy (the oracles' choice among feasible configurations)."""
        if self.objective == "energy":
            return energy, -accuracy
        if self.objective == "accuracy":
            return -accuracy, energy
        raise GoalError(f"{type(self).__name__}: no hindsight rank for objective {self.objective!r}")

    def best_effort(self, accuracy: np.ndarray, energy: np.ndarray, late: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(primary, secondary) keys of the oracles' choice when no configuration meets the goal."""
        raise GoalError(f"{type(self).__name__}: no hindsight best effort. Fix: override Goal.best_effort")


def _latency_mask(goal: Goal, profile: Profile, est: Estimates, first: bool | np.ndarray) -> np.ndarray:
    if isinstance(first, np.ndarray):  # per configuration (Goal.first_output)
        return np.where(first, _latency_mask(goal, profile, est, True), _latency_mask(goal, profile, est, False))
    if goal.pr_th is not None:
        ok = est.pr_at_least(goal.pr_th)
        return profile.at_first_stage(ok) if first else ok
    return expected_within(profile, est, first)


def expected_within(profile: Profile, est: Estimates, first: bool | np.ndarray) -> np.ndarray:
    """The expected latency meets the deadline, μ·t ≤ T: with t the end of the candidate's first
    output where ``first`` holds (``Goal.first_output``), of its stopping stage elsewhere."""
    if isinstance(first, np.ndarray):
        return np.where(first, expected_within(profile, est, True), expected_within(profile, est, False))
    if first:
        return profile.t_first <= est.deadline / est.mean
    return est.latency <= est.deadline


def _energy_mask(goal: Goal, est: Estimates) -> np.ndarray:
    return est.energy <= goal.energy_budget()


def _first(profile: Profile, anytime_deadline: AnytimeDeadline) -> bool:
    return anytime_deadline == "first" and profile.has_anytime


@dataclass(frozen=True)
class MinimizeEnergy(Goal):
    """argmin e s.t. accuracy ≥ ``accuracy`` and the deadline (Eq. 2; Eq. 11 when ``pr_th`` is set)."""

    deadline: float
    accuracy: float
    pr_th: float | None = None

    objective = "energy"
    constraints = ("latency", "accuracy")

    def __post_init__(self) -> None:
        object.__setattr__(self, "deadline", _positive("deadline", self.deadline))
        object.__setattr__(self, "accuracy", _fraction("accuracy", self.accuracy))
        object.__setattr__(self, "pr_th", _pr_th(self.pr_th))

    def masks(self, profile: Profile, est: Estimates, anytime_deadline: AnytimeDeadline = "stop"
              ) -> dict[str, np.ndarray]:
        first = _first(profile, anytime_deadline)
        if self.pr_th is not None:  # Eq. 11's chance constraint: q_i ≥ Q_goal with Pr ≥ Pr_th
            ok = (profile.q[:, None] >= self.accuracy - TOLERANCE) & est.pr_at_least(self.pr_th)
            if first:  # some stage up to the stopping one will do
                ok = profile.any_stage_through(ok)
        else:
            ok = est.accuracy_at_least(self.accuracy - TOLERANCE)
        return {"latency": _latency_mask(self, profile, est, first), "accuracy": ok}

    def accuracy_goal(self) -> float:
        return self.accuracy

    def best_effort(self, accuracy: np.ndarray, energy: np.ndarray, late: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """The highest accuracy among outputs on time, then the least energy."""
        return np.where(late, np.inf, -accuracy), energy


@dataclass(frozen=True)
class MaximizeAccuracy(Goal):
    """argmax q̂ s.t. e ≤ E_goal and the deadline (Eq. 1, 4; Eq. 10 when ``pr_th`` is set).

    Give either ``energy`` (joules per input period) or ``power`` (average watts; E = P·deadline).
    With neither, energy is unconstrained.
    """

    deadline: float
    energy: float | None = None
    power: float | None = None
    pr_th: float | None = None

    objective = "accuracy"
    constraints = ("latency", "energy")

    def __post_init__(self) -> None:
        object.__setattr__(self, "deadline", _positive("deadline", self.deadline))
        object.__setattr__(self, "energy", _positive("energy", self.energy, allow_none=True))
        object.__setattr__(self, "power", _positive("power", self.power, allow_none=True))
        object.__setattr__(self, "pr_th", _pr_th(self.pr_th))
        if self.energy is not None and self.power is not None:
            raise GoalError("give an energy budget or a power budget, not both")

    def masks(self, profile: Profile, est: Estimates, anytime_deadline: AnytimeDeadline = "stop"
              ) -> dict[str, np.ndarray]:
        return {"latency": _latency_mask(self, profile, est, self.first_output(profile, anytime_deadline)),
                "energy": _energy_mask(self, est)}

    def first_output(self, profile: Profile, anytime_deadline: AnytimeDeadline = "stop") -> bool | np.ndarray:
        """With ``"free"``, the configurations whose run to the deadline costs what waiting costs
        (``Profile.free_run``, e.g. a reserved CPU share): an input of this goal misses only when
        it has no output by the deadline (or breaks the budget), and a model stopped there with
        an earlier stage's output spends no more than one that finished early."""
        if anytime_deadline == "free" and profile.has_free_run:
            return profile.free_run
        return _first(profile, anytime_deadline)

    def best_effort(self, accuracy: np.ndarray, energy: np.ndarray, late: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """The least energy, then the highest accuracy."""
        return energy, -accuracy

    def energy_budget(self) -> float:
        """E_goal in joules for one input period."""
        if self.energy is not None:
            return self.energy
        if self.power is not None:
            return self.power * self.deadline
        return math.inf


@dataclass(frozen=True)
class MinimizeLatency(Goal):
    """argmin expected latency s.t. q_i ≥ ``accuracy`` and inference energy ≤ ``energy`` (J per input)."""

    accuracy: float
    energy: float | None = None

    objective = "latency"
    constraints = ("accuracy", "energy")
    deadline = math.inf
    pr_th = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "accuracy", _fraction("accuracy", self.accuracy))
        object.__setattr__(self, "energy", _positive("energy", self.energy, allow_none=True))

    def masks(self, profile: Profile, est: Estimates, anytime_deadline: AnytimeDeadline = "stop"
              ) -> dict[str, np.ndarray]:
        reaches = profile.q[:, None] >= self.accuracy - TOLERANCE
        return {"accuracy": np.broadcast_to(reaches, est.accuracy.shape), "energy": _energy_mask(self, est)}

    def energy_budget(self) -> float:
        return math.inf if self.energy is None else self.energy

    def accuracy_goal(self) -> float:
        return self.accuracy


GOALS: dict[str, type[Goal]] = {"min-energy": MinimizeEnergy, "max-accuracy": MaximizeAccuracy,
                                "min-error": MaximizeAccuracy, "min-latency": MinimizeLatency}


def register_goal(kind: str, cls: type[Goal]) -> None:
    """Make ``kind:key=value,...`` parse to ``cls(**values)`` (``parse_goal``, ``--goal``)."""
    if not (isinstance(cls, type) and issubclass(cls, Goal)):
        raise GoalError(f"goal kind {kind!r}: {cls!r} is not a Goal subclass")
    GOALS[kind] = cls


def check_goal(goal: object) -> Goal:
    """``goal`` when it is a :class:`Goal`; a TypeError saying how to build one otherwise."""
    if not isinstance(goal, Goal):
        raise TypeError(f"goal must be an alert.goals.Goal (MinimizeEnergy, MaximizeAccuracy, MinimizeLatency or "
                        f"a registered subclass), got {type(goal).__name__}. Fix: build one, e.g. "
                        "parse_goal('min-energy:deadline=0.1,accuracy=0.9')")
    return goal


def check_priority(priority: tuple[str, ...]) -> tuple[Dimension, ...]:
    """Validate a priority order: a permutation of ('latency', 'accuracy', 'energy')."""
    if sorted(priority) != sorted(DIMENSIONS):
        shown = repr(priority) if len(repr(priority)) <= 80 else repr(priority)[:77] + "..."
        raise GoalError(f"priority must order all of {DIMENSIONS}, got {shown}. Fix: list each of them once, "
                        "most important first, e.g. latency,accuracy,energy")
    return tuple(cast(Dimension, d) for d in priority)


#: a well-formed goal string of each built-in kind (for the fix of an error)
EXAMPLES = {"min-energy": "min-energy:deadline=0.1,accuracy=0.9",
            "max-accuracy": "max-accuracy:deadline=0.1,power=20 (or energy=2.5)",
            "min-latency": "min-latency:accuracy=0.9,energy=3"}


def parse_goal(text: str) -> Goal:
    """Parse a goal from the command line, e.g.

    ``min-energy:deadline=0.1,accuracy=0.9``, ``max-accuracy:deadline=0.1,power=20``,
    ``max-accuracy:deadline=0.1,energy=2.5,pr_th=0.9``, ``min-latency:accuracy=0.9,energy=3``.
    """
    if not isinstance(text, str):
        raise GoalError(f"goal must be a string like 'min-energy:deadline=0.1,accuracy=0.9', got {type(text).__name__}")
    if len(text) > 1000:
        raise GoalError(f"goal of {len(text)} characters: too long for a goal. Fix: e.g. min-energy:deadline=0.1,accuracy=0.9")
    kind, _, rest = text.partition(":")
    kw: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, val = part.partition("=")
        if not eq:
            raise GoalError(f"goal {text!r}: expected key=value, got {part!r}")
        k = key.strip().replace("-", "_")
        if k in kw:
            raise GoalError(f"goal {text!r}: {key.strip()} is given twice. Fix: give every key once")
        try:
            kw[k] = float(val)
        except ValueError:
            raise GoalError(f"goal {text!r}: {key}={val!r} is not a number") from None
    name = kind.strip()
    cls = GOALS.get(name)
    if cls is None:
        raise GoalError(f"goal {text!r}: unknown kind {name!r}; use one of {', '.join(sorted(GOALS))}")
    keys, required = goal_keys(cls)
    for key in kw:
        if key not in keys:
            raise GoalError(f"goal {text!r}: unknown key {key!r} for {name}; valid keys: {', '.join(keys)}")
    for key in required:
        if key not in kw:
            raise GoalError(f"goal {text!r}: missing key {key!r} for {name}; valid keys: {', '.join(keys)} "
                            f"(required: {', '.join(required)})")
    try:
        return cls(**kw)
    except GoalError as e:  # a value out of its range (the goal's own check)
        raise GoalError(f"goal {text!r}: {e}. Fix: correct the goal, e.g. "
                        f"{EXAMPLES.get(name, 'min-energy:deadline=0.1,accuracy=0.9')}") from None
    except TypeError as e:  # a registered goal whose constructor rejects the values
        raise GoalError(f"goal {text!r}: {e}") from None


def goal_keys(cls: type) -> tuple[list[str], list[str]]:
    """The keys a goal kind takes on the command line, in order (e.g. deadline, accuracy, pr_th),
    and those of them it requires."""
    params = [p for p in inspect.signature(cls).parameters.values()
              if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return [p.name for p in params], [p.name for p in params if p.default is p.empty]


def format_goal(goal: Goal) -> str:
    """The goal as :func:`parse_goal` reads it, e.g. ``min-energy:deadline=0.1,accuracy=0.9``;
    unset optional keys are left out and numbers keep every digit (the text parses back to an
    equal goal)."""
    kind = next((k for k, c in GOALS.items() if c is type(goal)), None)
    if kind is None:
        raise GoalError(f"cannot format {goal!r}: its type is not registered (register_goal)")
    keys, _ = goal_keys(type(goal))
    parts = [f"{k}={_number(getattr(goal, k))}" for k in keys if getattr(goal, k, None) is not None]
    return f"{kind}:{','.join(parts)}"


def _number(v: float) -> str:
    text = repr(float(v))  # the shortest text that reads back to the same float
    return text[:-2] if text.endswith(".0") else text
