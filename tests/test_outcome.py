"""The outcome kernel (``alert.outcome``): hand-computed cases, its scalar and vectorised forms
agree, and one small trace gives identical outcomes through the live runtime (fake clock, fake
runner, fake meter), the replay and the sentence replay."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alert import outcome
from alert.controller import Decision
from alert.evaluation import sentence
from alert.evaluation.metrics import Constraint
from alert.evaluation.replay import deliver, outcomes
from alert.evaluation.traces import Trace
from alert.goals import MaximizeAccuracy
from alert.profile import Model, Profile, Setting
from alert.runtime import RunOutput, Runtime
from alert.system.base import EnergyReading, Meter
from alert.system.simulated import SimulatedKnob

CORES = [0.5, 1.0, 2.0]
T_SMALL = [0.020, 0.010, 0.006]
T_BIG = [0.060, 0.030, 0.016]
T_ANY = [[0.012, 0.006, 0.004], [0.030, 0.015, 0.009], [0.062, 0.031, 0.017]]
IDLE = [1.0, 2.0, 3.0]
Q_FAIL = 0.1


def profile() -> Profile:
    settings = tuple(Setting(f"{c}c", c, "cores", i) for c, i in zip(CORES, IDLE, strict=True))
    pw = np.array([[5.0 + 10 * c for c in CORES]])
    return Profile((Model("small", "traditional", np.array([0.80]), np.array([T_SMALL]), pw),
                    Model("big", "traditional", np.array([0.92]), np.array([T_BIG]), pw + 1.0),
                    Model("any", "anytime", np.array([0.78, 0.88, 0.93]), np.array(T_ANY),
                          np.repeat(pw + 2.0, 3, 0))),
                   settings, Q_FAIL, "kernel")


# ------------------------------------------------------------------------------ hand-computed
def test_hand_computed_cases():
    p = profile()
    T = 0.025
    ends = p.t_prof[:, 1]  # 1 core: small 10, big 30, any 6/15/31 ms
    any3 = p.candidate_index("any", 3)
    o = outcome.input_outcome(p, any3, ends, T, power=27.0, idle_power=2.0)
    # stage 3 ends at 31 ms > 25: stage 2 (15 ms) is the output; stopped at 25 ms
    assert (o.row, o.stage, o.output_time, o.on_time, o.accuracy) == (any3 - 1, 2, 0.015, True, 0.88)
    assert o.run_time == pytest.approx(0.025) and o.energy == pytest.approx(27.0 * 0.025)
    # not pre-emptible: stage 3 runs to its end (31 ms), energy with no idle left
    o = outcome.input_outcome(p, any3, ends, T, preempt=False, power=27.0, idle_power=2.0)
    assert (o.row, o.accuracy, o.run_time) == (any3 - 1, 0.88, 0.031) and o.energy == pytest.approx(27.0 * 0.031)
    big = p.candidate_index("big")
    o = outcome.input_outcome(p, big, ends, T, power=16.0, idle_power=2.0)  # 30 ms > 25: late
    assert (o.row, o.stage, o.on_time, o.accuracy, o.run_time) == (big, None, False, Q_FAIL, 0.030)
    assert o.energy == pytest.approx(16.0 * 0.030)
    small = p.candidate_index("small")
    o = outcome.input_outcome(p, small, ends, T, power=15.0, idle_power=2.0)
    assert (o.on_time, o.accuracy) == (True, 0.80) and o.energy == pytest.approx(15.0 * 0.010 + 2.0 * 0.015)
    # 16 ms spent before the model started: its output comes 26 ms after the arrival
    o = outcome.input_outcome(p, small, ends, T, start=0.016, power=15.0, idle_power=2.0)
    assert (o.on_time, o.accuracy) == (False, Q_FAIL)  # 16 + 10 ms > 25
    # anytime with nothing by the stop: no output, observed as the stop against stage 1
    o = outcome.input_outcome(p, any3, ends, T, stop=0.005, power=27.0, idle_power=2.0)
    assert (o.row, o.stage, o.on_time, o.accuracy, o.run_time) == (outcome.NO_OUTPUT, 0, False, Q_FAIL, 0.005)
    assert outcome.observation(p, any3, o.row, o.output_time, 0.005) == (0.005, p.first_row(any3), 0)
    assert outcome.observation(p, big, big, 0.030, T) == (0.030, big, None)
    # no period: inference energy only
    assert outcome.input_outcome(p, small, ends, T, power=15.0, period=None).energy == pytest.approx(0.15)


def test_judge_one_matches_the_runtime_stage_convention():
    p = profile()
    any3 = p.candidate_index("any", 3)
    assert outcome.output_row(p, any3, 0) == outcome.NO_OUTPUT
    assert outcome.output_row(p, any3, 1) == p.first_row(any3)
    assert outcome.output_row(p, 0, None) == 0
    assert outcome.judge_one(p, outcome.NO_OUTPUT, 0.001, 1.0) == (False, Q_FAIL)
    assert outcome.judge_one(p, any3, 0.02, 0.02) == (True, 0.93)  # on the deadline counts as on time
    assert outcome.judge_one(p, any3, math.nan, 1.0) == (False, Q_FAIL)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), preempt=st.booleans(), start=st.floats(0.0, 0.02),
       stop_scale=st.floats(0.0, 1.5))
def test_scalar_and_vectorised_forms_agree(seed, preempt, start, stop_scale):
    p = profile()
    rng = np.random.default_rng(seed)
    N = 4
    ends = p.t_prof[None] * rng.uniform(0.5, 3.0, (N, 1, 1)) * rng.uniform(0.9, 1.1, (N, 1, p.shape[1]))
    power = np.broadcast_to(p.power, ends.shape)
    idle = p.idle_power[None, None, :]
    T = 0.025
    stop = stop_scale * (T - start)
    t = outcome.table(p, ends, power, idle, T, stop=stop, start=start, preempt=preempt)
    for n in range(N):
        for c in range(p.shape[0]):
            for j in range(p.shape[1]):
                o = outcome.input_outcome(p, c, ends[n, :, j], T, stop=stop, start=start, preempt=preempt,
                                          power=float(power[n, c, j]), idle_power=float(p.idle_power[j]))
                assert o.row == t.row[n, c, j]
                assert o.on_time == t.on_time[n, c, j]
                assert o.accuracy == t.accuracy[n, c, j]
                assert o.run_time == t.run_time[n, c, j]
                assert o.energy == t.energy[n, c, j]
                assert (math.isnan(o.output_time) and np.isnan(t.output_time[n, c, j])) or \
                    o.output_time == t.output_time[n, c, j]
                # brute force of rule 1 and 2 from the stage end times
                m = p.candidates[c]
                rows = list(range(p.first_row(c), c + 1)) if m.stage else [c]
                fin = [r for r in rows if ends[n, r, j] <= stop] if m.stage else rows
                want_row = fin[-1] if fin else -1
                assert o.row == want_row
                on = want_row >= 0 and start + ends[n, want_row, j] <= T
                assert o.accuracy == (p.q[want_row] if on else Q_FAIL)


# ------------------------------------------------------------------------------ one trace, three paths
SLOWDOWNS = [0.8, 1.0, 1.6, 2.5, 4.0, 1.2]
DEADLINE = 0.025


def small_trace() -> tuple[Trace, np.ndarray, np.ndarray]:
    """Every configuration once, each input under its own slowdown; returns the trace and the
    per-input (candidate, setting)."""
    p = profile()
    C, L = p.shape
    cand = np.array([c for c in range(C) for _ in range(L)] * 2)
    sett = np.array([j for _ in range(C) for j in range(L)] * 2)
    N = cand.size
    s = np.array([SLOWDOWNS[n % len(SLOWDOWNS)] * (1 + 0.37 * (n // len(SLOWDOWNS))) for n in range(N)])
    lat = p.t_prof[None] * s[:, None, None]
    power = np.broadcast_to(p.power, lat.shape).copy()
    idle = np.broadcast_to(p.idle_power, (N, L)).copy()
    return Trace(p, lat, power, idle, name="kernel"), cand, sett


class Script:
    """A policy that plays a fixed list of configurations (the runtime's controller interface)."""

    def __init__(self, prof: Profile, cand: np.ndarray, sett: np.ndarray) -> None:
        self.profile, self.goal = prof, MaximizeAccuracy(deadline=DEADLINE)
        self.plan = list(zip(cand.tolist(), sett.tolist(), strict=True))
        self.n = -1

    def decide(self) -> Decision:
        self.n += 1
        c, j = self.plan[self.n]
        cd, s = self.profile.candidates[c], self.profile.settings[j]
        return Decision(c, cd.model, cd.stage, j, s.name, s.value, DEADLINE, 0.0, 0.0, 0.0, 0.0, {}, ())

    def observe(self, *a: object, **k: object) -> None:
        pass


class World:
    """A fake clock; models take their trace latency; the meter charges the running model's power
    while it runs and the setting's idle power otherwise."""

    def __init__(self, trace: Trace, knob: SimulatedKnob, preempt: bool) -> None:
        self.trace, self.knob, self.preempt = trace, knob, preempt
        self.t = 0.0
        self.n = -1
        self.busy: list[tuple[float, float, float]] = []  # (start, end, power)

    def clock(self) -> float:
        return self.t

    def runner(self, name: str):
        p = self.trace.profile

        def run(x: object, stage: int | None, deadline: float | None, stage_ends=None) -> RunOutput:
            self.n += 1
            n, j = self.n, CORES.index(self.knob.read())
            t0 = self.t
            if stage is None:
                c = p.candidate_index(name)
                end = t0 + self.trace.latency[n, c, j]
                self.busy.append((t0, end, self.trace.power[n, c, j]))
                self.t = end
                return RunOutput("out", None)
            c = p.candidate_index(name, stage)
            reached, t_out = 0, None
            for k in range(1, stage + 1):
                e = self.trace.latency[n, p.stage_row(c, k), j]
                if deadline is not None and e > deadline:
                    e = deadline if self.preempt else e  # stopped at the deadline, or the stage ends
                    self.busy.append((t0, t0 + e, self.trace.power[n, c, j]))
                    self.t = t0 + e
                    return RunOutput("out" if reached else None, reached, None, t_out)
                reached, t_out = k, e
            self.busy.append((t0, t0 + t_out, self.trace.power[n, c, j]))
            self.t = t0 + t_out
            return RunOutput("out", reached, None, t_out)

        return run


class BusyMeter(Meter):
    method = "model:test"

    def __init__(self, world: World) -> None:
        self.w = world
        self.t0 = 0.0

    def start(self) -> None:
        self.t0 = self.w.t

    def stop(self) -> EnergyReading:
        a, b = self.t0, self.w.t
        busy = [(max(s, a), min(e, b), pw) for s, e, pw in self.w.busy if min(e, b) > max(s, a)]
        t_busy = sum(e - s for s, e, _ in busy)
        idle = self.w.trace.idle_power[0, CORES.index(self.w.knob.read())]
        return EnergyReading(sum((e - s) * pw for s, e, pw in busy) + idle * (b - a - t_busy), b - a, self.method)


def live(trace: Trace, cand: np.ndarray, sett: np.ndarray, preempt: bool, monkeypatch) -> list:
    import alert.live.runtime as runtime_mod

    knob = SimulatedKnob(CORES, unit="cores")
    world = World(trace, knob, preempt)
    monkeypatch.setattr(runtime_mod.time, "sleep", lambda s: setattr(world, "t", world.t + s))
    rt = Runtime(Script(trace.profile, cand, sett), knob, BusyMeter(world),
                 {m.name: world.runner(m.name) for m in trace.profile.models}, clock=world.clock)
    return rt.serve([None] * trace.n_inputs, period=DEADLINE)


@pytest.mark.parametrize("preempt", [True, False])
def test_live_runtime_replay_and_sentence_replay_deliver_the_same(preempt, monkeypatch):
    trace, cand, sett = small_trace()
    N = trace.n_inputs
    recs = live(trace, cand, sett, preempt, monkeypatch)
    d = deliver(outcomes(trace, DEADLINE, preempt=preempt), cand, sett)
    # the trace exercises every branch of the rule
    anytime = trace.profile.is_anytime[cand]
    stages = np.array([r.stage_reached if r.stage_reached is not None else -1 for r in recs])
    assert (anytime & (stages == 0)).any() and (anytime & (stages >= 1) & (stages < trace.profile.cand_stage[cand] + 1)).any()
    assert (~anytime & d.late).any() and (~anytime & ~d.late).any()

    assert [r.model for r in recs] == [trace.profile.candidates[c].model for c in cand]
    assert np.array_equal([not r.met_deadline for r in recs], d.late)
    assert np.array_equal([r.delivered_accuracy for r in recs], d.accuracy)
    assert np.allclose([r.run_s for r in recs], d.run_time, rtol=1e-12, atol=0)  # clock differences
    # the meter integrates p while running and p_idle while idle over the input's period
    assert np.allclose([r.energy_j for r in recs], d.energy, rtol=1e-12, atol=0)
    assert np.all(np.array([r.energy_j for r in recs]) > 0)

    if not preempt:
        return  # the sentence replay stops an anytime model at its budget
    lengths = np.ones(N, dtype=np.int64)  # every input its own sentence, whose deadline is the input's
    s = sentence._run(trace, lengths, Constraint("min-error", DEADLINE, power_budget=100.0),
                      lambda n, s_, w, e, D: (int(cand[n]), int(sett[n]), D))
    assert np.array_equal(s.accuracy, d.accuracy)
    assert np.array_equal(s.energy, d.energy)
    assert np.array_equal(s.elapsed, d.run_time)
    assert s.words_late == int(d.late.sum())


@pytest.mark.parametrize("deadline", [0.005, 0.012, 0.025, 0.07])
def test_estimates_are_the_expected_form_of_the_rule(deadline):
    """With the latency known exactly (ALERT*: Pr is 1 or 0) the estimates of every configuration
    are the rule's outcome at latency μ·t_prof (Eq. 7/13 accuracy, Eq. 9 energy)."""
    from alert.estimate import estimate
    from profile_factory import gaussian

    p = profile()
    mu = 1.3
    est = estimate(p, gaussian(mu, 0.2), 1.0, deadline, mean_only=True, idle_model="setting")
    t = outcome.table(p, mu * p.t_prof, p.power, p.idle_power[None, :], deadline)
    assert np.allclose(est.accuracy, t.accuracy, rtol=0, atol=1e-12)
    assert np.allclose(est.energy, t.energy, rtol=1e-12, atol=0)
    assert np.array_equal(est.pr == 1.0, mu * p.t_prof <= deadline)
