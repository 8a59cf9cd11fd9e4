"""The profiler with deterministic fake models on a fake clock: statistics, accuracy, resume, traces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alert.profile import Profile
from alert.profiler import Profiler, ProfilerConfig, stage_accuracy, stage_times
from alert.system.meters import SimulatedMeter
from alert.system.simulated import SimulatedKnob


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return Clock.t


class Trad:
    """Takes ``base / cores`` seconds; predicts the first pixel as the class."""

    def __init__(self, base: float, knob: SimulatedKnob) -> None:
        self.base, self.knob = base, knob

    def __call__(self, x: np.ndarray) -> np.ndarray:
        Clock.t += self.base / self.knob.read()
        out = np.zeros((x.shape[0], 10))
        out[np.arange(x.shape[0]), x[:, 0].astype(int)] = 1.0
        return out


class Any2:
    """Two stages; stage 1 is right only for even labels, stage 2 always."""

    n_stages = 2

    def __init__(self, knob: SimulatedKnob) -> None:
        self.knob = knob

    def anytime(self, x):  # the profiler uses init_state/run_stage; present for detection
        raise AssertionError

    def init_state(self, x: np.ndarray) -> dict:
        return {"x": x}

    def run_stage(self, k: int, state: dict) -> np.ndarray:
        Clock.t += (0.01 if k == 0 else 0.02) / self.knob.read()
        x = state["x"]
        lab = x[:, 0].astype(int)
        pred = lab if k == 1 else np.where(lab % 2 == 0, lab, (lab + 1) % 10)
        out = np.zeros((x.shape[0], 10))
        out[np.arange(x.shape[0]), pred] = 1.0
        return out

    def __call__(self, x: np.ndarray) -> list[np.ndarray]:
        s = self.init_state(x)
        return [self.run_stage(0, s), self.run_stage(1, s)]


FAKE = {"clock": Clock(), "sleep": lambda s: setattr(Clock, "t", Clock.t + s)}


@pytest.fixture
def setup():
    clock = Clock()
    Clock.t = 0.0
    knob = SimulatedKnob([1.0, 2.0], unit="cores")
    meter = SimulatedMeter(lambda: 5.0 * knob.read(), clock=clock)
    models = {"small": Trad(0.01, knob), "any": Any2(knob)}
    y = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    x = y[:, None].astype(float)
    samples = [x[i:i + 1] for i in range(10)]
    return knob, meter, models, samples, (x, y)


def test_stage_times_and_accuracy_by_hand(setup) -> None:
    knob, meter, models, samples, (x, y) = setup
    knob.apply(2.0)
    ends, preds = stage_times(models["any"], samples[3], clock=Clock())
    assert ends == pytest.approx([0.005, 0.015]) and preds == [4, 3]
    assert stage_accuracy(models["any"], x, y, batch=4) == [0.5, 1.0]
    assert stage_accuracy(models["small"], x, y) == [1.0]


def test_profile_cells_power_idle_and_accuracy(setup, tmp_path: Path) -> None:
    knob, meter, models, samples, acc = setup
    cfg = ProfilerConfig(repeats=10, warmup=1, settle_s=0.0, idle_s=1.0, name="t", progress=False,
                         checkpoint=tmp_path / "ck.json")
    p = Profiler(models, samples, knob, [1.0, 2.0], meter, cfg, labels=list(acc[1]), accuracy_data=acc, **FAKE).run()
    p = Profile.from_dict(p.to_dict())  # valid profile document
    assert [s.name for s in p.settings] == ["1c", "2c"]
    assert [s.idle_power for s in p.settings] == pytest.approx([5.0, 10.0])  # simulated power while idle
    small = p.models[0]
    assert small.latency[0] == pytest.approx([0.01, 0.005])
    assert small.latency_std[0] == pytest.approx([0.0, 0.0], abs=1e-12)
    any_ = p.models[1]
    assert any_.kind == "anytime" and any_.accuracy.tolist() == [0.5, 1.0]
    assert any_.latency == pytest.approx(np.array([[0.01, 0.005], [0.03, 0.015]]))
    assert any_.power[:, 1] == pytest.approx([10.0, 10.0])
    assert p.metadata["meter"] == ["simulated"] and p.metadata["knob"] == "simulated"


def test_profiler_resumes_from_checkpoint(setup, tmp_path: Path) -> None:
    knob, meter, models, samples, acc = setup
    ck = tmp_path / "ck.json"
    cfg = ProfilerConfig(repeats=4, warmup=0, settle_s=0.0, idle_s=0.1, progress=False, checkpoint=ck)
    calls = {"n": 0}
    real = Profiler.measure_cell

    def failing(self, name, setting):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, name, setting)

    Profiler.measure_cell = failing  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            Profiler(models, samples, knob, [1.0, 2.0], meter, cfg, accuracy_data=acc, **FAKE).run()
        done = json.loads(ck.read_text())["cells"]
        assert sorted(done) == ["any|1", "small|1"]
        calls["n"] = 10
        p = Profiler(models, samples, knob, [1.0, 2.0], meter, cfg, accuracy_data=acc, **FAKE)
        p.run()
        assert calls["n"] == 12  # only the two missing cells were measured
    finally:
        Profiler.measure_cell = real  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="checkpoint of another run"):
        Profiler(models, samples, knob, [1.0], meter, cfg, accuracy_data=acc)


@pytest.mark.parametrize("cell, field, value, says", [
    ("small|1", "energy_j", "x", "'x', expected a finite number >= 0"),
    ("small|1", "energy_j", -1.0, "-1.0, expected a finite number >= 0"),
    ("small|1", "energy_j", float("nan"), "nan, expected a finite number >= 0"),
    ("small|1", "seconds", 0, "0, expected a finite number > 0"),
    ("small|1", "stage_ends", "abc", "'abc', expected 4 lists (one per repeat)"),
    ("small|1", "stage_ends", [], "[], expected 4 lists (one per repeat)"),
    ("small|1", "stage_ends", [[0.01]] * 3 + [[0.01, 0.02]], "expected 4 lists (one per repeat) of the same number"),
    ("small|1", "stage_ends", [[-0.01]] * 4, "expected finite stage end times >= 0 (seconds), got -0.01"),
    ("any|1", "stage_ends", [[0.01]] * 4, "1 stage end time(s) per repeat, but model 'any' has 2 stage(s)"),
    ("small|1", "model", "any", "model 'any' at setting 1.0 does not match the cell's key"),
    ("small|1", "predictions", [["a"]], "expected null or lists of class indices"),
    ("small|1", "busy_s", "1", "'1', expected null or a finite number >= 0"),
])
def test_checkpoint_is_checked_on_load(setup, tmp_path: Path, cell: str, field: str, value, says: str) -> None:
    from alert.safeio import InputError

    knob, meter, models, samples, acc = setup
    ck = tmp_path / "ck.json"
    cfg = ProfilerConfig(repeats=4, warmup=0, settle_s=0.0, idle_s=0.1, progress=False, checkpoint=ck)
    Profiler(models, samples, knob, [1.0, 2.0], meter, cfg, accuracy_data=acc, **FAKE).run()
    doc = json.loads(ck.read_text())
    Profiler(models, samples, knob, [1.0, 2.0], meter, cfg, accuracy_data=acc, **FAKE)  # a good one loads
    good = doc["cells"][cell][field]
    doc["cells"][cell][field] = value
    ck.write_text(json.dumps(doc))
    with pytest.raises(InputError) as e:
        Profiler(models, samples, knob, [1.0, 2.0], meter, cfg, accuracy_data=acc, **FAKE)
    msg = str(e.value)
    assert msg.startswith(f"{ck}: field 'cells[\"{cell}\"].{field}': ") and says in msg, msg
    assert msg.endswith("Fix: delete the checkpoint to start over (a run writes a new one), or correct the field")
    doc["cells"][cell][field] = good
    doc["idle"]["1"] = -1
    ck.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"""field 'idle\["1"\]': idle power -1, expected a finite number >= 0"""):
        Profiler(models, samples, knob, [1.0, 2.0], meter, cfg, accuracy_data=acc, **FAKE)


def test_trace_has_every_candidate_and_setting(setup) -> None:
    knob, meter, models, samples, acc = setup
    cfg = ProfilerConfig(repeats=10, warmup=0, settle_s=0.0, idle_s=0.1, progress=False)
    pr = Profiler(models, samples, knob, [1.0, 2.0], meter, cfg, labels=list(acc[1]), accuracy_data=acc, **FAKE)
    tr = pr.trace(pr.run())
    assert tr.shape == (10, 3, 2)  # small, any@1, any@2
    assert tr.latency[:, 2, 1] == pytest.approx(np.full(10, 0.015))
    assert tr.correct[:, 1].tolist() == [1, 0] * 5 and tr.correct[:, 2].tolist() == [1] * 10


def test_profiler_errors(setup) -> None:
    knob, meter, models, samples, acc = setup
    with pytest.raises(ValueError, match="repeats must be >= 2"):
        ProfilerConfig(repeats=1)
    with pytest.raises(ValueError, match="no accuracy for model 'any'"):
        Profiler(models, samples, knob, [1.0], meter, ProfilerConfig(repeats=2))
    with pytest.raises(ValueError, match="outside the range"):
        Profiler(models, samples, knob, [3.0], meter, ProfilerConfig(repeats=2), accuracy_data=acc)


class Budgeted:
    """A CPU-quota-like model: ``base`` seconds when it starts after at least ``gap`` idle seconds
    (a refilled budget), three times that when it starts right after the previous run. Its busy
    time is counted in ``busy`` (the CPU-time meter reads it)."""

    gap = 0.004

    def __init__(self, base: float) -> None:
        self.base, self.last_end, self.busy, self.starts = base, -1.0, 0.0, []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.starts.append(Clock.t)
        t = self.base if Clock.t - self.last_end >= self.gap else 3 * self.base
        Clock.t += t
        self.busy += t
        self.last_end = Clock.t
        return np.zeros((x.shape[0], 10))


def _paced_profile(model: Budgeted, period: float | None, repeats: int = 5) -> Profile:
    from alert.system.meters import CpuTimeMeter

    Clock.t = 0.0
    knob = SimulatedKnob([1.0], unit="cores")
    meter = CpuTimeMeter(6.0, 2.0, cpu_seconds=lambda: model.busy, clock=Clock())
    cfg = ProfilerConfig(repeats=repeats, warmup=1, settle_s=0.0, idle_s=1.0, progress=False, period=period)
    x = np.zeros((1, 1))
    return Profiler({"m": model}, [x], knob, [1.0], meter, cfg, accuracy={"m": [0.9]}, **FAKE).run()


def test_paced_profile_measures_latency_as_served_and_subtracts_idle_energy() -> None:
    """Back to back, every run follows another (3 x base); paced every 10 ms, every run starts on a
    refilled budget (base). Paced power is (energy - idle power x idle time) / busy time: the
    meter charges 6 W per busy second + 2 W always, so the model's power is 8 W (without the idle
    subtraction it would be (6 b + 2 x 10 ms) / b = 26 W for b = 1 ms)."""
    b2b = _paced_profile(Budgeted(0.001), None)
    assert b2b.models[0].latency[0, 0] == pytest.approx(0.003)
    m = Budgeted(0.001)
    paced = _paced_profile(m, 0.01)
    assert paced.models[0].latency[0, 0] == pytest.approx(0.001)
    assert paced.models[0].power[0, 0] == pytest.approx(8.0)
    assert paced.settings[0].idle_power == pytest.approx(2.0)
    assert np.diff(m.starts) == pytest.approx(np.full(5, 0.01))  # warm-up + 5 inputs, one per period
    assert paced.metadata["timing"] == "paced every 0.01 s"


def test_paced_profile_late_input_delays_the_next_arrival_without_backlog() -> None:
    m = Budgeted(0.015)  # longer than the period: each arrival waits for the previous end
    _paced_profile(m, 0.01, repeats=3)
    assert np.diff(m.starts) == pytest.approx([0.015, 0.045, 0.045])  # the first run was refilled


def test_paced_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="period must be > 0"):
        ProfilerConfig(period=0.0)
