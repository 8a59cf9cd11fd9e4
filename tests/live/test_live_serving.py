"""Serving requests with their own arrival times (``QueryServer``) on a fake clock: the
controller is given the deadline that remains after queueing (§3.2), infeasible requests follow
the priority order and an anytime model delivers what it has, energy windows tile the server's
life, the answer goes out before observe, and goals are judged by hand-computed rules."""

from __future__ import annotations

import numpy as np
import pytest

from alert.controller import Controller, ControllerConfig
from alert.goals import MaximizeAccuracy, MinimizeEnergy
from alert.live.runner import RunOutput
from alert.live.runtime import Runtime
from alert.live.serving import (
    MIN_DEADLINE,
    QueryServer,
    adjusted_goal,
    judge_goals,
    load_cap,
    queue_reserve,
)
from alert.profile import Model, Profile, Setting
from alert.system.meters import SimulatedMeter
from alert.system.simulated import SimulatedKnob

T_TRAD = 0.030
T_ANY = [0.006, 0.015, 0.031]  # stage end times
Q_ANY = [0.78, 0.88, 0.93]


class World:
    def __init__(self) -> None:
        self.t = 0.0

    def clock(self) -> float:
        return self.t

    def trad(self, x, stage, deadline, stage_ends=None) -> RunOutput:
        self.t += T_TRAD
        return RunOutput("trad-out", None, [1])

    def any(self, x, stage, deadline, stage_ends=None) -> RunOutput:
        t0, reached, t_out, out = self.t, 0, None, None
        for k in range(stage or 3):
            end = t0 + T_ANY[k]
            self.t = end
            if deadline is not None and end - t0 > deadline:
                break
            reached, t_out, out = k + 1, end - t0, f"stage-{k + 1}"
        return RunOutput(out, reached, [1] if reached else None, t_out)


def server(goal):
    w = World()
    settings = (Setting("1c", 1.0, "cores", 1.0),)
    prof = Profile((Model("trad", "traditional", np.array([0.92]), np.array([[T_TRAD]]), np.array([[5.0]])),
                    Model("any", "anytime", np.array(Q_ANY), np.array([[t] for t in T_ANY]), np.full((3, 1), 5.0))),
                   settings, 0.1, "t")
    ctl = Controller(prof, goal, ControllerConfig(estimator="paper", overhead=0.0))
    rt = Runtime(ctl, SimulatedKnob([1.0], unit="cores"), SimulatedMeter(lambda: 5.0, clock=w.clock),
                 {"trad": w.trad, "any": w.any}, clock=w.clock)
    return QueryServer(rt, goal), w, ctl


def test_the_controller_gets_the_deadline_left_after_queueing() -> None:
    goal = MaximizeAccuracy(deadline=0.05)
    qs, w, ctl = server(goal)
    # waited 0: 50 ms left, the most accurate that fits is any@3 (0.93 in 31 ms)
    r = qs.serve(None, [1], arrival=w.t)
    assert r.record.deadline_s == pytest.approx(0.05) and (r.record.model, r.record.stage) == ("any", 3)
    assert r.goals_met == {"deadline": True} and r.output == "stage-3" and r.record.delivered_accuracy == 0.93
    # waited 30 ms: 20 ms left, only any@1 and any@2 fit: any@2
    w.t += 1.0
    r = qs.serve(None, [1], arrival=w.t - 0.030)
    assert r.record.queue_s == pytest.approx(0.030) and r.record.deadline_s == pytest.approx(0.020)
    assert (r.record.model, r.record.stage, r.record.stage_reached) == ("any", 2, 2)
    assert r.total_s == pytest.approx(0.030 + 0.015) and r.goals_met == {"deadline": True}
    # waited 45 ms: 5 ms left, nothing fits; latency first: the fastest (any@1, 6 ms), which has
    # no stage by the deadline: no output, q_fail, deadline missed
    w.t += 1.0
    r = qs.serve(None, [1], arrival=w.t - 0.045)
    assert r.record.deadline_s == pytest.approx(0.005) and (r.record.model, r.record.stage) == ("any", 1)
    assert r.record.stage_reached == 0 and r.output is None and r.record.delivered_accuracy == 0.1
    assert r.goals_met == {"deadline": False} and not r.goal_met
    # waited past the deadline: the smallest deadline, same choice
    w.t += 1.0
    r = qs.serve(None, [1], arrival=w.t - 0.070)
    assert r.record.deadline_s == pytest.approx(MIN_DEADLINE) and r.record.model == "any"
    assert ctl.goal == goal  # the server's goal is back after every request


def test_queue_reserve_by_hand() -> None:
    # nothing queued, or a queue with time to spare: nothing is kept
    assert queue_reserve(0.05, [], 0.006) == 0.0
    assert queue_reserve(0.05, [0.2, 0.3], 0.006) == 0.0
    # the 1st waiting has 40 ms: this one may take 40 - 6 = 34 ms; the 2nd has 45 ms: 45 - 12 = 33 ms
    assert queue_reserve(0.05, [0.040, 0.045], 0.006) == pytest.approx(0.05 - 0.033)
    # the queue is already behind (4 ms left, 6 ms needed): all of this one's time is kept
    assert queue_reserve(0.05, [0.004], 0.006) == pytest.approx(0.05)
    assert queue_reserve(-0.01, [0.004], 0.006) == 0.0  # no time left to keep


def test_the_queue_behind_a_request_makes_it_plan_for_less_but_keep_its_deadline() -> None:
    goal = MaximizeAccuracy(deadline=0.05)
    qs, w, ctl = server(goal)
    # one request due 40 ms from now waits behind: the fastest expected latency is μ0·6 ms = 6 ms,
    # so this one plans for 34 ms: any@3 (31 ms) still fits
    r = qs.serve(None, [1], arrival=w.t, queued=[w.t + 0.040])
    assert r.reserve_s == pytest.approx(0.016) and r.record.deadline_s == pytest.approx(0.034)
    assert (r.record.model, r.record.stage) == ("any", 3)
    # due 30 ms from now: plan for 24 ms, so any@2 (15 ms)
    w.t += 1.0
    r = qs.serve(None, [1], arrival=w.t, queued=[w.t + 0.030])
    assert r.record.deadline_s == pytest.approx(0.024) and (r.record.model, r.record.stage) == ("any", 2)
    # a queue already behind keeps everything: the fastest, any@1; the anytime model still runs
    # to the request's own 50 ms deadline, so its one stage is delivered and the deadline is met
    w.t += 1.0
    r = qs.serve(None, [1], arrival=w.t, queued=[w.t + 0.001])
    assert (r.record.model, r.record.stage) == ("any", 1) and r.record.stage_reached == 1
    assert r.goals_met == {"deadline": True} and r.record.delivered_accuracy == Q_ANY[0]
    assert ctl.input_deadline() == pytest.approx(0.05)  # the reserve ends with the request
    # 20 ms kept for the answer's way back: plan for 30 ms, so any@2 (15 ms), not any@3 (31 ms)
    w.t += 1.0
    r = qs.serve(None, [1], arrival=w.t, way_back=0.020)
    assert r.reserve_s == pytest.approx(0.020) and r.record.deadline_s == pytest.approx(0.030)
    assert (r.record.model, r.record.stage) == ("any", 2)


def test_a_fixed_configuration_keeps_no_reserve_and_the_controllers_time_counts() -> None:
    from alert.live.policies import StaticPolicy

    goal = MaximizeAccuracy(deadline=0.05)
    qs, w, ctl = server(goal)
    qs.runtime.ctl = StaticPolicy(ctl, "trad", None, "1c")
    r = qs.serve(None, [1], arrival=w.t, queued=[w.t + 0.030])
    assert r.reserve_s == 0.0 and r.record.model == "trad"
    # the controller's own time is part of what each queued query costs: with an overhead of
    # 2 ms, a query due in 30 ms leaves this one 30 - (6 + 2) = 22 ms, planned less its 2 ms
    qs2, w2, _ = server(goal)
    c2 = Controller(qs2.runtime.ctl.profile, goal, ControllerConfig(estimator="paper", overhead=0.002))
    qs2.runtime.ctl = c2
    r = qs2.serve(None, [1], arrival=w2.t, queued=[w2.t + 0.030])
    assert r.reserve_s == pytest.approx(0.05 - 0.022) and r.record.deadline_s == pytest.approx(0.020)


def test_load_cap_by_hand_and_the_server_keeps_requests_within_it() -> None:
    # M/M/1: P(T > D) = exp(-(1/s - rate)·D) = 1 - q at s = D / (ln(1/(1-q)) + rate·D)
    assert load_cap(0.05, 175.0, 0.99) == pytest.approx(0.05 / (np.log(100.0) + 8.75))
    assert load_cap(0.05, 0.0, 0.99) == pytest.approx(0.05 / np.log(100.0))
    s = load_cap(0.05, 100.0, 0.9)
    assert np.exp(-(1 / s - 100.0) * 0.05) == pytest.approx(0.1)
    goal = MaximizeAccuracy(deadline=0.05)
    qs, w, ctl = server(goal)
    qs.percentile = 0.99
    for i in range(10):  # one request every 50 ms: 20 per second once 8 have arrived
        w.t = 1.0 + 0.05 * i
        r = qs.serve(None, [1], arrival=w.t)
    cap = load_cap(0.05, 20.0, 0.99)  # 8.9 ms: any@1 (6 ms), not any@2 (15 ms) nor any@3
    assert qs.arrival_rate() == pytest.approx(20.0)
    assert r.record.deadline_s == pytest.approx(cap) and r.reserve_s == pytest.approx(0.05 - cap)
    assert (r.record.model, r.record.stage) == ("any", 1) and r.goals_met == {"deadline": True}
    assert ctl.input_deadline() == pytest.approx(0.05)  # the cap ends with the request
    with pytest.raises(ValueError, match="percentile"):
        QueryServer(qs.runtime, goal, percentile=1.0)


def test_aci_judges_an_input_by_its_own_deadline_not_the_reserved_one() -> None:
    qs, w, _ = server(MaximizeAccuracy(deadline=0.05))
    ctl = Controller(qs.runtime.ctl.profile, MaximizeAccuracy(deadline=0.05), ControllerConfig(overhead=0.0))
    assert ctl.config.step > 0  # the default controller adapts its miss allowance (ACI)
    ctl.set_reserve(0.045)
    assert ctl.decide().deadline == pytest.approx(0.005)  # planned for what the reserve leaves
    ctl.observe(latency=0.031)  # past the planned 5 ms, within its own 50 ms: no miss
    assert ctl.stats.misses == 0
    ctl.set_reserve(0.0)
    ctl.decide()
    ctl.observe(latency=0.060)  # past its own deadline: a miss
    assert ctl.stats.misses == 1
    with pytest.raises(ValueError, match="reserve"):
        ctl.set_reserve(-1.0)


def test_energy_windows_tile_and_the_answer_goes_out_before_observe() -> None:
    qs, w, ctl = server(MaximizeAccuracy(deadline=0.05))
    seen = []
    t_first = w.t
    for idle in (0.0, 0.1, 0.25):
        w.t += idle
        r = qs.serve(None, [1], arrival=w.t, respond=lambda res: seen.append(ctl.stats.observed))
        # 5 W over the window from the end of the previous request to the end of this one
        assert r.record.energy_j == pytest.approx(5.0 * (idle + T_ANY[2]) if seen[:-1] else 5.0 * T_ANY[2])
    assert seen == [0, 1, 2]  # each answer went out before its own observe
    assert ctl.stats.observed == 3 and w.t - t_first == pytest.approx(0.35 + 3 * T_ANY[2])


def test_per_request_goals_and_their_judgement() -> None:
    qs, w, _ = server(MaximizeAccuracy(deadline=0.05))
    r = qs.serve(None, None, arrival=w.t, goal=MinimizeEnergy(deadline=0.05, accuracy=0.9))
    assert r.record.model == "trad" or (r.record.model, r.record.stage) == ("any", 3)
    assert set(r.goals_met) == {"deadline", "accuracy"} and r.goal_met
    g = MaximizeAccuracy(deadline=0.02, power=10.0)  # budget 0.2 J
    assert judge_goals(g, 0.019, 1, 0.8, 0.2) == {"deadline": True, "energy": True}
    assert judge_goals(g, 0.021, 1, 0.8, 0.21) == {"deadline": False, "energy": False}
    assert judge_goals(g, 0.01, 0, 0.1, 0.1) == {"deadline": False, "energy": True}  # nothing delivered
    assert judge_goals(MinimizeEnergy(0.02, 0.9), 0.01, None, 0.89, 1.0) == {"deadline": True, "accuracy": False}
    # a power budget is average power over the request's energy window: 10 W x 0.1 s = 1 J
    assert judge_goals(g, 0.019, 1, 0.8, 0.9, window_s=0.1) == {"deadline": True, "energy": True}
    assert judge_goals(g, 0.019, 1, 0.8, 0.15, window_s=0.01) == {"deadline": True, "energy": False}  # 0.1 J
    e = MaximizeAccuracy(deadline=0.02, energy=0.2)  # an energy budget is per request, whatever the window
    assert judge_goals(e, 0.019, 1, 0.8, 0.9, window_s=0.1) == {"deadline": True, "energy": False}
    assert adjusted_goal(MinimizeEnergy(0.02, 0.9, pr_th=0.8), 0.005) == MinimizeEnergy(0.015, 0.9, pr_th=0.8)


def test_an_anytime_model_without_output_is_observed_as_stage_zero() -> None:
    """The runtime tells the controller that no stage finished (stage 0: a miss, and stage 1's
    latency known only to pass the stop time), and passes a reached stage as it is."""
    goal = MaximizeAccuracy(deadline=0.05)
    qs, w, ctl = server(goal)
    seen = []
    observe = ctl.observe

    def spy(latency, **kw):
        seen.append(kw.get("stage"))
        return observe(latency, **kw)

    ctl.observe = spy  # type: ignore[method-assign]
    qs.serve(None, [1], arrival=w.t)                 # any@3 within the deadline: stage 3 as decided
    w.t += 1.0
    qs.serve(None, [1], arrival=w.t - 0.045)         # 5 ms left: any@1 (6 ms) finishes nothing
    assert seen == [3, 0]
    assert ctl.stats.observed == 2
