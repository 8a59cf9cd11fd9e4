"""Selection options beyond the paper: the chance constraint, the expected-latency constraint and
the safe fallback (``alert.select``), each on hand-built estimates whose answer is worked out by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from alert import Controller, ControllerConfig, MaximizeAccuracy, MinimizeEnergy, Profile, select
from alert.estimate import Estimates
from profile_factory import make_profile_dict

# candidates: small (q 0.8), big (0.9), any@1 (0.7), any@2 (0.85), any@3 (0.92); settings 10 W, 20 W
PROF = Profile.from_dict(make_profile_dict())


def est(pr, latency=None, accuracy=None, energy=None, deadline=0.05, mean=1.0):
    pr = np.asarray(pr, dtype=float)
    lat = np.full(pr.shape, 0.01) if latency is None else np.asarray(latency, dtype=float)
    acc = (PROF.q_fail + (PROF.q[:, None] - PROF.q_fail) * pr) if accuracy is None else np.asarray(accuracy)
    en = np.arange(pr.size, dtype=float).reshape(pr.shape) + 1.0 if energy is None else np.asarray(energy, float)
    return Estimates(lat, pr, acc, en, deadline, mean)


def test_paper_latency_constraint_is_kept_beside_a_threshold():
    # Eq. 10/11 keep t_ij <= T beside Pr >= Pr_th. Cell (small, 10 W) has Pr 0.95 but an expected
    # latency past the deadline; with expected_latency=False only Pr counts.
    pr = [[0.95, 0.5], [0.2, 0.2], [0.2, 0.2], [0.2, 0.2], [0.2, 0.2]]
    lat = np.full((5, 2), 0.01)
    lat[0, 0] = 0.06
    e = est(pr, latency=lat)
    goal = MaximizeAccuracy(deadline=0.05)
    assert select(PROF, e, goal, pr_th=0.9).gave_up == ("latency",)  # no cell meets both
    sel = select(PROF, e, goal, pr_th=0.9, expected_latency=False)
    assert (sel.candidate, sel.setting, sel.gave_up) == (0, 0, ())


def test_chance_constraint_for_min_energy_needs_q_i_and_pr():
    # Q_goal 0.84: only big (0.9), any@2 (0.85) and any@3 (0.92) reach it. With Pr_th 0.9 the cells
    # with Pr >= 0.9 among those are (big, 20 W) [energy 4] and (any@2, 20 W) [energy 8]
    # (energies are 1..10 in row-major order): the cheapest is (big, 20 W). The expectation
    # constraint q̂ >= 0.84 holds nowhere: q̂(big, 20 W) = 0.1 + 0.8·0.91 = 0.828, q̂(any@2, 20 W)
    # = 0.1 + 0.75·0.95 = 0.8125, small 0.8; it gives accuracy up and keeps the best q̂, 0.828.
    pr = [[1.0, 1.0], [0.5, 0.91], [1.0, 1.0], [0.3, 0.95], [0.1, 0.5]]
    e = est(pr)
    goal = MinimizeEnergy(deadline=0.05, accuracy=0.84)
    sel = select(PROF, e, goal, pr_th=0.9)
    assert (sel.candidate, sel.setting, sel.gave_up) == (1, 1, ())
    expectation = select(PROF, e, goal)
    assert (expectation.candidate, expectation.setting, expectation.gave_up) == (1, 1, ("accuracy",))
    assert e.accuracy[1, 1] == pytest.approx(0.828)


def test_safe_fallback_keeps_the_accuracy_goal_and_takes_the_most_probable():
    # No cell reaches Pr >= 0.9. The priority fallback gives latency up and keeps the least
    # expected latency, (any@1, 20 W) at 2 ms, then gives accuracy up too (q 0.7 < 0.84). The
    # safe fallback keeps q_i >= 0.84 (big, any@2, any@3) and takes the largest Pr among them:
    # (any@2, 10 W) with 0.8.
    pr = [[0.85, 0.85], [0.5, 0.6], [0.88, 0.88], [0.8, 0.7], [0.1, 0.2]]
    lat = np.array([[0.01, 0.005], [0.02, 0.01], [0.004, 0.002], [0.012, 0.006], [0.03, 0.015]])
    e = est(pr, latency=lat)
    goal = MinimizeEnergy(deadline=0.05, accuracy=0.84)
    prio = select(PROF, e, goal, pr_th=0.9)
    assert prio.gave_up[0] == "latency" and PROF.q[prio.candidate] < 0.84  # accuracy given up first
    safe = select(PROF, e, goal, pr_th=0.9, fallback="safe")
    assert (safe.candidate, safe.setting) == (3, 0)
    assert safe.met == {"latency": False, "accuracy": False} and set(safe.gave_up) == {"latency", "accuracy"}


def test_safe_fallback_ties_go_to_the_objective():
    # Two cells reach q_i >= 0.84 with the same best Pr 0.7: (big, 10 W) energy 3 and
    # (any@3, 20 W) energy 10: the objective (least energy) takes (big, 10 W).
    pr = [[0.85, 0.85], [0.7, 0.6], [0.88, 0.88], [0.5, 0.5], [0.1, 0.7]]
    sel = select(PROF, est(pr), MinimizeEnergy(deadline=0.05, accuracy=0.84), pr_th=0.9, fallback="safe")
    assert (sel.candidate, sel.setting) == (1, 0)


def test_min_error_with_a_tight_budget_is_not_answered_with_a_certain_budget_miss():
    # Energy budget 2.5 J; energies are 1..10 in row-major order, so only (small, 10 W) = 1 and
    # (small, 20 W) = 2 fit, with Pr 0.3 and 0.5 < 0.9. The priority fallback keeps latency first:
    # the cells meeting Pr are any@1's (energy 5 and 6), it gives the budget up and takes the
    # cheaper, (any@1, 10 W): a certain budget miss. The safe fallback keeps the budget and lets
    # q̂ decide between the two that fit: 0.1 + 0.7·0.5 = 0.45 at 20 W beats 0.31: (small, 20 W).
    pr = [[0.3, 0.5], [0.2, 0.4], [0.95, 0.99], [0.1, 0.1], [0.1, 0.1]]
    e = est(pr)
    goal = MaximizeAccuracy(deadline=0.05, energy=2.5)
    prio = select(PROF, e, goal, pr_th=0.9)
    assert (prio.candidate, prio.setting, prio.gave_up) == (2, 0, ("energy",))
    safe = select(PROF, e, goal, pr_th=0.9, fallback="safe")
    assert (safe.candidate, safe.setting) == (0, 1) and safe.met["energy"]


def test_safe_fallback_for_max_accuracy_lets_expected_accuracy_decide():
    # Budget 4.5 J fits small (1, 2) and big (3, 4). Nothing reaches Pr 0.9. The most probable
    # is (small, 20 W) at 0.6 (q̂ 0.1 + 0.7·0.6 = 0.52), but (big, 20 W) at 0.55 has
    # q̂ = 0.1 + 0.8·0.55 = 0.54: the safe fallback of a max-accuracy goal keeps the budget
    # and takes the best q̂, not the smallest model.
    pr = [[0.3, 0.6], [0.2, 0.55], [0.95, 0.99], [0.1, 0.1], [0.1, 0.1]]
    sel = select(PROF, est(pr), MaximizeAccuracy(deadline=0.05, energy=4.5), pr_th=0.9, fallback="safe")
    assert (sel.candidate, sel.setting) == (1, 1)


@pytest.mark.parametrize("goal", [MinimizeEnergy(deadline=0.05, accuracy=0.84), MaximizeAccuracy(deadline=0.05)])
def test_safe_fallback_finishes_first_when_no_configuration_can_make_the_deadline(goal):
    # Pr = 0 everywhere (the deadline passed while the input queued): every q̂ is q_fail and every
    # Pr ties, so the objective alone would take the cheapest cell, (small, 10 W) at energy 1, the
    # slowest here, and a queue would build. The safe fallback takes the least expected latency
    # among the cells meeting the deterministic constraints: for min-energy those with q_i >= 0.84
    # (big, any@2, any@3), fastest (any@2, 20 W) at 3 ms; for max-accuracy (no accuracy goal, no
    # budget) every cell, fastest (any@1, 20 W) at 2 ms.
    pr = np.zeros((5, 2))
    lat = np.array([[0.09, 0.08], [0.07, 0.06], [0.004, 0.002], [0.005, 0.003], [0.03, 0.02]])
    sel = select(PROF, est(pr, latency=lat), goal, pr_th=0.9, fallback="safe")
    want = (3, 1) if isinstance(goal, MinimizeEnergy) else (2, 1)
    assert (sel.candidate, sel.setting) == want


def test_safe_fallback_walks_the_priority_when_nothing_meets_the_deterministic_constraints():
    pr = [[0.3, 0.5], [0.2, 0.4], [0.95, 0.99], [0.1, 0.1], [0.1, 0.1]]
    e = est(pr)
    goal = MaximizeAccuracy(deadline=0.05, energy=0.5)  # below every cell's energy
    assert select(PROF, e, goal, pr_th=0.9, fallback="safe") == select(PROF, e, goal, pr_th=0.9)


def test_goal_threshold_wins_over_the_chance_option():
    pr = [[1.0, 1.0], [0.5, 0.91], [1.0, 1.0], [0.3, 0.95], [0.1, 0.5]]
    e = est(pr)
    goal = MinimizeEnergy(deadline=0.05, accuracy=0.84, pr_th=0.93)
    # the goal's 0.93 rules (big at 0.91 fails), not the caller's 0.9
    assert select(PROF, e, goal, pr_th=0.9).candidate != 1


# ----------------------------------------------------------------------------- ACI in the controller
def controller(**kw):
    cfg = ControllerConfig(estimator="paper", overhead=0.0, chance=0.07, aci_step=0.01, **kw)
    return Controller(PROF, MaximizeAccuracy(deadline=0.05), cfg)


def test_aci_update_by_hand():
    ctl = controller()
    assert ctl.pr_threshold() == pytest.approx(0.93)
    d = ctl.decide()
    ctl.observe(latency=0.06)                      # late: α ← 0.07 + 0.01·(0.07 − 1) = 0.0607
    assert ctl.miss_allowance == pytest.approx(0.0607) and ctl.stats.misses == 1
    ctl.decide()
    ctl.observe(latency=0.01)                      # on time: α ← 0.0607 + 0.01·0.07 = 0.0614
    assert ctl.miss_allowance == pytest.approx(0.0614)
    assert ctl.pr_threshold() == pytest.approx(1 - 0.0614)
    assert d.deadline == pytest.approx(0.05)


def test_aci_stays_within_its_range():
    ctl = controller(aci_range=(0.02, 0.2))
    for _ in range(200):
        ctl.decide()
        ctl.observe(latency=1.0)                   # every input late
    assert ctl.miss_allowance == pytest.approx(0.02)
    for _ in range(2000):
        ctl.decide()
        ctl.observe(latency=1e-4)
    assert ctl.miss_allowance == pytest.approx(0.2)


def test_aci_counts_a_stage_below_the_accuracy_goal_as_a_miss():
    cfg = ControllerConfig(estimator="paper", overhead=0.0, chance=0.1, aci_step=0.05, candidates="anytime")
    ctl = Controller(PROF, MinimizeEnergy(deadline=0.2, accuracy=0.9), cfg)
    d = ctl.decide()
    assert d.stage == 3                            # only any@3 reaches 0.9
    ctl.observe(latency=0.01, stage=1)             # stopped at stage 1 (q 0.7): a miss
    assert ctl.miss_allowance == pytest.approx(0.1 + 0.05 * (0.1 - 1))


def test_options_are_validated():
    for bad in ({"chance": 1.5}, {"aci_step": 0.01, "chance": None}, {"chance": 0.1, "aci_range": (0.3, 0.2)},
                {"fallback": "best"}, {"chance_energy": "mean"}):
        with pytest.raises(ValueError):
            ControllerConfig(**bad)  # type: ignore[arg-type]


def test_measured_overhead_is_the_worst_of_the_window():
    # the running maximum the controller keeps equals max() over the last overhead_window inputs
    ctl = Controller(PROF, MaximizeAccuracy(deadline=0.05), ControllerConfig(overhead="measured", overhead_window=5))
    seen: list[float] = []
    for _ in range(300):
        ctl.decide()
        ctl.observe(latency=0.01)
        seen.append(ctl._overheads[-1])
        assert ctl.overhead() == pytest.approx(max(seen[-5:]))


def test_each_registered_robust_estimator_takes_the_robust_selection():
    """``estimator="robust-config"`` (by name or as an instance) is the robust estimator with
    per-configuration windows: it takes the robust preset's selection (chance constraint 0.07,
    ACI, quantile energy, safe fallback, the "headroom" idle model), not the paper's, which stays
    with ``paper`` and with an estimator of one's own."""
    from alert.estimators import make_estimator
    from alert.estimators.base import Estimator

    robust = (("chance", 0.07), ("aci_step", 0.01), ("chance_energy", "quantile"), ("fallback", "safe"),
              ("idle_model", "headroom"), ("accuracy_tie", 0.005))
    paper = (("chance", None), ("aci_step", 0.0), ("chance_energy", "expected"), ("fallback", "priority"),
             ("idle_model", "ratio"), ("accuracy_tie", None))
    for est, want in (("robust", robust), ("robust-config", robust), (make_estimator("robust-config"), robust),
                      ("paper", paper)):
        cfg = ControllerConfig(estimator=est)
        assert [(k, getattr(cfg, k)) for k, _ in want] == list(want), est

    class Mine(make_estimator("paper").__class__):  # an estimator of one's own, under another name
        name = "mine"

    assert isinstance(Mine(), Estimator)
    assert ControllerConfig(estimator=Mine()).fallback == "priority"
    assert ControllerConfig(estimator=Mine()).idle_model == "ratio"
    assert ControllerConfig(idle_model="setting").idle_model == "setting"  # what is named is kept


def _one_model_estimates(accuracy, latency, energy):
    """A profile of one traditional model at three settings and hand-set estimates for it."""
    prof = Profile.from_dict(make_profile_dict(
        settings=[{"name": n, "value": v, "unit": "W", "idle_power": 1.0} for n, v in (("a", 10.0), ("b", 20.0),
                                                                                        ("c", 30.0))],
        models=[{"name": "m", "accuracy": 0.9, "latency": [0.03, 0.02, 0.01]}]))
    arr = [np.array([x], dtype=float) for x in (accuracy, latency, energy)]
    return prof, Estimates(arr[1], np.ones((1, 3)), arr[0], arr[2], 0.1, 1.0)


@pytest.mark.parametrize("tie,want", [(None, 1), (1e-5, 1), (1e-4, 2), (0.5, 2)])
def test_accuracy_tie_counts_close_accuracies_as_equal_and_takes_the_fastest(tie, want):
    # q̂ 0.89992 / 0.90000 / 0.89995: 0.90000 is best; within 1e-4 all three tie, within 1e-5 none
    # does; among ties the least expected latency (0.01 s, setting c) decides
    prof, est = _one_model_estimates([0.89992, 0.90000, 0.89995], [0.03, 0.02, 0.01], [1.0, 2.0, 3.0])
    assert select(prof, est, MaximizeAccuracy(0.1), accuracy_tie=tie).setting == want


@pytest.mark.parametrize("energy,want", [([1.0, 2.0, 3.0], 1), ([3.0, 2.0, 1.0], 2), ([1.0, 2.0, 2.0], 2)])
def test_accuracy_tie_under_a_budget_buys_no_margin_with_more_energy_than_the_best_plans(energy, want):
    # the same q̂ (best: setting b, 0.90000) under a budget of 5 J that every setting keeps: a tied
    # setting counts only if it plans at most b's energy. c (0.01 s) is the fastest; at 3 J it
    # is left out and b (0.02 s) is the fastest of a and b; at 1 J, or at b's 2 J, it is taken
    prof, est = _one_model_estimates([0.89992, 0.90000, 0.89995], [0.03, 0.02, 0.01], energy)
    assert select(prof, est, MaximizeAccuracy(0.1, energy=5.0), accuracy_tie=1e-4).setting == want
    assert select(prof, est, MaximizeAccuracy(0.1), accuracy_tie=1e-4).setting == 2  # no budget: fastest


def test_accuracy_tie_breaks_equal_latency_by_energy_and_leaves_other_objectives_alone():
    prof, est = _one_model_estimates([0.90000, 0.89999, 0.89998], [0.02, 0.01, 0.01], [1.0, 3.0, 2.0])
    assert select(prof, est, MaximizeAccuracy(0.1), accuracy_tie=1e-4).setting == 2   # 0.01 s, then 2 J < 3 J
    assert select(prof, est, MaximizeAccuracy(0.1), accuracy_tie=None).setting == 0   # the best q̂
    # a configuration over the budget is not a tie candidate: the budget holds first
    assert select(prof, est, MaximizeAccuracy(0.1, energy=1.5), accuracy_tie=1e-4).setting == 0
    # an energy objective: accuracy_tie changes nothing (the least energy that keeps accuracy 0.85)
    goal = MinimizeEnergy(0.1, 0.85)
    assert select(prof, est, goal, accuracy_tie=1e-4).setting == select(prof, est, goal).setting == 0


def test_accuracy_tie_preset_and_validation():
    assert ControllerConfig().accuracy_tie == 0.005
    assert ControllerConfig(estimator="paper").accuracy_tie is None
    assert ControllerConfig(estimator="paper", accuracy_tie=1e-3).accuracy_tolerance == 1e-3
    for bad in (-1e-4, 1.0, True, "x", float("nan")):
        with pytest.raises(ValueError, match="accuracy_tie"):
            ControllerConfig(accuracy_tie=bad)  # type: ignore[arg-type]


def test_aci_counts_an_anytime_model_without_output_as_a_miss():
    # goal 0.65: any@1 (q 0.7) qualifies; observed at exactly the deadline (the stop time) with stage
    # 0, no stage finished: a latency miss, although the stop time is not after the deadline
    cfg = ControllerConfig(estimator="paper", overhead=0.0, chance=0.1, aci_step=0.05, candidates="anytime")
    ctl = Controller(PROF, MinimizeEnergy(deadline=0.2, accuracy=0.65), cfg)
    d = ctl.decide()
    assert d.model == "any"
    ctl.observe(latency=0.2, stage=0)
    assert ctl.miss_allowance == pytest.approx(0.1 + 0.05 * (0.1 - 1)) and ctl.stats.misses == 1
    ctl.decide()
    ctl.observe(latency=0.2, stage=d.stage)  # the stage decided, done at the deadline: on time
    assert ctl.miss_allowance == pytest.approx(0.1 + 0.05 * (0.1 - 1) + 0.05 * 0.1) and ctl.stats.misses == 1


def test_no_output_is_a_censored_observation_of_stage_one():
    """Stage 0: stage 1's latency passed the stop time. An estimator that takes censored
    observations gets that bound against stage 1's profile; the paper's filter, which does not,
    gets the stop time against stage 1's profile."""
    from alert.estimators import RobustEstimator

    calls = []

    class Spy(RobustEstimator):
        def update_censored(self, bound, profiled, config=None):
            calls.append((bound, profiled, config))
            return super().update_censored(bound, profiled, config)

    for decided_stage in (1, 3):
        calls.clear()
        ctl = Controller(PROF, MinimizeEnergy(deadline=0.2, accuracy=0.65),
                         ControllerConfig(estimator=Spy(), overhead=0.0, candidates="anytime"))
        d = ctl.decide()
        # pin the decision to the stage under test (any@1 or any@3 at the decided setting)
        ctl._last = dataclasses.replace(d, candidate=decided_stage - 1, stage=decided_stage)
        ctl.observe(latency=0.15, stage=0)  # stopped early (before the deadline): the bound is the deadline
        assert calls == [(0.2, float(ctl.profile.t_prof[0, d.setting]), (0, d.setting))], decided_stage
    from alert.estimators import make_estimator

    paper = Controller(PROF, MinimizeEnergy(deadline=0.2, accuracy=0.65),
                       ControllerConfig(estimator="paper", overhead=0.0, candidates="anytime"))
    d = paper.decide()
    paper._last = dataclasses.replace(d, candidate=2, stage=3)
    paper.observe(latency=0.2, stage=0)
    ref = make_estimator("paper")
    ref.bind(paper.profile.t_prof)
    ref.update(0.2, float(paper.profile.t_prof[0, d.setting]), (0, d.setting))
    assert paper.estimator.mean == pytest.approx(ref.mean) and paper.estimator.std == pytest.approx(ref.std)


THREE = Profile.from_dict(make_profile_dict(models=[
    {"name": "small", "kind": "traditional", "accuracy": 0.8, "latency": [0.04, 0.02]},
    {"name": "mid", "kind": "traditional", "accuracy": 0.85, "latency": [0.06, 0.03]},
    {"name": "big", "kind": "traditional", "accuracy": 0.9, "latency": [0.10, 0.05]}]))


@pytest.mark.parametrize(("deadline", "budget"), [(0.06, 0.8), (0.04, 0.6), (0.08, 0.5)])
def test_safe_fallback_with_a_budget_takes_the_best_output_on_time_and_within_budget(deadline, budget):
    # ξ ~ N(1, 0.3²) and Pr_th 0.995: nothing qualifies. Monte Carlo with the rule of
    # alert.outcome gives each configuration's chance that its input is on time and its period
    # within the budget; the fallback keeps the configuration whose output is worth most counted
    # that way: q_fail + (q − q_fail)·chance.
    from alert import estimate, outcome
    from profile_factory import gaussian

    e = estimate(THREE, gaussian(1.0, 0.3), phi=0.2, deadline=deadline, pr_th=0.995)
    goal = MaximizeAccuracy(deadline=deadline, energy=budget)
    sel = select(THREE, e, goal, pr_th=0.995, fallback="safe", accuracy_tie=1e-4)
    assert sel.gave_up  # the fallback decided
    lat = np.random.default_rng(0).normal(1.0, 0.3, 200_000)[:, None, None] * THREE.t_prof
    energy = outcome.period_energy(THREE.power, lat, 0.2 * THREE.power, deadline)
    chance = ((lat <= deadline) & (energy <= budget)).mean(axis=0)
    worth = THREE.q_fail + (THREE.q[:, None] - THREE.q_fail) * chance
    assert (sel.candidate, sel.setting) == np.unravel_index(worth.argmax(), worth.shape)
    if deadline == 0.06:
        # (small, 20 W): its 99.5 % quantile energy (Eq. 12) is over the budget, which a check of
        # the planned energy would have held against it (and taken (small, 10 W), worth 0.767)
        assert (sel.candidate, sel.setting) == (0, 1) and e.energy[0, 1] > budget >= e.energy[0, 0]


def test_safe_fallback_spends_least_when_only_the_budget_is_out_of_reach():
    # ξ ~ N(1, 0.1²), T = 60 ms, idle power 2 W / 3 W (the settings' own), budget 0.1805 J: every
    # period keeps it only if the model is done within 7.6 ms (10 W) or 0.06 ms (20 W), which no
    # configuration has any chance of, although several meet the deadline itself. Finishing
    # first (the rule for a deadline out of reach) would take a 20 W configuration; the least
    # planned energy is kept instead: small at 10 W, e = 0.12 + 0.32·ξ_q.
    from alert import estimate
    from profile_factory import gaussian

    e = estimate(THREE, gaussian(1.0, 0.1), phi=1.0, deadline=0.06, pr_th=0.995, idle_model="setting")
    goal = MaximizeAccuracy(deadline=0.06, energy=0.1805)
    t_e, joint = e.budget_pr(goal.energy_budget())
    assert np.all(t_e > 0) and joint.max() < 1e-6 and e.pr.max() > 0.5
    sel = select(THREE, e, goal, pr_th=0.995, fallback="safe", accuracy_tie=1e-4)
    assert (sel.candidate, sel.setting) == np.unravel_index(e.energy.argmin(), e.energy.shape) == (0, 0)
    assert e.latency[0, 0] > e.latency.min()  # not the fastest


def test_safe_fallback_in_a_sequence_keeps_the_planned_energy_within_the_share():
    # A word of a sentence (shared=True): the budget is kept on the planned energy (Eq. 12), as
    # before the joint rule; the test of the single-input rule above, (small, 20 W), is over it.
    from alert import estimate
    from profile_factory import gaussian

    e = estimate(THREE, gaussian(1.0, 0.3), phi=0.2, deadline=0.06, pr_th=0.995)
    goal = MaximizeAccuracy(deadline=0.06, energy=0.8)
    alone = select(THREE, e, goal, pr_th=0.995, fallback="safe", accuracy_tie=1e-4)
    word = select(THREE, e, goal, pr_th=0.995, fallback="safe", accuracy_tie=1e-4, shared=True)
    assert (alone.candidate, alone.setting) == (0, 1) and e.energy[0, 1] > 0.8
    assert (word.candidate, word.setting) == (0, 0) and e.energy[0, 0] <= 0.8


def test_the_controller_marks_the_inputs_of_a_sequence_as_shared(monkeypatch):
    import alert.controller as ctl_mod

    seen = []
    real = ctl_mod.select

    def spy(*args, **kwargs):
        seen.append(args[-1])
        return real(*args, **kwargs)

    monkeypatch.setattr(ctl_mod, "select", spy)
    ctl = Controller(PROF, MaximizeAccuracy(deadline=0.05, power=15.0), ControllerConfig(overhead=0.0))
    ctl.decide()
    ctl.observe(0.01)
    ctl.begin_sequence(0.2, 4)
    ctl.decide()
    ctl.observe(0.01)
    ctl.end_sequence()
    ctl.decide()
    assert seen == [False, True, False]


def test_safe_fallback_without_a_budget_lets_expected_accuracy_decide_as_before():
    # MaximizeAccuracy with no budget: no energy event to join, so the own-output filter of the
    # budget rule must not run. Nothing reaches Pr 0.995; q̂ (Eq. 13, which credits the anytime
    # model's earlier stages) decides among every configuration, exactly as the rule without a
    # budget: the selection equals the argmax of q̂.
    from alert import estimate
    from profile_factory import gaussian

    e = estimate(PROF, gaussian(1.3, 0.3), phi=0.2, deadline=0.02, pr_th=0.995)
    sel = select(PROF, e, MaximizeAccuracy(deadline=0.02), pr_th=0.995, fallback="safe")
    assert sel.gave_up and (sel.candidate, sel.setting) == np.unravel_index(e.accuracy.argmax(), e.accuracy.shape)
    # (any@3, 20 W): its own output alone (stage 3 by T) is worth less than any@1's at 20 W
    own = PROF.q_fail + (PROF.q[:, None] - PROF.q_fail) * e.pr
    assert (sel.candidate, sel.setting) == (4, 1) and np.unravel_index(own.argmax(), own.shape) == (2, 1)


def _reserved_share_profile() -> Profile:
    """The test profile with each setting's idle power equal to its power (a reserved CPU share:
    the period costs the same whether the model runs or waits)."""
    d = make_profile_dict(settings=[{"name": "10W", "value": 10.0, "unit": "W", "idle_power": 10.0},
                                    {"name": "20W", "value": 20.0, "unit": "W", "idle_power": 20.0}])
    return Profile.from_dict(d)


def test_free_run_marks_anytime_configurations_whose_run_costs_what_waiting_costs():
    free = _reserved_share_profile().free_run
    assert free.tolist() == [[False, False], [False, False], [True, True], [True, True], [True, True]]
    assert not PROF.free_run.any()  # idle 2 W / 3 W below the 10 W / 20 W of inference


def test_free_anytime_deadline_counts_a_max_accuracy_anytime_model_on_time_with_its_first_stage():
    # ξ ~ N(1, 0.1²), T = 50 ms, Pr_th 0.93, no budget. At 20 W any@3 ends stage 3 at 60 ms·ξ
    # (Pr 0.048) but stage 1 at 10 ms and stage 2 at 30 ms (Pr 1): q̂ = 0.1 + 0.6 + 0.15
    # + 0.07·Φ((0.05 − 0.06)/0.006) = 0.8533, above any@2's 0.85. "stop" holds stage 3 to the
    # chance constraint and takes any@2; "free" (a reserved share: running on costs nothing)
    # takes any@3, whose input is on time with stage 2's output when stage 3 is late.
    from scipy.stats import norm

    from alert import estimate
    from profile_factory import gaussian

    prof = _reserved_share_profile()
    e = estimate(prof, gaussian(1.0, 0.1), phi=0.0, deadline=0.05, pr_th=0.93)
    goal = MaximizeAccuracy(deadline=0.05)
    any3, any2 = prof.candidate_index("any", 3), prof.candidate_index("any", 2)
    assert e.accuracy[any3, 1] == pytest.approx(0.85 + 0.07 * norm.cdf((0.05 - 0.06) / 0.006))
    stop = select(prof, e, goal, pr_th=0.93, anytime_deadline="stop")
    free = select(prof, e, goal, pr_th=0.93, anytime_deadline="free")
    assert (stop.candidate, stop.setting) == (any2, 1)
    assert (free.candidate, free.setting) == (any3, 1) and free.gave_up == ()
    # min-energy goals and profiles without such configurations keep "stop"
    assert MinimizeEnergy(deadline=0.05, accuracy=0.8).first_output(prof, "free") is False
    assert goal.first_output(PROF, "free") is False


def test_anytime_deadline_presets():
    assert ControllerConfig().anytime_deadline == "free"
    assert ControllerConfig(estimator="paper").anytime_deadline == "stop"
    assert ControllerConfig(estimator="paper", anytime_deadline="free").anytime_deadline == "free"
    with pytest.raises(ValueError, match="anytime_deadline"):
        ControllerConfig(anytime_deadline="last")  # type: ignore[arg-type]
