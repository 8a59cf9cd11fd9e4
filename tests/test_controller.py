"""The controller loop of §3.2: variants, goal changes, sequences, overhead and bad measurements."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from alert import Controller, ControllerConfig, MaximizeAccuracy, MinimizeEnergy, Profile
from alert.controller import initial_idle_ratio
from alert.estimators import make_estimator
from profile_factory import make_profile_dict

FIXED = ControllerConfig(estimator="paper", overhead=0.0)


@pytest.fixture
def prof(laptop_path):
    return Profile.load(laptop_path)


def run(ctl, slowdown, n, rng=None, noise=0.0):
    for _ in range(n):
        d = ctl.decide()
        t = ctl.profile.t_prof[d.candidate, d.setting] * slowdown
        if rng is not None:
            t *= float(np.exp(rng.normal(0, noise)))
        ctl.observe(latency=t)
    return ctl.decide()


def test_decision_fields(prof):
    ctl = Controller(prof, MinimizeEnergy(deadline=0.15, accuracy=0.85), FIXED)
    d = ctl.decide()
    assert d.model in {m.name for m in prof.models}
    assert 0 <= d.setting < len(prof.settings) and d.setting_name == prof.settings[d.setting].name
    assert d.expected_latency == pytest.approx(prof.t_prof[d.candidate, d.setting])
    assert set(d.goals_met) == {"latency", "accuracy"}
    assert d.as_dict()["model"] == d.model


def test_slowdown_makes_controller_pick_faster_configurations(prof):
    goal = MaximizeAccuracy(deadline=0.12)
    calm = run(Controller(prof, goal, FIXED), 1.0, 30)
    slow = run(Controller(prof, goal, FIXED), 2.5, 30)
    assert slow.expected_latency <= 0.12 + 1e-9
    assert prof.t_prof[slow.candidate, slow.setting] < prof.t_prof[calm.candidate, calm.setting]


def test_volatility_moves_controller_to_the_anytime_model(prof):
    """Same mean slowdown; the volatile stream raises sigma, and ALERT trades the traditional model
    it uses when calm for the anytime model, whose expected accuracy holds up better (§3.5)."""
    goal = MaximizeAccuracy(deadline=0.2)
    rng = np.random.default_rng(1)
    calm = Controller(prof, goal, FIXED)
    noisy = Controller(prof, goal, FIXED)
    d_calm = run(calm, 1.0, 60)
    d_noisy = run(noisy, 1.0, 60, rng, noise=0.5)
    assert noisy.estimator.filter.variance > 2 * calm.estimator.filter.variance
    assert d_calm.stage is None and d_calm.pr > 0.99
    assert d_noisy.stage is not None
    # the traditional choice would now be worse in expectation than the anytime one
    est = noisy.estimates()
    assert est.accuracy[d_calm.candidate, d_calm.setting] < d_noisy.expected_accuracy


def test_variants(prof):
    goal = MinimizeEnergy(deadline=0.2, accuracy=0.85)
    any_ = Controller(prof, goal, ControllerConfig(estimator="paper", candidates="anytime", overhead=0.0)).decide()
    trad = Controller(prof, goal, ControllerConfig(estimator="paper", candidates="traditional", overhead=0.0)).decide()
    assert any_.stage is not None and trad.stage is None
    star = Controller(prof, goal, ControllerConfig(estimator="paper", mean_only=True, overhead=0.0)).decide()
    assert star.pr in (0.0, 1.0)


def test_goal_change_applies_next_decision(prof):
    ctl = Controller(prof, MinimizeEnergy(0.2, 0.84), FIXED)
    a = ctl.decide()
    ctl.observe(a.expected_latency)
    ctl.set_goal(MinimizeEnergy(0.2, 0.92))
    b = ctl.decide()
    assert b.expected_accuracy > a.expected_accuracy


def test_sequence_shares_deadline_even_rule(prof):
    ctl = Controller(prof, MaximizeAccuracy(deadline=1.0), FIXED)
    ctl.begin_sequence(deadline=0.4, length=4)
    assert ctl.decide().deadline == pytest.approx(0.1)        # 0.4 / 4
    ctl.observe(0.13)                                           # a slow word
    assert ctl.decide().deadline == pytest.approx(0.27 / 3)     # what remains over 3 words
    ctl.observe(0.05)
    ctl.begin_sequence(deadline=0.4, rule="greedy")
    assert ctl.decide().deadline == pytest.approx(0.4)
    ctl.observe(0.1)
    assert ctl.decide().deadline == pytest.approx(0.3)
    ctl.end_sequence()
    assert ctl.decide().deadline == pytest.approx(1.0)


def test_sequence_over_budget_still_decides(prof):
    ctl = Controller(prof, MaximizeAccuracy(deadline=1.0), FIXED)
    ctl.begin_sequence(0.05, length=3)
    ctl.decide()
    ctl.observe(0.2)
    d = ctl.decide()
    assert d.deadline > 0 and "latency" in d.gave_up


def test_measured_overhead_is_subtracted(prof):
    ctl = Controller(prof, MaximizeAccuracy(deadline=0.1))
    ctl.decide()
    ctl.observe(0.05)
    ovh = ctl.overhead()
    assert 0 < ovh < 0.01
    assert ctl.decide().deadline == pytest.approx(0.1 - ovh)
    assert Controller(prof, MaximizeAccuracy(0.1), ControllerConfig(estimator="paper", overhead=0.002)).decide().deadline == pytest.approx(0.098)


@pytest.mark.parametrize("clock", ["cpu", "wall"])
def test_overhead_clock_counts_stalls_only_on_the_wall_clock(prof, clock):
    """A decide() that waits 30 ms without computing (preempted, or throttled by a quota it shares
    with the model) costs 30 ms of wall time but almost no CPU time: only "wall" charges it."""
    ctl = Controller(prof, MaximizeAccuracy(deadline=0.1), ControllerConfig(estimator="paper", overhead_clock=clock))
    real = ctl.estimates

    def stalled(deadline=None):
        time.sleep(0.03)
        return real(deadline)

    ctl.estimates = stalled  # type: ignore[method-assign]
    ctl.decide()
    ctl.observe(0.05)
    if clock == "wall":
        assert ctl.overhead() >= 0.03
    else:
        assert 0 < ctl.overhead() < 0.01
    with pytest.raises(ValueError, match="overhead_clock"):
        ControllerConfig(estimator="paper", overhead_clock="thread")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [math.nan, math.inf, 0.0, -0.01])
def test_bad_latency_rejected_and_counted(prof, bad):
    ctl = Controller(prof, MaximizeAccuracy(deadline=0.1), FIXED)
    ctl.decide()
    ctl.observe(0.05)
    before = ctl.estimator.state_dict()
    ctl.decide()
    ctl.observe(bad)
    assert ctl.estimator.state_dict() == before
    assert ctl.stats.latency_rejected == 1
    assert math.isfinite(ctl.decide().expected_accuracy)


def test_absurd_latency_clamped(prof):
    ctl = Controller(prof, MaximizeAccuracy(deadline=0.1), FIXED)
    d = ctl.decide()
    ctl.observe(1000 * prof.t_prof[d.candidate, d.setting])
    assert ctl.stats.slowdown_clamped == 1
    assert ctl.estimator.mean <= 50
    d = run(ctl, 1.0, 10)
    assert ctl.estimator.mean == pytest.approx(1.0, abs=0.05)


def test_idle_power_feedback(prof):
    ctl = Controller(prof, MaximizeAccuracy(deadline=0.2), FIXED)
    phi0 = ctl.idle.phi
    assert phi0 == pytest.approx(initial_idle_ratio(prof))
    d = ctl.decide()
    p = prof.power[d.candidate, d.setting]
    ctl.observe(0.05, idle_power=0.5 * p)
    assert phi0 < ctl.idle.phi < 0.5
    # derived from the period's energy: e = p*t + idle*(T - t)
    ctl2 = Controller(prof, MaximizeAccuracy(deadline=0.2), FIXED)
    d = ctl2.decide()
    p = prof.power[d.candidate, d.setting]
    ctl2.observe(0.05, energy=p * 0.05 + 0.5 * p * (d.deadline - 0.05))
    assert ctl2.idle.phi == pytest.approx(ctl.idle.phi)
    ctl2.decide()
    ctl2.observe(0.05, idle_power=-3)
    ctl2.decide()
    ctl2.observe(0.05, energy=math.nan)
    assert ctl2.stats.idle_rejected == 1 and ctl2.stats.energy_rejected == 1


def test_idle_power_is_read_from_after_the_run_not_after_the_output(prof):
    """An anytime model stopped at its deadline ran past the output it delivered (``elapsed``): the
    idle phase is the period after the run, so idle power = (e − p·run) / (period − run); by hand,
    a model of power p that ran 0.12 s of a 0.2 s period, then idled at 0.5·p."""
    ctl = Controller(prof, MaximizeAccuracy(deadline=0.2), FIXED)
    seen = []
    real = ctl.idle.update
    ctl.idle.update = lambda idle, ref: (seen.append(idle), real(idle, ref))[1]
    d = ctl.decide()
    p = float(prof.power[d.candidate, d.setting])
    ctl.observe(0.05, energy=p * 0.12 + 0.5 * p * 0.08, period=0.2, elapsed=0.12)
    assert seen == [pytest.approx(0.5 * p)]
    ctl.decide()
    ctl.observe(0.05, energy=p * 0.2, period=0.2, elapsed=0.2)  # ran the whole period: no idle phase
    ctl.decide()
    ctl.observe(0.05, energy=p * 0.05, period=0.05, elapsed=0.05)  # a window of the run alone: none
    assert len(seen) == 1 and ctl.stats.idle_rejected == 0


def test_observe_with_reached_stage_uses_that_stage_time():
    prof = Profile.from_dict(make_profile_dict())
    ctl = Controller(prof, MaximizeAccuracy(deadline=10.0), FIXED)
    d = ctl.decide()
    assert d.model == "any" and d.stage == 3
    # stopped after stage 2 at 2x its profiled time
    ctl.observe(2 * prof.t_prof[prof.candidate_index("any", 2), d.setting], stage=2)
    assert ctl.estimator.mean == pytest.approx(1 + ctl.estimator.filter.gain * 1.0)


def test_observe_before_decide_is_an_error(prof):
    with pytest.raises(RuntimeError):
        Controller(prof, MaximizeAccuracy(0.1)).observe(0.1)


def test_config_validation():
    with pytest.raises(ValueError):
        ControllerConfig(estimator="paper", candidates="some")
    with pytest.raises(ValueError):
        ControllerConfig(estimator="paper", overhead=-1)
    with pytest.raises(ValueError):
        ControllerConfig(estimator="paper", priority=("latency",))
    # Eq. 8's filter parameters and the slowdown bound: finite, in range, named
    for field, value in (("m0", math.nan), ("s", math.inf), ("v", 0.0), ("v", "0.1"), ("m0", -1.0),
                         ("max_slowdown", math.inf), ("max_slowdown", math.nan), ("max_slowdown", 1.0)):
        with pytest.raises(ValueError, match=field):
            ControllerConfig(estimator="paper", **{field: value})


def test_estimator_parameters_are_checked_when_the_controller_is_made():
    prof = Profile.from_dict(make_profile_dict())
    goal = MaximizeAccuracy(deadline=0.1)
    for est, params, field in (("paper", {"q0": math.inf}, "q0"), ("paper", {"mean0": math.inf}, "mean"),
                               ("paper", {"variance0": math.nan}, "variance"),
                               ("robust", {"prior_weight": math.inf}, "prior_weight"),
                               ("robust", {"tail_floor": math.inf}, "tail_floor"),
                               ("robust", {"window": 4.7}, "window"), ("robust", {"window": "40"}, "window"),
                               ):
        with pytest.raises(ValueError, match=field):
            Controller(prof, goal, ControllerConfig(estimator=est, estimator_params=params))
    with pytest.raises(ValueError, match=r"ControllerConfig\(max_slowdown=...\)"):
        ControllerConfig(estimator_params={"max_slowdown": 10.0})
    for est in ("paper", "robust"):  # the bound itself, given to the estimator directly
        with pytest.raises(ValueError, match="max_slowdown"):
            make_estimator(est, max_slowdown=math.inf)


def test_each_input_is_observed_once_with_a_stage_it_can_reach():
    prof = Profile.from_dict(make_profile_dict())
    ctl = Controller(prof, MaximizeAccuracy(deadline=10.0), FIXED)
    d = ctl.decide()
    assert d.model == "any" and d.stage == 3
    for stage in (4, 99):  # past the stage the input was decided to stop at
        with pytest.raises(ValueError, match=f"stage={stage}"):
            ctl.observe(0.01, stage=stage)
    assert ctl.stats.observed == 0 and ctl.estimator.n == 0  # refused: nothing counted
    ctl.observe(float(prof.t_prof[d.candidate, d.setting]), stage=3)
    with pytest.raises(RuntimeError, match="twice"):
        ctl.observe(0.01)
    assert ctl.stats.observed == 1 and ctl.estimator.n == 1
    ctl.decide()
    ctl.observe(0.01)  # the next input
    assert ctl.stats.observed == 2


def test_a_rejected_energy_reading_is_no_miss():
    """A bad energy reading is rejected (counted) and says nothing of the budget: ACI does not
    count the input as missed, and the next decisions are those of a controller that got none."""
    prof = Profile.from_dict(make_profile_dict())
    goal = MaximizeAccuracy(deadline=0.1, power=60.0)
    a, b = Controller(prof, goal, ControllerConfig(overhead=0.0)), Controller(prof, goal, ControllerConfig(overhead=0.0))
    for k in range(60):
        da, db = a.decide(), b.decide()
        assert (da.candidate, da.setting) == (db.candidate, db.setting), k
        lat = float(prof.t_prof[da.candidate, da.setting])
        a.observe(lat, energy=math.inf if k % 3 == 0 else None)
        b.observe(lat)
    assert a.stats.energy_rejected == 20 and a.stats.misses == b.stats.misses
    assert a.miss_allowance == b.miss_allowance


def test_idle_model_setting_scales_profiled_idle_power(prof):
    """With idle_model='setting', φ is measured idle / profiled idle of the setting used, and the
    idle energy of every setting is φ times its own profiled idle power."""
    cfg = ControllerConfig(estimator="paper", overhead=0.0, idle_model="setting")
    ctl = Controller(prof, MaximizeAccuracy(deadline=0.2), cfg)
    assert ctl.idle.phi == 1.0
    d = ctl.decide()
    ctl.observe(0.05, idle_power=2.0 * prof.idle_power[d.setting])
    assert 1.0 < ctl.idle.phi < 2.0
    est = ctl.estimates(deadline=0.2)
    c, j = 0, 0
    t = ctl.estimator.mean * prof.t_prof[c, j]
    expected = prof.power[c, j] * t + ctl.idle.phi * prof.idle_power[j] * max(0.0, 0.2 - t)
    assert est.energy[c, j] == pytest.approx(expected)
    with pytest.raises(ValueError):
        ControllerConfig(estimator="paper", idle_model="guess")


def test_idle_model_headroom_learns_the_share_of_the_headroom_filled(prof):
    """With idle_model='headroom', idle power is idle_j + φ·(p − idle_j): φ starts at 0 (the
    profiled idle power) and learns the share of the headroom other work fills while the DNN
    waits; an idle power below the profile's counts as 0, not as a rejected measurement."""
    cfg = ControllerConfig(estimator="paper", overhead=0.0, idle_model="headroom")
    ctl = Controller(prof, MaximizeAccuracy(deadline=0.2), cfg)
    assert ctl.idle.phi == 0.0
    est = ctl.estimates(deadline=0.2)
    c, j = 0, 0
    t = ctl.estimator.mean * prof.t_prof[c, j]
    assert est.energy[c, j] == pytest.approx(prof.power[c, j] * t + prof.idle_power[j] * max(0.0, 0.2 - t))
    for _ in range(400):
        d = ctl.decide()
        p, idle = prof.power[d.candidate, d.setting], prof.idle_power[d.setting]
        ctl.observe(0.05, idle_power=idle + 0.3 * (p - idle))
    assert ctl.idle.phi == pytest.approx(0.3, abs=0.01)
    est = ctl.estimates(deadline=0.2)
    t = ctl.estimator.mean * prof.t_prof[c, j]
    idle_cj = prof.idle_power[j] + ctl.idle.phi * (prof.power[c, j] - prof.idle_power[j])
    assert est.energy[c, j] == pytest.approx(prof.power[c, j] * t + idle_cj * max(0.0, 0.2 - t))
    d = ctl.decide()
    ctl.observe(0.05, idle_power=0.5 * prof.idle_power[d.setting])
    assert ctl.stats.idle_rejected == 0 and ctl.idle.phi < 0.3


def test_sequence_elapsed_can_differ_from_latency(prof):
    ctl = Controller(prof, MaximizeAccuracy(deadline=1.0), FIXED)
    ctl.begin_sequence(deadline=0.4, rule="greedy")
    ctl.decide()
    ctl.observe(0.05, elapsed=0.12)   # stopped at its budget 0.07 s after its last output
    assert ctl.decide().deadline == pytest.approx(0.28)
    ctl.observe(math.nan, elapsed=0.1)  # a lost measurement still spends the sentence's time
    assert ctl.decide().deadline == pytest.approx(0.18)
    assert ctl.stats.latency_rejected == 1


@pytest.mark.parametrize("value", [np.float32(0.05), np.int64(1), np.array(0.05)])
def test_numpy_latencies_are_accepted(prof, value):
    ctl = Controller(prof, MaximizeAccuracy(deadline=0.1), FIXED)
    ctl.decide()
    ctl.observe(value)
    assert ctl.estimator.n == 1 and ctl.stats.latency_rejected == 0


@pytest.mark.parametrize("value", ["fast", None, [0.1, 0.2]])
def test_non_numeric_latencies_are_rejected(prof, value):
    ctl = Controller(prof, MaximizeAccuracy(deadline=0.1), FIXED)
    ctl.decide()
    ctl.observe(value)
    assert ctl.estimator.n == 0 and ctl.stats.latency_rejected == 1


def test_enormous_finite_latency_is_clamped_not_rejected(prof):
    ctl = Controller(prof, MaximizeAccuracy(deadline=0.1), FIXED)
    ctl.decide()
    ctl.observe(1e308)
    assert ctl.stats.slowdown_clamped == 1 and ctl.stats.latency_rejected == 0
    assert ctl.estimator.mean <= 50.0 and math.isfinite(ctl.estimator.filter.variance)


def test_sequence_and_reserve_arguments_are_checked(prof):
    ctl = Controller(prof, MaximizeAccuracy(deadline=0.1), FIXED)
    for args, kw, field in (((10 ** 400,), {}, "deadline"), (("1",), {}, "deadline"), ((1.0,), {"length": "3"}, "length"),
                            ((1.0,), {"length": 2.5}, "length"), ((1.0,), {"length": True}, "length"),
                            ((1.0,), {"length": 0}, "length"), ((-1.0,), {}, "deadline")):
        with pytest.raises(ValueError, match=field):
            ctl.begin_sequence(*args, **kw)
    ctl.begin_sequence(np.float32(1.0), length=np.int64(4))  # numpy numbers are numbers
    assert ctl.input_deadline() == pytest.approx(0.25)
    for bad in (None, "0.1", 10 ** 400, math.nan, -0.1):
        with pytest.raises(ValueError, match="set_reserve"):
            ctl.set_reserve(bad)
