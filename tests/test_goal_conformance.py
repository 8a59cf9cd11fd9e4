"""Goals own their constraints and objective: a goal defined and registered in this file alone
works with the parser, the controller and the fallback; a constraint a goal names but does not
implement is an error, never ignored; the evaluation's settings are goals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from alert import Controller, ControllerConfig, MaximizeAccuracy, MinimizeEnergy, Profile, estimate
from alert import goals as goals_mod
from alert.evaluation.metrics import Constraint, constraint_from_goal
from alert.goals import Goal, GoalError, parse_goal, register_goal
from alert.select import fallback_order, select
from profile_factory import gaussian, make_profile_dict


@dataclass(frozen=True)
class CoolAccuracy(Goal):
    """Maximise q̂ under the deadline while drawing at most ``watts`` while inferring."""

    deadline: float
    watts: float
    pr_th = None

    objective = "accuracy"
    constraints = ("latency", "power")

    def masks(self, profile, est, anytime_deadline="stop"):
        return {"latency": est.latency <= est.deadline, "power": profile.power <= self.watts}

    def score(self, name, profile, est):
        return profile.power if name == "power" else super().score(name, profile, est)


@pytest.fixture
def prof():
    d = make_profile_dict()
    d["models"][0]["power"] = [9.0, 16.0]   # small
    d["models"][1]["power"] = [10.0, 19.0]  # big
    d["models"][2]["power"] = [9.5, 18.0]   # any
    return Profile.from_dict(d)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setattr(goals_mod, "GOALS", dict(goals_mod.GOALS))
    register_goal("cool", CoolAccuracy)


def brute(prof, est, goal):
    best = None
    for c in range(prof.shape[0]):
        for j in range(prof.shape[1]):
            if est.latency[c, j] <= goal.deadline and prof.power[c, j] <= goal.watts:
                if best is None or est.accuracy[c, j] > est.accuracy[best] + 1e-12:
                    best = (c, j)
    return best


@pytest.mark.parametrize("watts,mu", [(15.0, 1.0), (18.5, 1.0), (18.5, 1.7), (100.0, 1.0)])
def test_a_goal_defined_here_drives_the_controller(prof, registered, watts, mu):
    goal = parse_goal(f"cool:deadline=0.07,watts={watts}")
    assert goal == CoolAccuracy(0.07, watts)
    ctl = Controller(prof, goal, ControllerConfig(overhead=0.0))
    ctl.estimator.assume(mu, 0.05)
    d = ctl.decide()
    est = ctl.estimates()
    want = brute(prof, est, goal)
    assert want is not None and (d.candidate, d.setting) == want
    assert d.goals_met == {"latency": True, "power": True} and d.gave_up == ()
    ctl.observe(latency=0.03)  # the loop goes on with it


def test_the_fallback_walks_a_constraint_the_priority_does_not_name(prof):
    goal = CoolAccuracy(0.07, 1.0)  # no setting draws under 1 W
    assert fallback_order(goal) == ("latency", "power")
    assert fallback_order(goal, ("energy", "accuracy", "latency")) == ("latency", "power")
    est = estimate(prof, gaussian(1.0, 0.05), 0.2, goal.deadline)
    sel = select(prof, est, goal)
    assert sel.gave_up == ("power",) and sel.met == {"latency": True, "power": False}
    on_time = est.latency <= goal.deadline
    least = prof.power[on_time].min()
    close = on_time & (prof.power <= least * (1 + 1e-9))       # kept: on time, the least power
    assert close[sel.candidate, sel.setting]
    assert est.accuracy[sel.candidate, sel.setting] == est.accuracy[close].max()


@dataclass(frozen=True)
class Forgetful(Goal):
    """Names a constraint it does not implement."""

    deadline: float = 0.1
    pr_th = None
    objective = "energy"
    constraints = ("latency", "temperature")

    def masks(self, profile, est, anytime_deadline="stop"):
        return {"latency": est.latency <= est.deadline}


@dataclass(frozen=True)
class Unscored(Goal):
    """Implements a constraint's mask but not its score."""

    deadline: float = 0.1
    pr_th = None
    objective = "energy"
    constraints = ("latency", "temperature")

    def masks(self, profile, est, anytime_deadline="stop"):
        return {"latency": est.latency <= est.deadline, "temperature": np.zeros(est.latency.shape, bool)}


def test_an_unimplemented_constraint_is_an_error_not_ignored(prof):
    with pytest.raises(GoalError, match=r"masks for \['latency'\] but the goal's constraints are "
                                        r"\['latency', 'temperature'\]"):
        Controller(prof, Forgetful()).decide()
    with pytest.raises(GoalError, match="no score for 'temperature'"):
        Controller(prof, Unscored(), ControllerConfig(fallback="priority")).decide()  # the priority fallback needs its score
    with pytest.raises(GoalError, match="cannot judge 'temperature' in hindsight"):
        Unscored().misses(np.ones(3), np.ones(3), np.zeros(3, bool))
    with pytest.raises(GoalError, match="not a Goal subclass"):
        register_goal("bad", dict)  # type: ignore[arg-type]


def test_evaluation_settings_are_goals():
    c = Constraint("min-energy", 0.1, accuracy=0.8)
    assert c.goal() == MinimizeEnergy(0.1, 0.8) and c.goal(0.9) == MinimizeEnergy(0.1, 0.8, pr_th=0.9)
    assert Constraint.of(c.goal()) == c
    e = Constraint("min-error", 0.1, power_budget=10.0)
    assert e.goal() == MaximizeAccuracy(0.1, power=10.0) and Constraint.of(e.goal()) == e
    assert constraint_from_goal("max-accuracy:deadline=0.1,energy=2") == Constraint("min-error", 0.1, power_budget=20.0)
    with pytest.raises(GoalError, match="give power=W or energy=J"):
        constraint_from_goal("max-accuracy:deadline=0.1")
    with pytest.raises(GoalError, match="min-latency.*the evaluation handles"):
        constraint_from_goal("min-latency:accuracy=0.9")
    with pytest.raises(GoalError, match="accuracy must be a fraction"):
        Constraint("min-energy", 0.1, accuracy=90.0)
    # the miss rule and the objective are the goal's, judged on delivered outcomes
    acc = np.array([0.9, 0.7, 0.95])
    en = np.array([0.5, 0.5, 1.5])
    late = np.array([False, False, True])
    assert c.goal().misses(acc, en, late).tolist() == [False, True, True]
    assert e.goal().misses(acc, en, late).tolist() == [False, False, True]  # E = 1 J
    assert e.goal().misses(acc, np.array([0.5, 1.01, 0.1]), np.zeros(3, bool)).tolist() == [False, True, False]
    assert c.goal().cost(acc, en) == pytest.approx(2.5 / 3)
    assert e.goal().cost(acc, en) == pytest.approx(1 - 2.55 / 3)


def test_goal_numbers_are_real_numbers_numpy_included():
    """numpy scalars are numbers like any other; a bool, a string or an integer too large for a
    float is refused naming the field."""
    import numpy as np

    from alert import MaximizeAccuracy, MinimizeEnergy
    g = MinimizeEnergy(deadline=np.float32(0.1), accuracy=np.float64(0.9))
    assert g.deadline == pytest.approx(0.1) and g.accuracy == 0.9 and type(g.deadline) is float
    assert MaximizeAccuracy(deadline=np.int64(2), power=np.float32(60)).deadline == 2.0
    for kw, field in (({"deadline": 10 ** 400}, "deadline"), ({"deadline": True}, "deadline"),
                      ({"deadline": "0.1"}, "deadline"), ({"deadline": 0.1, "power": 10 ** 400}, "power")):
        with pytest.raises(GoalError, match=field):
            MaximizeAccuracy(**kw)
    with pytest.raises(GoalError, match="accuracy"):
        MinimizeEnergy(deadline=0.1, accuracy=np.float64(90.0))
