"""The live runtime on a simulated knob with models that take their profiled time on a fake clock."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from alert.controller import Controller, ControllerConfig
from alert.goals import MaximizeAccuracy, MinimizeEnergy
from alert.profile import Model, Profile, Setting
from alert.runtime import LOG_COLUMNS, RunOutput, Runtime, StaticPolicy, load_entry_point, summarize
from alert.system.meters import SimulatedMeter
from alert.system.simulated import SimulatedKnob

CORES = [0.5, 1.0, 2.0]
# latency (s) per setting; the anytime model's stage end times
T_SMALL = [0.020, 0.010, 0.006]
T_BIG = [0.060, 0.030, 0.016]
T_ANY = [[0.012, 0.006, 0.004], [0.030, 0.015, 0.009], [0.062, 0.031, 0.017]]


def profile() -> Profile:
    settings = tuple(Setting(f"{c}c", c, "cores", 2.0) for c in CORES)
    pw = np.array([[5.0 + 10 * c for c in CORES]])
    return Profile((Model("small", "traditional", np.array([0.80]), np.array([T_SMALL]), pw),
                    Model("big", "traditional", np.array([0.92]), np.array([T_BIG]), pw),
                    Model("any", "anytime", np.array([0.78, 0.88, 0.93]), np.array(T_ANY), np.repeat(pw, 3, 0))),
                   settings, 0.1, "test")


class World:
    """A fake clock and models whose latency is profiled time × slowdown at the knob's setting."""

    def __init__(self, knob: SimulatedKnob) -> None:
        self.t = 0.0
        self.slowdown = 1.0
        self.knob = knob
        self.calls: list[tuple[str, int | None, float | None]] = []

    def clock(self) -> float:
        return self.t

    def runner(self, name: str):
        j = CORES.index(self.knob.read())

        def run(x: object, stage: int | None, deadline: float | None, stage_ends=None) -> RunOutput:
            j = CORES.index(self.knob.read())
            self.calls.append((name, stage, deadline))
            if name == "any":
                t0, reached, t_out = self.t, 0, None
                for k in range(stage or 3):
                    end = t0 + T_ANY[k][j] * self.slowdown
                    if deadline is not None and end - t0 > deadline:
                        self.t = end  # the late stage still ran
                        break
                    self.t, reached, t_out = end, k + 1, end - t0
                return RunOutput("out", reached, [3] if reached else None, t_out)
            self.t += (T_SMALL if name == "small" else T_BIG)[j] * self.slowdown
            return RunOutput("out", None, [3])

        _ = j
        return run


def make(goal, policy: str = "alert", candidates: str = "all"):
    knob = SimulatedKnob(CORES, unit="cores")
    world = World(knob)
    ctl = Controller(profile(), goal, ControllerConfig(estimator="paper", overhead=0.0, candidates=candidates))
    pol = ctl if policy == "alert" else StaticPolicy.best_quiet(ctl)
    meter = SimulatedMeter(lambda: 5.0 + 10 * knob.read(), clock=world.clock)
    names = ("small", "big", "any") if candidates == "all" else ("any",)
    rt = Runtime(pol, knob, meter, {n: world.runner(n) for n in names}, clock=world.clock)
    return rt, world, knob


def test_runtime_logs_every_input_and_applies_only_changes(tmp_path: Path) -> None:
    rt, world, knob = make(MinimizeEnergy(deadline=0.05, accuracy=0.85))
    recs = rt.serve(((None, 3) for _ in range(20)), log=tmp_path / "log.csv")
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert len(rows) == 20 and tuple(rows[0]) == LOG_COLUMNS
    assert sum(r.applied for r in recs) == len(knob.history) >= 1
    assert knob.history[0] == recs[0].setting_value
    changes = [i for i in range(1, 20) if recs[i].setting != recs[i - 1].setting]
    assert sum(r.applied for r in recs[1:]) == len(changes)
    assert all(r.correct == 1 and r.energy_method == "simulated" for r in recs)
    # energy = (5 + 10·cores) W × latency, from the simulated meter
    r = recs[-1]
    assert r.energy_j == pytest.approx((5 + 10 * r.setting_value) * r.latency_s)
    assert rows[-1]["model"] == r.model and float(rows[-1]["latency_s"]) == pytest.approx(r.latency_s)


def test_anytime_stops_at_deadline_and_delivers_the_earlier_stage() -> None:
    rt, world, knob = make(MaximizeAccuracy(deadline=0.02), candidates="anytime")
    world.slowdown = 3.0  # stage 1 at 2 cores ends at 36 ms... unless the deadline stops it earlier
    rec = rt.step(None, label=3)
    assert (rec.model, rec.stage, rec.setting_value) == ("any", 3, 2.0)  # quiet profile: 17 ms < 20 ms
    assert world.calls[0] == ("any", 3, pytest.approx(0.02))
    # at 3x: stage 1 ends at 12 ms, stage 2 at 27 ms (late, still ran): stage 1's output is delivered
    assert rec.stage_reached == 1
    assert rec.latency_s == pytest.approx(0.012) and rec.run_s == pytest.approx(0.027)
    assert rec.met_deadline and rec.delivered_accuracy == 0.78


def test_anytime_run_stops_at_the_real_deadline_not_the_overhead_reserve() -> None:
    """The controller plans with T minus its overhead reserve (§3.2 step 2); the running model
    stops at the input's real deadline, less the time already spent deciding."""
    rt, world, knob = make(MaximizeAccuracy(deadline=0.02), candidates="anytime")
    rt.ctl.config = ControllerConfig(estimator="paper", overhead=0.015, candidates="anytime")  # a stall inflated the reserve
    decide = rt.ctl.decide

    def slow_decide():
        d = decide()
        world.t += 0.001  # 1 ms of deciding
        return d
    rt.ctl.decide = slow_decide  # type: ignore[method-assign]
    rec = rt.step(None, label=3)
    assert rec.deadline_s == pytest.approx(0.005)  # planned with 20 - 15 ms: stage 1 at 2 cores (4 ms)
    assert world.calls[0][2] == pytest.approx(0.019)  # the run may use the real 20 ms, less 1 ms spent
    assert rec.met_deadline and rec.stage_reached == rec.stage


def test_alert_adapts_to_slowdown_where_static_misses() -> None:
    goal = MinimizeEnergy(deadline=0.025, accuracy=0.85)
    results = {}
    for policy in ("alert", "static"):
        rt, world, knob = make(goal, policy)
        recs = []
        for n in range(120):
            world.slowdown = 2.0 if 40 <= n < 80 else 1.0  # contention episode
            recs.append(rt.step(None, 3))
        miss = [not r.met_deadline or r.delivered_accuracy < goal.accuracy for r in recs[40:80]]
        results[policy] = (float(np.mean(miss)), recs[0].model, recs[0].stage, recs[0].setting_value)
    # the quiet profile's best is any@2 at 1 core (15 ms); at 2x, stage 2 ends at 30 ms > 25 ms, so only
    # stage 1 (78 % < 85 %) is delivered on every input of the episode
    assert results["static"] == (1.0, "any", 2, 1.0)
    assert results["alert"][0] < 0.2


def test_runtime_checks_unit_and_models() -> None:
    knob = SimulatedKnob([10.0, 20.0], unit="W")
    ctl = Controller(profile(), MinimizeEnergy(deadline=0.05, accuracy=0.85), ControllerConfig(estimator="paper"))
    with pytest.raises(ValueError, match="settings in 'cores' but the simulated knob sets 'W'"):
        Runtime(ctl, knob, SimulatedMeter(lambda: 1.0), {})
    with pytest.raises(ValueError, match=r"no runner for profile models \['any', 'big'\]"):
        Runtime(ctl, SimulatedKnob(CORES, unit="cores"), SimulatedMeter(lambda: 1.0), {"small": lambda *a: None})


def test_summarize_and_paced_serving() -> None:
    import time

    rt, world, knob = make(MinimizeEnergy(deadline=0.05, accuracy=0.85))
    rt.clock = time.perf_counter  # real pacing, fake model time
    rt.meter.clock = time.perf_counter
    t0 = time.perf_counter()
    recs = rt.serve([(None, 3)] * 5, period=0.01)
    assert time.perf_counter() - t0 >= 0.04
    s = summarize(recs)
    assert s["inputs"] == 5 and s["accuracy_measured"] == 1.0


def test_unpaced_serving_reads_no_idle_power_from_a_window_of_the_run_alone() -> None:
    """Unpaced, the meter window covers the run alone: there is no idle phase in it, so φ (Eq. 8)
    keeps its prior instead of being read as (energy − p·latency) / (deadline − latency) ≈ 0."""
    rt, world, knob = make(MinimizeEnergy(deadline=0.05, accuracy=0.85))
    ctl = rt.ctl
    phi0 = ctl.idle.phi
    recs = rt.serve([(None, 3)] * 20)
    assert all(r.energy_j > 0 for r in recs) and ctl.stats.observed == 20
    assert ctl.idle.phi == phi0 and ctl.idle.n == 0


def test_the_controller_is_told_how_long_the_model_ran(monkeypatch) -> None:
    """An anytime model stopped at the deadline ran past its delivered output: observe gets the
    run time (``elapsed``) beside the latency, as the replay feeds it."""
    rt, world, knob = make(MaximizeAccuracy(deadline=0.02), candidates="anytime")
    got = []
    real = rt.ctl.observe
    monkeypatch.setattr(rt.ctl, "observe", lambda **kw: (got.append(kw), real(**kw))[1])
    world.slowdown = 2.5  # stage 3 at 2 cores takes 42 ms, stage 2 takes 22.5 ms: late stages still run
    recs = rt.serve([(None, 3)] * 10)
    assert [kw["elapsed"] for kw in got] == [r.run_s for r in recs]
    assert any(r.run_s > r.latency_s for r in recs)


def test_paced_serving_reads_idle_power_from_the_rest_of_the_period() -> None:
    """Paced, an input's meter window is its whole period: idle power is read from the part after
    the run, here the meter's constant 5 + 10·cores W, so φ (Eq. 8, idle / inference power of
    the configuration) moves from its prior towards 1."""
    import time

    rt, world, knob = make(MinimizeEnergy(deadline=0.05, accuracy=0.85))
    rt.clock = time.perf_counter  # real pacing, fake model time (a run takes no real time)
    rt.meter.clock = time.perf_counter
    ctl = rt.ctl
    phi0 = ctl.idle.phi
    rt.serve([(None, 3)] * 6, period=0.04)  # (the fake models report up to 31 ms of latency)
    assert ctl.idle.n >= 5 and phi0 < ctl.idle.phi <= 1.0 + 1e-9


def test_a_policy_written_before_elapsed_is_still_served() -> None:
    """A policy whose observe has the protocol's older signature (no ``elapsed``) is called without
    it, with one warning."""
    rt, world, knob = make(MinimizeEnergy(deadline=0.05, accuracy=0.85))
    ctl = rt.ctl
    seen = []

    class Old:
        profile, goal = ctl.profile, ctl.goal

        def decide(self):
            return ctl.decide()

        def set_goal(self, goal):
            ctl.set_goal(goal)

        def observe(self, latency, energy=None, idle_power=None, stage=None, period=None):
            seen.append(period)
            ctl.observe(latency, energy=energy, idle_power=idle_power, stage=stage, period=period)

    rt.ctl = Old()
    with pytest.warns(RuntimeWarning, match="elapsed"):
        recs = rt.serve([(None, 3)] * 3)
    assert len(seen) == 3 and seen == [r.run_s for r in recs]


def test_paced_meter_windows_tile_the_run_and_arrivals_do_not_drift(monkeypatch) -> None:
    """Paced serving: one meter window per input from its arrival to the next, so the controller's
    decide/observe time is metered too, and arrivals keep the sensor's schedule."""
    import alert.live.runtime as runtime_mod

    rt, world, knob = make(MinimizeEnergy(deadline=0.05, accuracy=0.85))
    cost = 0.0005  # fake seconds per decide and per observe
    decide, observe = rt.ctl.decide, rt.ctl.observe

    def slow_decide(*a, **k):
        world.t += cost
        return decide(*a, **k)

    def slow_observe(*a, **k):
        world.t += cost
        return observe(*a, **k)
    monkeypatch.setattr(rt.ctl, "decide", slow_decide)
    monkeypatch.setattr(rt.ctl, "observe", slow_observe)
    monkeypatch.setattr(runtime_mod.time, "sleep", lambda s: setattr(world, "t", world.t + s))
    windows: list[tuple[float, float]] = []
    start, stop = rt.meter.start, rt.meter.stop

    def rec_start():
        windows.append((world.t, float("nan")))
        start()

    def rec_stop():
        windows[-1] = (windows[-1][0], world.t)
        return stop()
    monkeypatch.setattr(rt.meter, "start", rec_start)
    monkeypatch.setattr(rt.meter, "stop", rec_stop)
    period = 0.05
    recs = rt.serve([(None, 3)] * 8, period=period)
    assert len(recs) == 8
    # windows: one per input plus the empty one opened by the last close; they tile without gaps
    assert all(b[0] == pytest.approx(a[1]) for a, b in zip(windows, windows[1:], strict=False))
    for n, r in enumerate(recs):
        assert windows[n][1] - windows[n][0] == pytest.approx(period)  # no input here is late
        p = 5 + 10 * r.setting_value
        assert r.energy_j == pytest.approx(p * period)  # the whole period, decide and observe included
    # arrival n at n·period: input n starts after the previous input's observe, and no later
    assert [r.time_s - n * period for n, r in enumerate(recs)][1:] == pytest.approx([cost] * 7)


def test_entry_point_from_file(tmp_path: Path) -> None:
    f = tmp_path / "my-models.py"
    f.write_text("def build():\n    return {'a': 1}\n")
    assert load_entry_point(f"{f}:build")() == {"a": 1}
    with pytest.raises(ValueError, match="no function 'nope'"):
        load_entry_point(f"{f}:nope")
    with pytest.raises(ValueError, match="expected module:function"):
        load_entry_point("justamodule")


class Stages:
    """An anytime model whose stages take 2, 3 and 5 ms on a fake clock."""

    n_stages = 3
    durations = (0.002, 0.003, 0.005)

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock

    def init_state(self, x: object) -> dict:
        return {}

    def run_stage(self, k: int, state: dict) -> np.ndarray:
        self.clock[0] += self.durations[k]
        out = np.zeros((1, 10))
        out[0, k] = 1.0
        return out


def test_run_stages_skips_a_stage_predicted_to_end_late_and_drops_a_late_one() -> None:
    from alert.runtime import run_stages

    t = [0.0]
    m = Stages(t)
    clock = lambda: t[0]  # noqa: E731
    r = run_stages(m, None, 3, deadline=0.006, stage_ends=[0.002, 0.005, 0.010], clock=clock)
    assert (r.stage, r.prediction, r.output_time) == (2, [1], pytest.approx(0.005))
    assert t[0] == pytest.approx(0.005)  # stage 3 (5 ms more) was never started
    t[0] = 0.0
    r = run_stages(m, None, 3, deadline=0.006, stage_ends=[0.001, 0.002, 0.003], clock=clock)  # optimistic
    assert r.stage == 2 and t[0] == pytest.approx(0.010)  # stage 3 started, ended late, not delivered
    t[0] = 0.0
    r = run_stages(m, None, 2, deadline=None, clock=clock)
    assert r.stage == 2 and r.prediction == [1]
    t[0] = 0.0
    r = run_stages(m, None, 3, deadline=0.001, clock=clock)
    assert r.stage == 0 and r.output is None and r.prediction is None
