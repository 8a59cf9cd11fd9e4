"""The measured platform: recorder (fake models, fake clocks), costs, suite rows, the bar, fidelity."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from eval_helpers import tiny_profile, tiny_trace

from alert.cli import evaluation as cli
from alert.evaluation import fidelity, measured, metrics, report, suite
from alert.evaluation.metrics import Constraint
from alert.evaluation.recorder import (
    RecorderConfig,
    measured_accuracy,
    profile_from_trace,
    record_trace,
    save_compressed,
)
from alert.evaluation.replay import deliver, outcomes
from alert.evaluation.traces import Trace, TraceError
from alert.system.meters import CpuTimeMeter
from alert.system.simulated import SimulatedKnob


# ----------------------------------------------------------------------------- recorder
class Clocks:
    """Wall and CPU clocks that only move when a fake model runs."""

    def __init__(self) -> None:
        self.t = 0.0
        self.c = 0.0

    def wall(self) -> float:
        return self.t

    def cpu(self) -> float:
        return self.c

    def work(self, seconds: float, busy: float) -> None:
        self.t += seconds
        self.c += busy


def logits(pred: list[int]) -> np.ndarray:
    out = np.zeros((len(pred), 10))
    out[np.arange(len(pred)), pred] = 1.0
    return out


class FakeBig:
    """Traditional: 0.1 s at 10 W, 0.05 s at 20 W, 0.05 busy core-seconds; always right."""

    def __init__(self, clocks: Clocks, knob: SimulatedKnob) -> None:
        self.clocks, self.knob = clocks, knob

    def __call__(self, x):
        self.clocks.work(0.1 if self.knob.value == 10.0 else 0.05, 0.05)
        return logits(list(x))


class FakeNest:
    """Anytime, 2 stages of 0.04 s (10 W) or 0.02 s (20 W); busy 0.01 then 0.03 core-seconds.
    Stage 1 predicts class 0 for everything; stage 2 gets all but the last image right."""

    n_stages = 2

    def __init__(self, clocks: Clocks, knob: SimulatedKnob) -> None:
        self.clocks, self.knob = clocks, knob

    def init_state(self, x):
        return {"x": list(x)}

    def run_stage(self, k, state):
        self.clocks.work(0.04 if self.knob.value == 10.0 else 0.02, (0.01, 0.03)[k])
        x = state["x"]
        return logits([0] * len(x) if k == 0 else x[:-1] + [(x[-1] + 1) % 10])


def _record(n_inputs=3, state=lambda: 0, names=("none",), seed=0, gap=0.0, sleeps=None, spin=0.0, warm=0,
            calls=None, intensity=None):
    clocks = Clocks()

    def sleep(s):
        sleeps.append(s)
        clocks.work(s, spin * s)          # spin: share of a core burnt while idle
    knob = SimulatedKnob([10.0, 20.0], unit="W")
    models = {"big": FakeBig(clocks, knob), "nest": FakeNest(clocks, knob)}
    if calls is not None:
        big = models["big"]
        models["big"] = lambda x: (calls.append("big"), big(x))[1]  # type: ignore[assignment]
    meter = CpuTimeMeter(10.0, 2.0, cpu_seconds=clocks.cpu, clock=clocks.wall)
    inputs = [(np.array([0, 1, 2, 3]), np.array([0, 1, 2, 3])) for _ in range(n_inputs)]
    tr = record_trace(models, tiny_profile(), inputs, knob, meter,
                      RecorderConfig(warmup=1, seed=seed, progress=False, gap_s=gap, warm_runs=warm),
                      state, names, {"workload": "test"}, clock=clocks.wall, cpu=clocks.cpu,
                      sleep=(sleep if sleeps is not None else lambda s: None), intensity=intensity)
    return tr, knob


def test_recorder_fills_every_cell_with_hand_computed_values():
    tr, knob = _record()
    assert tr.shape == (3, 3, 2)
    # rows: big, nest@1, nest@2; settings 10 W, 20 W
    np.testing.assert_allclose(tr.latency[:, 0], [[0.1, 0.05]] * 3)
    np.testing.assert_allclose(tr.latency[:, 1], [[0.04, 0.02]] * 3)
    np.testing.assert_allclose(tr.latency[:, 2], [[0.08, 0.04]] * 3)
    # power = 10 W x busy / time + 2 W
    np.testing.assert_allclose(tr.power[0, 0], [10 * 0.05 / 0.1 + 2, 10 * 0.05 / 0.05 + 2])
    np.testing.assert_allclose(tr.power[0, 1], [10 * 0.01 / 0.04 + 2, 10 * 0.01 / 0.02 + 2])
    np.testing.assert_allclose(tr.power[0, 2], [10 * 0.04 / 0.08 + 2, 10 * 0.04 / 0.04 + 2])
    np.testing.assert_allclose(tr.idle_power, 2.0)
    # big: 4/4 right; stage 1: 1/4 (class 0 only); stage 2: 3/4
    assert tr.metadata["correct_count"] == [[4, 1, 3]] * 3
    assert tr.correct.tolist() == [[1, 0, 1]] * 3
    np.testing.assert_allclose(measured_accuracy(tr), [1.0, 0.25, 0.75])
    assert tr.state is None and tr.metadata["workload"] == "test"
    assert set(knob.history) == {10.0, 20.0}
    # the meter's model travels as data: the fidelity check charges the runtime's work from it
    assert tr.metadata["power_model"] == {"watts_per_core": 10.0, "idle_power": 2.0, "source": "process"}
    assert fidelity.runtime_watts(tr) == 10.0


def test_recorder_order_is_shuffled_per_input_and_seeded():
    _, a = _record(6, seed=1)
    _, b = _record(6, seed=1)
    _, c = _record(6, seed=2)
    assert a.history == b.history
    assert a.history != c.history


def test_recorder_labels_state_changes():
    calls = iter([0, 0, 0, 1, 1, 1, 1, 0])   # (start, end) per input
    tr, _ = _record(4, state=lambda: next(calls), names=("off", "compute"))
    assert tr.state.tolist() == [0, 1, 1, 1]
    assert tr.metadata["inputs_with_state_change"] == 2
    assert tr.state_names == ("off", "compute")


def test_recorder_keeps_the_level_state_and_the_mean_intensity_per_input():
    # a level schedule: the state is the higher level index of (start, end); the intensity is sampled
    # before each of the 4 runs of an input (2 models x 2 settings) and averaged
    calls = iter([0, 2, 1, 1, 2, 0])
    levels = iter([0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.5, 0.5, 1.0, 0.0, 0.0, 0.0])
    tr, _ = _record(3, state=lambda: next(calls), names=("compute-0", "compute-0.4", "compute-0.8"),
                    intensity=lambda: next(levels))
    assert tr.state.tolist() == [2, 1, 2] and tr.metadata["inputs_with_state_change"] == 2
    assert tr.metadata["contention_intensity"] == [0.25, 0.5, 0.25]
    tr, _ = _record(2)
    assert "contention_intensity" not in tr.metadata


def test_recorder_idles_after_every_run_and_meters_it():
    sleeps: list[float] = []
    tr, _ = _record(2, gap=0.004, sleeps=sleeps, spin=0.5)
    assert sleeps == [0.004] * (2 * 4)                 # 2 inputs x (2 models x 2 settings)
    np.testing.assert_allclose(tr.idle_power, 10 * 0.5 + 2)   # metered gaps: half a core spinning
    np.testing.assert_allclose(tr.latency[:, 0], [[0.1, 0.05]] * 2)   # gaps are not in the latency
    sleeps.clear()
    tr, _ = _record(2, sleeps=sleeps)
    assert sleeps == []
    np.testing.assert_allclose(tr.idle_power, 2.0)


def test_warm_runs_repeat_each_configuration_before_its_recorded_run():
    calls: list[str] = []
    tr0, _ = _record(2, gap=0.004, sleeps=(s0 := []))
    tr, knob = _record(2, gap=0.004, sleeps=(s2 := []), warm=2, calls=calls)
    # "big": 1 warm-up run, then 2 inputs x 2 settings x (2 unrecorded + 1 recorded); a gap after each
    assert calls.count("big") == 1 + 2 * 2 * 3 and len(s2) == 3 * len(s0)
    np.testing.assert_allclose(tr.latency, tr0.latency)      # the fakes take the same time every run
    assert tr.metadata["warm_runs"] == 2 and tr0.metadata["warm_runs"] == 0
    with pytest.raises(ValueError, match="warm_runs"):
        RecorderConfig(warm_runs=-1)


def test_profile_from_a_quiet_trace():
    lat = np.array([[[0.10, 0.05], [0.04, 0.02], [0.08, 0.04]],
                    [[0.12, 0.07], [0.06, 0.02], [0.10, 0.06]],
                    [[9.00, 9.00], [9.00, 9.00], [9.50, 9.50]]])     # input 2 has contention on
    tr = tiny_trace(lat, state=np.array([0, 0, 1]))
    p = profile_from_trace(tr, tiny_profile())
    np.testing.assert_allclose(p.t_prof, [[0.11, 0.06], [0.05, 0.02], [0.09, 0.05]])
    np.testing.assert_allclose(p.models[0].latency_std, [[np.std([0.10, 0.12], ddof=1), np.std([0.05, 0.07], ddof=1)]])
    np.testing.assert_allclose(p.q, tiny_profile().q)
    np.testing.assert_allclose(p.idle_power, [2.0, 4.0])
    assert "mean of 2 inputs" in p.metadata["method"]
    with pytest.raises(ValueError, match="no input in states"):
        profile_from_trace(tr, tiny_profile(), states=(5,))


def test_recorder_errors_name_the_model():
    clocks = Clocks()
    knob = SimulatedKnob([10.0, 20.0], unit="W")
    meter = CpuTimeMeter(10.0, 2.0, cpu_seconds=clocks.cpu, clock=clocks.wall)
    inputs = [(np.array([0]), None)]
    with pytest.raises(ValueError, match="'nest'.*no model of that name"):
        record_trace({"big": FakeBig(clocks, knob)}, tiny_profile(), inputs, knob, meter)
    with pytest.raises(ValueError, match="2 stage"):
        record_trace({"big": FakeBig(clocks, knob), "nest": FakeBig(clocks, knob)}, tiny_profile(), inputs, knob, meter)


def test_compressed_trace_round_trips(tmp_path):
    tr, _ = _record()
    save_compressed(tr, tmp_path / "t.npz")
    back = Trace.load(tmp_path / "t.npz")
    np.testing.assert_array_equal(back.latency, tr.latency)
    assert back.metadata["correct_count"] == tr.metadata["correct_count"]


# ----------------------------------------------------------------------------- costs
def test_cpu_share_cost_is_cores_times_period():
    lat = np.array([[[0.10, 0.05], [0.04, 0.02], [0.08, 0.04]]] * 2)
    tr = measured.cpu_share(tiny_trace(lat))
    np.testing.assert_allclose(tr.power[0], [[10, 20]] * 3)
    np.testing.assert_allclose(tr.idle_power, [[10, 20]] * 2)
    np.testing.assert_allclose(tr.profile.idle_power, [10, 20])
    np.testing.assert_allclose(tr.profile.power, [[10, 20]] * 3)
    out = outcomes(tr, 0.1)
    d = deliver(out, np.array([0, 0]), np.array([1, 1]))     # big at 20 "cores", on time
    np.testing.assert_allclose(d.energy, 20 * 0.1)           # reserved during run and idle alike
    late = outcomes(tr, 0.09)
    d = deliver(late, np.array([0, 0]), np.array([0, 0]))    # big at 10 runs 0.1 s > 0.09 s
    np.testing.assert_allclose(d.energy, 10 * 0.1)
    with pytest.raises(ValueError, match="cost 'x'"):
        measured.with_cost(tr, "x")


# ----------------------------------------------------------------------------- platform and rows
def _platform(tmp_path, workloads=("memory",), meter="cpu-time (model)", name="tiny"):
    import dataclasses

    prof = dataclasses.replace(tiny_profile(), name=name)
    prof.save(tmp_path / "profile.json")
    rng = np.random.default_rng(0)
    base = prof.t_prof[None]
    for w in workloads:
        lat = base * rng.uniform(0.9, 1.4, size=(30, 1, 1))
        tr = tiny_trace(lat, state=(np.arange(30) // 10) % 2)
        tr.metadata["meter"] = meter
        tr.save(tmp_path / f"{w}.npz")
    return tmp_path


def test_load_platform_and_rows(tmp_path):
    assert measured.load_platform(tmp_path) is None
    p = measured.load_platform(_platform(tmp_path))
    assert p.name == "tiny" and list(p.traces) == ["memory"]
    assert p.costs == ("energy",)  # settings in W: no CPU share to reserve
    assert {r["cost"] for r in measured.reproduce_rows(p, n_deadlines=2, n_goals=2)} == {"energy"}
    rows = measured.reproduce_rows(p, n_deadlines=2, n_goals=2, costs=measured.COSTS)
    assert {r["cost"] for r in rows} == {"energy", "cpu-share"}
    assert {r["goal"] for r in rows} == set(metrics.TASKS)
    assert all(r["measured"] is True and r["platform"] == "tiny" and r["settings"] == 4 for r in rows)
    assert {r["scheme"] for r in rows} == set(measured.measured_schemes())
    oracle_static = [r for r in rows if r["scheme"] == "OracleStatic"]
    assert all(r["normalized"] in (1.0, None) for r in oracle_static)
    md = measured.report_section(rows, p)
    assert "Measured platform `tiny`" in md and "no energy counter" in md and "cpu-share" in md


def test_load_platforms_and_costs(tmp_path):
    import dataclasses

    from alert.profile import Setting

    for d in "ab":
        (tmp_path / d).mkdir()
    a = _platform(tmp_path / "a", name="a")
    b = _platform(tmp_path / "b", name="b", meter="nvml:continuous power samples")
    got = measured.load_platforms([a, b])
    assert [p.name for p in got] == ["a", "b"]
    with pytest.raises(TraceError, match="Fix: record one"):
        measured.load_platforms([a, tmp_path / "none"])
    with pytest.raises(TraceError, match="share a name"):
        measured.load_platforms([a, a])
    assert [p.folder for p in measured.load_platforms()] == [d for d in measured.DEFAULT_DIRS
                                                             if (d / "profile.json").is_file()]
    cores = dataclasses.replace(got[0].profile, settings=tuple(
        Setting(s.name, s.value, "cores", s.idle_power) for s in got[0].profile.settings))
    assert dataclasses.replace(got[0], profile=cores).costs == measured.COSTS
    # the report says how energy was obtained, by the recording's meter; each platform has its own section
    rows = measured.reproduce_rows(got[0], 2, 2) + measured.reproduce_rows(got[1], 2, 2)
    md_b = measured.report_section(rows, got[1])
    # (two power settings recorded: not the read-only single-setting recording of the H100)
    assert "Measured platform `b`" in md_b and "NVML" in md_b and "no energy counter" not in md_b
    assert "read-only" not in md_b and "The 2 settings are the recorded W settings of the GPU (10W, 20W)" in md_b
    assert "Measured platform `a`" not in md_b and "no energy counter" in measured.report_section(rows, got[0])
    assert {c["platform"] for c in measured.bar_checks(rows)} == {"a", "b"}
    md = report.markdown(rows, {"mode": "test"}, [], [(got[0], None), (got[1], None)])
    assert md.index("## Measured platform `a`") < md.index("## Measured platform `b`")


def test_load_platform_errors(tmp_path):
    tiny_profile().save(tmp_path / "profile.json")
    with pytest.raises(TraceError, match="no workload trace"):
        measured.load_platform(tmp_path)
    from alert.evaluation import scenarios

    scenarios.generate("gpu", "image", "default", "paper", 5).save(tmp_path / "default.npz")
    with pytest.raises(TraceError, match="candidates"):
        measured.load_platform(tmp_path)


def test_a_platform_in_another_order_gives_the_same_rows(tmp_path):
    """A trace whose embedded profile lists the settings and the models in another order than
    profile.json is put in profile.json's order: the same rows as the trace recorded in order."""
    from alert.profile import Profile

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    _platform(a)
    tr = Trace.load(a / "memory.npz")
    d = tr.profile.to_dict()
    d["settings"] = d["settings"][::-1]
    d["models"] = [{**m, **{k: np.asarray(m[k])[..., ::-1].tolist() for k in ("latency", "power")}}
                   for m in d["models"][::-1]]
    rev = Profile.from_dict(d)
    rows = [1, 2, 0]  # the anytime model's two stages first, then the traditional model
    assert [c.label for c in rev.candidates] == [tr.profile.candidates[r].label for r in rows]
    Trace(rev, tr.latency[:, rows][:, :, ::-1], tr.power[:, rows][:, :, ::-1], tr.idle_power[:, ::-1], tr.state,
          tr.state_names, None, tr.name, dict(tr.metadata)).save(b / "memory.npz")
    (b / "profile.json").write_text((a / "profile.json").read_text())
    pa, pb = measured.load_platform(a), measured.load_platform(b)
    for f in ("latency", "power", "idle_power"):
        np.testing.assert_array_equal(getattr(pb.traces["memory"], f), getattr(pa.traces["memory"], f))
    assert measured.reproduce_rows(pa, 2, 2) == measured.reproduce_rows(pb, 2, 2)


def test_nonsense_a_trace_format_allows_is_refused_by_the_platform(tmp_path):
    _platform(tmp_path)
    tr = Trace.load(tmp_path / "memory.npz")
    tr.slice(0, 1).save(tmp_path / "memory.npz")  # one input: no half to score the other's choice on
    with pytest.raises(TraceError, match=r"memory.npz: field 'latency': 1 input: the evaluation needs at least 2"):
        measured.load_platform(tmp_path)
    Trace(tr.profile, tr.latency * 1000, tr.power, tr.idle_power, tr.state, tr.state_names, None, tr.name,
          dict(tr.metadata)).save(tmp_path / "memory.npz")  # milliseconds against a profile in seconds
    with pytest.raises(TraceError, match=r"the median latency is 1\.[0-9]+e\+03 x the profile's.*in seconds"):
        measured.load_platform(tmp_path)
    d = tr.profile.to_dict()
    d["settings"][1]["value"] = 25.0  # the same names, other values
    Trace(type(tr.profile).from_dict(d), tr.latency, tr.power, tr.idle_power, tr.state, tr.state_names, None,
          tr.name, dict(tr.metadata)).save(tmp_path / "memory.npz")
    with pytest.raises(TraceError, match=r"setting 20W is 25 W, the profile's 20 W"):
        measured.load_platform(tmp_path)


def test_a_csv_trace_of_any_name_is_a_workload(tmp_path):
    _platform(tmp_path, workloads=())
    tr = tiny_trace(tiny_profile().t_prof[None] * np.linspace(1.0, 1.3, 8)[:, None, None])
    tr.save(tmp_path / "night.csv")
    (tmp_path / "live-log.csv").write_text("input,latency\n0,0.1\n")  # a CSV that is no trace
    assert measured.workload_names(tmp_path) == ["night"]
    assert list(measured.load_platform(tmp_path).traces) == ["night"]


def _row(cost, w, goal, scheme, norm, viol_all, base_viol=0):
    return {"measured": True, "cost": cost, "workload": w, "goal": goal, "scheme": scheme, "normalized": norm,
            "violated": viol_all, "violated_all": viol_all, "baseline_violated": base_viol, "settings": 10}


def test_bar_takes_the_better_alert_variant():
    rows = [_row("energy", "default", "min-energy", "OracleStatic", 1.0, 2, 2),
            _row("energy", "default", "min-energy", "ALERT", 1.08, 2, 2),
            _row("energy", "default", "min-energy", "ALERT_Pr90", 0.97, 3, 2),     # 3 <= 2 + 1: holds
            _row("energy", "compute", "min-energy", "OracleStatic", 1.0, 0, 0),
            _row("energy", "compute", "min-energy", "ALERT", 0.9, 2, 0),           # too many violations
            _row("energy", "compute", "min-energy", "ALERT_Pr90", 1.2, 0, 0),
            _row("energy", "memory", "min-error", "OracleStatic", 1.0, 0, 0),
            _row("energy", "memory", "min-error", "ALERT", None, 10, 0)]
    got = {(c["workload"], c["goal"]): c for c in measured.bar_checks(rows)}
    assert got[("default", "min-energy")]["holds"] and got[("default", "min-energy")]["scheme"] == "ALERT_Pr90"
    assert not got[("compute", "min-energy")]["holds"] and got[("compute", "min-energy")]["scheme"] == "ALERT"
    assert not got[("memory", "min-error")]["holds"]


def test_report_markdown_adds_the_measured_section(tmp_path):
    p = measured.load_platform(_platform(tmp_path))
    sim = suite.run_suite(suite.SuiteConfig(variants=("paper",), workloads=("default",), cells=(("gpu", "image"),),
                                            n_inputs=20, n_deadlines=2, n_goals=2))
    rows = [{**r, "measured": False} for r in sim] + measured.reproduce_rows(p, 2, 2)
    md = report.markdown(rows, {"mode": "test", "n_inputs": 20, "settings_per_cell": 4, "seconds": 0.0}, [],
                         [(p, None)])
    assert "Table 4 layout" in md and "## Measured platform `tiny`" in md and "simulated" in md
    assert md.index("Table 4 layout") < md.index("## Measured platform")


# ----------------------------------------------------------------------------- fidelity
def _log(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["input", "met_deadline", "delivered_accuracy", "energy_j", "correct"])
        for i, r in enumerate(rows):
            w.writerow([i, *r])
    return path


def test_live_outcome_by_hand(tmp_path):
    log = fidelity.read_log(_log(tmp_path / "l.csv", [(True, 0.9, 1.0, 1.0), (False, 0.1, 1.2, 0.0),
                                                     (True, 0.8, 0.9, 0.5), (True, 0.9, 1.1, -1)]))
    o = fidelity.live_outcome(log, Constraint("min-energy", 0.1, accuracy=0.85))
    assert o.miss_rate == pytest.approx(0.5)          # one late, one below the accuracy goal
    assert o.energy == pytest.approx(1.05) and o.accuracy == pytest.approx(0.675)
    assert o.measured_accuracy == pytest.approx(0.5)  # unknown (-1) left out
    o = fidelity.live_outcome(log, Constraint("min-error", 0.1, power_budget=10.5))
    assert o.miss_rate == pytest.approx(0.5)          # the late input and 1.1 J above 1.05 J
    o = fidelity.live_outcome(log, Constraint("min-error", 0.1, power_budget=9.5))
    assert o.miss_rate == pytest.approx(0.75)         # now 1.0 J is above 0.95 J too


def test_replay_outcome_and_gap_by_hand():
    lat = np.broadcast_to(tiny_profile().t_prof, (4, 3, 2)).copy()
    c = Constraint("min-energy", 0.1, accuracy=0.85)
    # only "big" (q 0.9) meets 0.85: at 10 W it takes 0.1 s (10 W x 0.1 s = 1.0 J), at 20 W 20 x 0.05 + 4 x 0.05 = 1.2 J
    rp = fidelity.replay_outcome(tiny_trace(lat), c, scheme="OracleStatic")
    assert (rp.energy, rp.accuracy, rp.miss_rate) == pytest.approx((1.0, 0.9, 0.0))
    # 0.01 s of controller overhead: big at 10 W (0.1 s) is now late, at 20 W it fits (0.05 <= 0.09):
    # energy 20 x 0.05 + 4 x 0.04 + 4 x 0.01 (the overhead at idle power) = 1.2 J
    ro = fidelity.replay_outcome(tiny_trace(lat), c, scheme="OracleStatic", overhead=0.01)
    assert (ro.energy, ro.accuracy, ro.miss_rate) == pytest.approx((1.2, 0.9, 0.0))
    g = fidelity.gap(fidelity.Outcome(1.1, 0.81, 0.05, 4), rp)
    assert g["energy"] == pytest.approx(0.1) and g["accuracy"] == pytest.approx(-0.1)
    assert g["miss_rate"] == pytest.approx(0.05)


def test_log_errors_are_clear(tmp_path):
    with pytest.raises(fidelity.LogError, match="file not found"):
        fidelity.read_log(tmp_path / "none.csv")
    (tmp_path / "bad.csv").write_text("input,latency_s\n0,1\n")
    with pytest.raises(fidelity.LogError, match="field 'met_deadline': column missing"):
        fidelity.read_log(tmp_path / "bad.csv")


FULL = {"input": "0", "goal": "min-energy:deadline=0.1,accuracy=0.85", "deadline_s": "0.1", "model": "big",
        "stage": "", "setting": "20W", "latency_s": "0.05", "response_s": "0.051", "met_deadline": "True",
        "delivered_accuracy": "0.9", "energy_j": "1.2", "correct": "1.0", "overhead_s": "0.001", "state": "off"}
GOAL = Constraint("min-energy", 0.1, accuracy=0.85)


def _full_log(path, n=4, drop=(), **change):
    """A log with the columns of `alert run` that the check reads (less ``drop``); ``change``:
    {column: (row, text)}."""
    rows = [{k: v for k, v in dict(FULL, input=str(i)).items() if k not in drop} for i in range(n)]
    for col, (i, text) in change.items():
        rows[i][col] = text
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, [c for c in FULL if c not in drop])
        w.writeheader()
        w.writerows(rows)
    return path


def test_a_log_row_cut_short_or_too_long_names_the_row(tmp_path):
    p = _full_log(tmp_path / "l.csv")
    lines = p.read_text().splitlines()
    p.write_text("\n".join([lines[0], ",".join(lines[1].split(",")[:4])] + lines[2:]) + "\n")
    with pytest.raises(fidelity.LogError, match=r"l.csv: field '<row 2>': no value for model, stage, setting, latency_s.*"
                                                r"cut short"):
        fidelity.read_log(p)
    p.write_text("\n".join(lines[:3] + [lines[3] + ",7"] + lines[4:]) + "\n")
    with pytest.raises(fidelity.LogError, match=r"field '<row 4>': 1 value\(s\) beyond the 14 columns"):
        fidelity.read_log(p)


@pytest.mark.parametrize("column, text, problem", [
    ("delivered_accuracy", "2", "must be an accuracy in"), ("delivered_accuracy", "nan", "must be an accuracy in"),
    ("correct", "2", "must be the share predicted right"), ("met_deadline", "maybe", "must be True or False"),
    ("model", "bogus", "not a model of the profile 'tiny'"), ("setting", "30W", "not a setting of the profile"),
    ("deadline_s", "0", "must be a deadline in seconds > 0"), ("deadline_s", "nan", "must be a deadline"),
    ("deadline_s", "0.2", "above the goal's deadline 0.1 s"), ("state", "bogus", "not a contention state"),
    ("latency_s", "nan", "must be a finite number of seconds"), ("response_s", "-1", "must be a finite number"),
    ("overhead_s", "inf", "must be a finite number"), ("energy_j", "lots", "not a number"),
    ("goal", "min-energy:deadline=0.1,accuracy=0.9", "not the --run goal"), ("goal", "fast", "not a goal")])
def test_log_values_are_checked(tmp_path, column, text, problem):
    p = _full_log(tmp_path / "l.csv", **{column: (2, text)})
    with pytest.raises(fidelity.LogError, match=rf"l.csv: field '<row 4>.{column}': {problem}.*Fix"):
        fidelity.read_log(p, tiny_profile(), GOAL)
    fidelity.read_log(_full_log(tmp_path / "ok.csv"), tiny_profile(), GOAL)  # the same log unchanged is fine


def test_a_goal_far_from_the_logs_deadlines_is_refused(tmp_path):
    p = _full_log(tmp_path / "l.csv", drop=("goal",))  # an older log: no goal column
    fidelity.read_log(p, tiny_profile(), GOAL)
    with pytest.raises(fidelity.LogError, match=r"'<row 2>.deadline_s': above the goal's deadline 0.05 s"):
        fidelity.read_log(p, tiny_profile(), GOAL.with_deadline(0.05))
    with pytest.raises(fidelity.LogError, match=r"deadline_s': the log's largest deadline, less than half the goal's 1 s"):
        fidelity.read_log(p, tiny_profile(), GOAL.with_deadline(1.0))


@pytest.mark.parametrize("text", ["nan", "inf", "-5"])
def test_a_rejected_meter_reading_is_left_out_as_alert_run_does(tmp_path, text):
    # `alert run` logs a reading its meter got wrong as read (Runtime.meter_rejected): the live
    # energy leaves it out, as the run's own summary does
    log = fidelity.read_log(_full_log(tmp_path / "l.csv", energy_j=(1, text)), tiny_profile(), GOAL)
    assert log["energy_ok"].tolist() == [True, False, True, True]
    o = fidelity.live_outcome(log, GOAL)
    assert o.energy == pytest.approx(1.2) and o.inputs == 4
    p = _full_log(tmp_path / "l.csv", **{"energy_j": (0, text)})
    p.write_text(p.read_text().replace(",1.2,", f",{text},"))
    with pytest.raises(fidelity.LogError, match=r"field 'energy_j': no input's reading is a finite energy"):
        fidelity.read_log(p)


def test_state_weights_by_hand():
    lat = np.broadcast_to(tiny_profile().t_prof, (4, 3, 2)).copy()
    tr = tiny_trace(lat, state=np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(fidelity.state_weights(tr, np.array([True, True, True, False])),
                               [0.125, 0.125, 0.375, 0.375])          # live 3/4 contended
    np.testing.assert_allclose(fidelity.state_weights(tr, np.zeros(5, bool)), [0.5, 0.5, 0, 0])
    assert fidelity.state_weights(tr, np.array([True, False])) is None            # shares agree
    assert fidelity.state_weights(tiny_trace(lat), np.array([True, False])) is None  # no contended input to weight


def test_replay_weighted_to_the_live_state_share_by_hand():
    lat = np.broadcast_to(tiny_profile().t_prof, (4, 3, 2)).copy()
    lat[2:] *= 10                                   # contended inputs: nothing is ready by 0.1 s
    tr = tiny_trace(lat, state=np.array([0, 0, 1, 1]))
    c = Constraint("min-energy", 0.1, accuracy=0.85)
    raw = fidelity.replay_outcome(tr, c, scheme="Oracle")
    assert (raw.accuracy, raw.miss_rate) == pytest.approx((0.5, 0.5))   # (0.9 + 0.1) / 2
    w = fidelity.replay_outcome(tr, c, scheme="Oracle", weights=fidelity.state_weights(tr, np.array([1, 1, 1, 0], bool)))
    assert (w.accuracy, w.miss_rate) == pytest.approx((0.25 * 0.9 + 0.75 * 0.1, 0.75))


def test_rejudge_each_input_with_its_own_overhead_by_hand():
    # rows: big, nest@1, nest@2 at 10 W (column 0); deadline 0.1 s from the arrival, the runtime
    # stops an anytime model 0.09 s after its own start
    lat = np.array([[0.08, 0.03, 0.07]] * 4 + [[0.08, 0.03, 0.095]])[:, :, None].repeat(2, axis=2)
    tr = tiny_trace(lat)
    cand, sett = np.array([0, 0, 2, 2, 2]), np.zeros(5, dtype=int)
    acc, late = fidelity.rejudge(tr, cand, sett, deadline=0.1, stop=0.09,
                                 overhead=np.array([0.01, 0.03, 0.02, 0.04, 0.01]))
    # big: 0.01 + 0.08 on time (q 0.9); 0.03 + 0.08 late (q_fail). nest@2: 0.02 + 0.07 on time (q 0.8);
    # 0.04 + 0.07 late, and the runtime returns only its latest output, so stage 1 does not count;
    # stage 2 ending at 0.095 > 0.09 is dropped: stage 1 (0.01 + 0.03) is delivered (q 0.6)
    np.testing.assert_allclose(acc, [0.9, 0.1, 0.8, 0.1, 0.6])
    assert late.tolist() == [False, True, False, True, False]


def test_overhead_draws_follow_the_live_distribution():
    d = fidelity.overhead_draws(np.array([0.0, 1.0, 2.0, 3.0]), 4)
    np.testing.assert_allclose(np.sort(d), [0.375, 1.125, 1.875, 2.625])
    np.testing.assert_array_equal(d, fidelity.overhead_draws(np.array([3.0, 2.0, 1.0, 0.0]), 4))  # seeded


def test_gzipped_log_reads_like_the_csv(tmp_path):
    import gzip

    plain = _log(tmp_path / "l.csv", [(True, 0.9, 1.0, 1.0), (False, 0.1, 1.2, 0.0)])
    with open(plain, "rb") as f:
        (tmp_path / "l.csv.gz").write_bytes(gzip.compress(f.read()))
    a, b = fidelity.read_log(plain), fidelity.read_log(tmp_path / "l.csv.gz")
    assert all(np.array_equal(a[k], b[k]) for k in a) and not b["on"].any()
    (tmp_path / "bad.csv.gz").write_bytes(b"not gzip")
    with pytest.raises(fidelity.LogError, match="bad.csv.gz: field '<file>': not a readable CSV log"):
        fidelity.read_log(tmp_path / "bad.csv.gz")


def _run(argv):
    import argparse

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_fidelity_command(tmp_path, capsys):
    d = _platform(tmp_path / "p", ("memory",)) if (tmp_path / "p").mkdir() is None else None
    log = _log(tmp_path / "live.csv", [(True, 0.9, 1.0, 1.0)] * 5)
    out = tmp_path / "fidelity.json"
    assert _run(["fidelity", "--platform", str(d), "--run", "memory", str(log), "min-energy:deadline=0.12,accuracy=0.85",
                 "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["runs"][0]["workload"] == "memory" and set(doc["per_workload"]) == {"memory"}
    assert "Fidelity" in capsys.readouterr().out
    assert _run(["fidelity", "--platform", str(d), "--run", "compute", str(log), "min-energy:deadline=0.1,accuracy=0.8"]) == 2
    assert "no recorded trace for workload 'compute'" in capsys.readouterr().err
    # a fresh trace next to the live runs: replayed instead, the platform's replayed too (drift)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "memory.npz").write_bytes((d / "memory.npz").read_bytes())
    assert _run(["fidelity", "--platform", str(d), "--run", "memory", str(log), "min-energy:deadline=0.12,accuracy=0.85",
                 "--traces", str(fresh), "--out", str(out)]) == 0
    run = json.loads(out.read_text())["runs"][0]
    assert run["replay_platform"] == run["replay"] and run["drift"] == {"energy": 0.0, "accuracy": 0.0, "miss_rate": 0.0}
    assert run["contended_share"] == {"live": 0.0, "trace": pytest.approx(1 / 3)}
    assert _run(["fidelity", "--platform", str(d), "--run", "memory", str(log), "min-energy:deadline=0.12,accuracy=0.85",
                 "--traces", str(tmp_path / "p")]) == 0  # the platform folder itself holds traces
    assert _run(["fidelity", "--platform", str(d), "--run", "memory", str(log), "min-energy:deadline=0.12,accuracy=0.85",
                 "--traces", str(tmp_path)]) == 2
    assert "no default.npz, memory.npz or compute.npz" in capsys.readouterr().err
    # a cut row, a value out of range: one line naming the file, the row and the field (no traceback)
    short = tmp_path / "short.csv"
    short.write_text("input,met_deadline,delivered_accuracy,energy_j,correct\n0,True\n")
    assert _run(["fidelity", "--platform", str(d), "--run", "memory", str(short), "min-energy:deadline=0.12,accuracy=0.85"]) == 2
    assert "short.csv: field '<row 2>': no value for delivered_accuracy, energy_j, correct" in capsys.readouterr().err
    bad = _full_log(tmp_path / "bad.csv", model=(1, "resnet"))
    assert _run(["fidelity", "--platform", str(d), "--run", "memory", str(bad), "min-energy:deadline=0.1,accuracy=0.85"]) == 2
    assert "bad.csv: field '<row 3>.model': not a model of the profile 'tiny'" in capsys.readouterr().err
    # a meter reading alert run rejected: accepted, counted, and said
    nan = _full_log(tmp_path / "nan.csv", energy_j=(1, "nan"))
    assert _run(["fidelity", "--platform", str(d), "--run", "memory", str(nan), "min-energy:deadline=0.1,accuracy=0.85",
                 "--out", str(out)]) == 0
    assert "nan.csv: field 'energy_j': 1 of 4 readings are not a finite energy >= 0" in capsys.readouterr().err
    assert json.loads(out.read_text())["runs"][0]["meter_rejected"] == 1


def test_reproduce_rejects_a_folder_without_profile(tmp_path, capsys):
    assert _run(["reproduce", "--out", str(tmp_path / "r"), "--measured", str(tmp_path), "--quick"]) == 2
    assert "no profile.json" in capsys.readouterr().err


def test_reproduce_refuses_options_that_contradict_or_select_nothing(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    for argv, said in ((["--variants", ""], "--variants: no variant"), (["--variants", ","], "--variants: no variant"),
                       (["--no-measured", "--measured", str(tmp_path)], "--no-measured leaves out"),
                       (["--out", ""], "--out: give the folder"), (["--out", str(f)], "is a file, not a folder")):
        out = [] if "--out" in argv else ["--out", str(tmp_path / "r")]
        assert _run(["reproduce", "--quick", *out, *argv]) == 2, argv
        assert said in capsys.readouterr().err, argv
    assert not (tmp_path / "r").exists()  # refused before anything was written


# ----------------------------------------------------------------------------- the committed recording
PLATFORM_DIRS = pytest.mark.parametrize("folder", measured.DEFAULT_DIRS, ids=lambda f: f.name)


@PLATFORM_DIRS
def test_committed_platform_is_complete(folder):
    p = measured.load_platform(folder)
    if p is None:
        pytest.skip(f"{folder} not recorded in this tree")
    drift = folder.name == "measured-cpu-drift"
    assert set(p.traces) == ({"default", "drift-compute", "drift-memory"} if drift else {"default", "memory", "compute"})
    size = sum(f.stat().st_size for f in p.folder.iterdir() if f.is_file())
    assert size < 5 * 2**20
    for w, t in p.traces.items():
        assert t.n_inputs >= 300 and t.correct is not None
        if w != "default":   # contention switched on and off, or through three levels
            assert set(np.unique(t.states())) == ({0, 1, 2} if drift else {0, 1})
        acc = measured_accuracy(t)
        # per-candidate correctness of the real outputs agrees with the profiled accuracy
        assert np.all(np.abs(acc - p.profile.q) < 0.06), (w, acc, p.profile.q)


def test_committed_gpu_platform_is_read_only():
    folder = measured.DEFAULT_DIRS[1]
    p = measured.load_platform(folder)
    if p is None:
        pytest.skip("examples/measured-gpu not recorded in this tree")
    assert p.costs == ("energy",) and p.profile.shape == (6, 1)  # model and stage choice only
    assert all(t.metadata["meter"].startswith("nvml") and t.metadata["knob"] == "simulated" for t in p.traces.values())
    # the device settings nvidia-smi read before and after each session on the GPU are the same
    for before, after in (("gpu-before.txt", "gpu-after.txt"), ("settings-before.txt", "settings-after.txt")):
        a, b = (list(csv.DictReader(open(folder / "raw" / f))) for f in (before, after))
        keys = [k for k in a[0] if "limit" in k or "clocks.applications" in k or k.endswith("_mode")]
        assert keys and [{k: r[k] for k in keys} for r in a] == [{k: r[k] for k in keys} for r in b]


@PLATFORM_DIRS
def test_committed_fidelity_check_recomputes_from_its_logs(folder):
    p = measured.load_platform(folder)
    doc = measured.load_fidelity(folder)
    if p is None or doc is None or not doc.get("traces"):
        pytest.skip("no fidelity check with fresh traces in this tree")
    root = p.folder.parents[1]
    fresh = measured.load_traces(root / doc["traces"], p.profile)
    runs = [(r["workload"], r["goal"], root / r["log"]) for r in doc["runs"]]
    again = fidelity.compare(runs, fresh, doc["scheme"], p.traces)
    for key in ("per_workload", "per_workload_overhead", "per_workload_drift"):
        for w, g in doc[key].items():
            assert again[key][w] == pytest.approx(g), (key, w)
    assert sum(f.stat().st_size for f in (root / doc["traces"]).iterdir()) < 4 * 2**20


def test_committed_fidelity_analysis_runs(capsys):
    import runpy

    doc = measured.load_fidelity(None)
    if doc is None or not doc.get("traces"):
        pytest.skip("no fidelity check with fresh traces in this tree")
    mod = runpy.run_path(str(measured.DEFAULT_DIR / "analyse.py"))
    assert mod["main"]() == 0
    first, history = capsys.readouterr().out.split("\n\n")[:2]
    rows = [ln for ln in first.splitlines() if ln.startswith("| ") and "`" in ln]
    assert len(rows) == len(doc["runs"])
    assert len([ln for ln in history.splitlines() if "`" in ln]) == len(doc["runs"])
    mod["recording"](measured.load_platform())
    out = capsys.readouterr().out
    assert out.count("| depth-") == 6 and "idle power (W) per setting" in out and "| compute | compute |" in out
    # a late input is counted in exactly one of (a), (b), (c) or neither: the parts never exceed the whole
    for ln in rows:
        late, parts = ln.split(" | ")[-2].split(" = ")
        assert sum(float(x.rstrip("%")) for x in parts.split(" + ")) <= float(late.rstrip("%")) + 0.15


def test_runtime_energy_is_charged_at_one_busy_core_of_the_cpu_time_model():
    tr = tiny_trace(tiny_profile().t_prof[None].repeat(2, 0))
    tr.metadata["meter"] = CpuTimeMeter(watts_per_core=10.0, idle_power=2.0).method
    assert fidelity.runtime_watts(tr) == 10.0
    tr.metadata["meter"] = "nvml:continuous power samples"   # GPU power does not see the host's work
    assert fidelity.runtime_watts(tr) == 0.0
    o = fidelity.Outcome(0.050, 0.9, 0.1, 100)
    assert fidelity.with_runtime_energy(o, 0.0004, 10.0) == fidelity.Outcome(pytest.approx(0.054), 0.9, 0.1, 100)
