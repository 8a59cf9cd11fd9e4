"""User goals: meet two of {latency, accuracy, energy} and optimise the third (paper §3.1).

* ``MinimizeEnergy(deadline, accuracy)`` — Eq. 2 (Eq. 11 with ``pr_th``).
* ``MaximizeAccuracy(deadline, energy=… | power=…)`` — Eq. 1 / Eq. 4 (Eq. 10 with ``pr_th``). An
  average power budget P becomes the energy budget E = P·T of one input period (NOTES.md).
* ``MinimizeLatency(accuracy, energy)`` — the paper's "trivial extension": the fastest
  configuration whose accuracy and per-input inference energy meet the goals.

``Priority`` is the order in which goals are kept when nothing meets all of them (§4: latency,
then accuracy, then energy by default).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, fields
from typing import Literal, cast

Dimension = Literal["latency", "accuracy", "energy"]
DIMENSIONS: tuple[Dimension, ...] = ("latency", "accuracy", "energy")
DEFAULT_PRIORITY: tuple[Dimension, ...] = ("latency", "accuracy", "energy")


class GoalError(ValueError):
    """A goal is malformed (negative deadline, accuracy outside [0, 1], ...)."""


def _positive(name: str, v: float | None, allow_none: bool = False) -> float | None:
    if v is None and allow_none:
        return None
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise GoalError(f"{name} must be a finite number > 0, got {v!r}")
    return float(v)


def _fraction(name: str, v: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0.0 <= v <= 1.0):
        raise GoalError(f"{name} must be a fraction in [0, 1] (e.g. 0.9, not 90), got {v!r}")
    return float(v)


def _pr_th(v: float | None) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0.0 < v < 1.0):
        raise GoalError(f"pr_th must be a probability in (0, 1), got {v!r}")
    return float(v)


@dataclass(frozen=True)
class MinimizeEnergy:
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


    def energy_budget(self) -> float:
        return math.inf


@dataclass(frozen=True)
class MaximizeAccuracy:
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


    def energy_budget(self) -> float:
        """E_goal in joules for one input period."""
        if self.energy is not None:
            return self.energy
        if self.power is not None:
            return self.power * self.deadline
        return math.inf


@dataclass(frozen=True)
class MinimizeLatency:
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


    def energy_budget(self) -> float:
        return math.inf if self.energy is None else self.energy


Goal = MinimizeEnergy | MaximizeAccuracy | MinimizeLatency


def check_priority(priority: tuple[str, ...]) -> tuple[Dimension, ...]:
    """Validate a priority order: a permutation of ('latency', 'accuracy', 'energy')."""
    if sorted(priority) != sorted(DIMENSIONS):
        raise GoalError(f"priority must order all of {DIMENSIONS}, got {priority!r}")
    return tuple(cast(Dimension, d) for d in priority)


def parse_goal(text: str) -> Goal:
    """Parse a goal from the command line, e.g.

    ``min-energy:deadline=0.1,accuracy=0.9``, ``max-accuracy:deadline=0.1,power=20``,
    ``max-accuracy:deadline=0.1,energy=2.5,pr_th=0.9``, ``min-latency:accuracy=0.9,energy=3``.
    """
    kind, _, rest = text.partition(":")
    kw: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, val = part.partition("=")
        if not eq:
            raise GoalError(f"goal {text!r}: expected key=value, got {part!r}")
        try:
            kw[key.strip().replace("-", "_")] = float(val)
        except ValueError:
            raise GoalError(f"goal {text!r}: {key}={val!r} is not a number") from None
    cls = GOAL_KINDS.get(kind.strip())
    if cls is None:
        raise GoalError(f"goal {text!r}: unknown kind {kind.strip()!r}; use one of {', '.join(sorted(GOAL_KINDS))}")
    keys = goal_keys(cls)
    required = [f.name for f in fields(cls) if f.default is MISSING]
    name = kind.strip()
    for key in kw:
        if key not in keys:
            raise GoalError(f"goal {text!r}: unknown key {key!r} for {name}; valid keys: {', '.join(keys)}")
    for key in required:
        if key not in kw:
            raise GoalError(f"goal {text!r}: missing key {key!r} for {name}; valid keys: {', '.join(keys)} "
                            f"(required: {', '.join(required)})")
    return cls(**kw)  # type: ignore[arg-type]


#: goal kinds of :func:`parse_goal` (``min-error`` is another name for ``max-accuracy``)
GOAL_KINDS: dict[str, type[MinimizeEnergy] | type[MaximizeAccuracy] | type[MinimizeLatency]] = {
    "min-energy": MinimizeEnergy, "max-accuracy": MaximizeAccuracy, "min-error": MaximizeAccuracy,
    "min-latency": MinimizeLatency}
_KIND_NAMES = {MinimizeEnergy: "min-energy", MaximizeAccuracy: "max-accuracy", MinimizeLatency: "min-latency"}


def goal_keys(cls: type) -> list[str]:
    """The keys a goal kind takes on the command line, in order (e.g. deadline, accuracy, pr_th)."""
    return [f.name for f in fields(cls)]


def format_goal(goal: Goal) -> str:
    """The goal as :func:`parse_goal` reads it, e.g. ``min-energy:deadline=0.1,accuracy=0.9``;
    unset optional keys are left out and numbers keep every digit (the text parses back to an
    equal goal)."""
    kind = _KIND_NAMES.get(type(goal))
    if kind is None:
        raise GoalError(f"cannot format {goal!r}: not a MinimizeEnergy, MaximizeAccuracy or MinimizeLatency goal")
    parts = [f"{f.name}={_number(getattr(goal, f.name))}" for f in fields(goal) if getattr(goal, f.name) is not None]
    return f"{kind}:{','.join(parts)}"


def _number(v: float) -> str:
    text = repr(float(v))  # the shortest text that reads back to the same float
    return text[:-2] if text.endswith(".0") else text
