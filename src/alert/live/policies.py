"""What the runtime asks of a policy, and the fixed-configuration policies (the static baselines)."""

from __future__ import annotations

from typing import Any, Protocol


class Policy(Protocol):
    """What the runtime needs from a controller: ``decide``/``observe`` and a ``goal`` and ``profile``."""

    goal: Any
    profile: Any

    def decide(self) -> Any: ...

    def set_goal(self, goal: Any) -> None: ...

    def observe(self, latency: float, energy: float | None = None, idle_power: float | None = None,
                stage: int | None = None, period: float | None = None, elapsed: float | None = None) -> None: ...


class StaticPolicy:
    """A fixed configuration with the controller's interface (the static baselines)."""

    def __init__(self, controller: Any, model: str, stage: int | None, setting: str) -> None:
        self.ctl = controller
        self.profile, self.goal = controller.profile, controller.goal
        _check_configuration(self.profile, model, stage, setting)
        self.row = self.profile.candidate_index(model, stage)
        self.col = self.profile.setting_index(setting)

    @classmethod
    def best_quiet(cls, controller: Any) -> StaticPolicy:
        """The configuration the quiet profile says is best for the goal: ``Static_profile``
        (:func:`alert.static.best_by_profile`, the definition the evaluation replays too)."""
        from alert.static import best_by_profile

        p = controller.profile
        row, j = best_by_profile(p, controller.goal)
        cand = p.candidates[row]
        return cls(controller, cand.model, cand.stage, p.settings[j].name)

    def set_goal(self, goal: Any) -> None:
        """Change the goal (its deadline and pr_th shape the estimates logged with each decision)."""
        self.goal = goal
        self.ctl.set_goal(goal)

    def decide(self) -> Any:
        from alert.controller import Decision

        p, goal = self.profile, self.goal
        est = self.ctl.estimates(goal.deadline)
        c, j = self.row, self.col
        cand, st = p.candidates[c], p.settings[j]
        pr, acc = est.at(c, j)
        return Decision(c, cand.model, cand.stage, j, st.name, st.value, goal.deadline, float(est.latency[c, j]),
                        pr, acc, float(est.energy[c, j]), {}, ())

    def observe(self, latency: float, energy: float | None = None, idle_power: float | None = None,
                stage: int | None = None, period: float | None = None, elapsed: float | None = None) -> None:
        pass


def _check_configuration(p: Any, model: str, stage: int | None, setting: str) -> None:
    """``MODEL[@STAGE]:SETTING`` (``alert run --policy``) names a candidate and a setting of
    profile ``p``; the error lists what the profile has."""
    spec = f"{model}{'' if stage is None else f'@{stage}'}:{setting}"
    fix = (f"--policy MODEL[@STAGE]:SETTING with a model and setting of the profile (SETTING by name), e.g. "
           f"{p.candidates[0].label}:{p.settings[0].name}")
    where = f"--policy {spec!r}: profile {p.name!r}"
    m = next((m for m in p.models if m.name == model), None)
    if m is None:
        raise ValueError(f"{where} has no model {model!r} (its models: {', '.join(m.name for m in p.models)}). "
                         f"Fix: {fix}")
    if stage is not None and m.kind != "anytime":
        raise ValueError(f"{where}: model {model!r} is traditional, it has no @STAGE. Fix: --policy {model}:SETTING")
    if stage is not None and not 1 <= stage <= m.n_stages:
        raise ValueError(f"{where}: anytime model {model!r} has stages 1..{m.n_stages}, not {stage}. Fix: "
                         f"--policy {model}@STAGE:SETTING with STAGE in 1..{m.n_stages} (no @STAGE: the last)")
    names = [s.name for s in p.settings]
    if setting not in names:
        raise ValueError(f"{where} has no setting {setting!r} (its settings: {', '.join(names)}). Fix: {fix}")
