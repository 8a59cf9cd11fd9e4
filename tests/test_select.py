"""Selection (Eq. 1, 2, 10, 11) and the priority fallback for infeasible goals (§4)."""

from __future__ import annotations

import numpy as np
import pytest

from alert import MaximizeAccuracy, MinimizeEnergy, MinimizeLatency, Profile, estimate, select
from alert.goals import GoalError, check_priority, parse_goal
from profile_factory import gaussian, make_profile_dict


@pytest.fixture
def prof():
    return Profile.from_dict(make_profile_dict())


def brute_force(prof, est, goal, anytime_deadline="stop"):
    """Reference: loop over every configuration."""
    best, best_key = None, None
    for c in range(prof.shape[0]):
        stages = [r for r in range(c + 1) if prof.cand_model[r] == prof.cand_model[c]]  # stage 1 .. c
        if anytime_deadline == "stop":
            stages = [c]  # the paper's t_ij: the stopping stage alone
        for j in range(prof.shape[1]):
            ok = True
            first = stages[0]  # "first": an anytime model delivers by the deadline once stage 1 is done
            if goal.pr_th is not None:
                ok &= est.pr[first, j] >= goal.pr_th
            else:
                ok &= est.latency[first, j] <= est.deadline
            if isinstance(goal, MinimizeEnergy):
                if goal.pr_th:
                    ok &= any(prof.q[r] >= goal.accuracy - 1e-9 and est.pr[r, j] >= goal.pr_th for r in stages)
                else:
                    ok &= est.accuracy[c, j] >= goal.accuracy - 1e-9
                key = est.energy[c, j]
            else:
                ok &= est.energy[c, j] <= goal.energy_budget()
                key = -est.accuracy[c, j]
            if ok and (best_key is None or key < best_key - 1e-9):
                best, best_key = (c, j), key
    return best


@pytest.mark.parametrize("goal", [
    MinimizeEnergy(0.12, 0.6), MinimizeEnergy(0.12, 0.8, pr_th=0.9), MinimizeEnergy(0.2, 0.84),
    MaximizeAccuracy(0.12, energy=1.0), MaximizeAccuracy(0.06, power=15), MaximizeAccuracy(0.1, energy=2, pr_th=0.9),
])
@pytest.mark.parametrize("mu,sigma", [(1.0, 0.05), (1.0, 0.32), (1.6, 0.5)])
@pytest.mark.parametrize("rule", ["stop", "first"])
def test_vectorised_selection_matches_brute_force(prof, goal, mu, sigma, rule):
    est = estimate(prof, gaussian(mu, sigma), 0.2, goal.deadline, goal.pr_th)
    ref = brute_force(prof, est, goal, rule)
    sel = select(prof, est, goal, anytime_deadline=rule)
    if ref is None:
        assert sel.gave_up
    else:
        assert not sel.gave_up and all(sel.met.values())
        assert (sel.candidate, sel.setting) == ref


def test_infeasible_accuracy_keeps_deadline_and_takes_best_accuracy(prof):
    goal = MinimizeEnergy(deadline=0.05, accuracy=0.99)  # no model reaches 0.99
    est = estimate(prof, gaussian(1.0, 0.05), 0.2, 0.05)
    sel = select(prof, est, goal)
    assert sel.gave_up == ("accuracy",)
    assert sel.met == {"latency": True, "accuracy": False}
    meets = est.latency <= 0.05
    assert est.accuracy[sel.candidate, sel.setting] == pytest.approx(est.accuracy[meets].max())
    # with the "first" rule an anytime model meets the deadline once its first output does
    sel = select(prof, est, goal, anytime_deadline="first")
    meets = est.latency[prof.group_start] <= 0.05
    assert est.accuracy[sel.candidate, sel.setting] == pytest.approx(est.accuracy[meets].max())


def test_infeasible_deadline_takes_fastest(prof):
    goal = MinimizeEnergy(deadline=0.001, accuracy=0.9)
    est = estimate(prof, gaussian(1.0, 0.3), 0.2, 0.001)
    sel = select(prof, est, goal)
    assert "latency" in sel.gave_up
    assert est.latency[sel.candidate, sel.setting] == pytest.approx(est.latency.min())


def test_priority_order_is_configurable(prof):
    # Energy budget too small for anything that meets the deadline.
    goal = MaximizeAccuracy(deadline=0.03, energy=0.05)
    est = estimate(prof, gaussian(1.0, 0.05), 0.2, 0.03)
    keep_latency = select(prof, est, goal, ("latency", "accuracy", "energy"))
    keep_energy = select(prof, est, goal, ("energy", "latency", "accuracy"))
    assert keep_latency.met["latency"] and not keep_latency.met["energy"]
    assert keep_latency.gave_up == ("energy",)
    assert est.energy[keep_energy.candidate, keep_energy.setting] == pytest.approx(est.energy.min())


def test_min_latency_goal(prof):
    goal = MinimizeLatency(accuracy=0.85, energy=0.9)
    est = estimate(prof, gaussian(1.0, 0.3), 0.2, goal.deadline)
    sel = select(prof, est, goal)
    ok = (prof.q[:, None] >= 0.85) & (est.energy <= 0.9)
    assert all(sel.met.values())
    assert est.latency[sel.candidate, sel.setting] == pytest.approx(est.latency[ok].min())


def test_goal_validation_and_parsing():
    with pytest.raises(GoalError):
        MinimizeEnergy(deadline=-1, accuracy=0.9)
    with pytest.raises(GoalError, match="fraction"):
        MinimizeEnergy(deadline=0.1, accuracy=90)
    with pytest.raises(GoalError):
        MaximizeAccuracy(0.1, energy=1, power=2)
    with pytest.raises(GoalError):
        MinimizeEnergy(0.1, 0.9, pr_th=1.0)
    with pytest.raises(GoalError):
        check_priority(("latency", "energy"))
    assert parse_goal("min-energy:deadline=0.1,accuracy=0.9") == MinimizeEnergy(0.1, 0.9)
    assert parse_goal("max-accuracy:deadline=0.1,power=20,pr_th=0.9") == MaximizeAccuracy(0.1, power=20, pr_th=0.9)
    assert parse_goal("min-latency:accuracy=0.8,energy=2") == MinimizeLatency(0.8, 2)
    assert MaximizeAccuracy(0.1, power=20).energy_budget() == pytest.approx(2.0)
    for bad in ("fastest:deadline=1", "min-energy:deadline", "min-energy:deadline=x", "min-energy:speed=1"):
        with pytest.raises(GoalError):
            parse_goal(bad)


def test_selection_is_deterministic_on_ties():
    # Two identical settings: the objective ties, energy breaks it, then the first index.
    d = make_profile_dict(settings=[{"name": "a", "value": 10.0, "unit": "W", "idle_power": 1.0},
                                    {"name": "b", "value": 10.0, "unit": "W", "idle_power": 1.0}],
                          models=[{"name": "m", "accuracy": 0.9, "latency": [0.01, 0.01]}])
    prof = Profile.from_dict(d)
    est = estimate(prof, gaussian(1.0, 0.3), 0.2, 1.0)
    assert select(prof, est, MaximizeAccuracy(1.0)).setting == 0
    assert np.all(np.isfinite(est.energy))
