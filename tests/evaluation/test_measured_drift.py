"""The committed drifting-contention recording (examples/measured-cpu-drift): it loads as a measured
platform, validates, matches the models and settings of examples/measured-cpu, and its metadata
records the contention schedule it ran under."""

from __future__ import annotations

import numpy as np
import pytest

from alert.cli import evaluation as cli
from alert.evaluation import measured, metrics, oracles
from alert.evaluation.recorder import measured_accuracy, profile_from_trace
from alert.evaluation.traces import Trace
from alert.profile import Profile
from alert.system.contend import LevelSchedule

FOLDER = measured.DEFAULT_DIR.parent / "measured-cpu-drift"
KINDS = ("compute", "memory")


@pytest.fixture(scope="module")
def platform() -> measured.MeasuredPlatform:
    p = measured.load_platform(FOLDER)
    if p is None:
        pytest.skip("examples/measured-cpu-drift not recorded in this tree")
    return p


def test_loads_as_its_own_platform_with_the_drift_workloads(platform) -> None:
    assert platform.name == "this-cpu-drift"
    assert measured.workload_names(FOLDER) == ["default", "drift-compute", "drift-memory"]   # quiet.npz is not one
    assert list(platform.traces) == ["default", "drift-compute", "drift-memory"]
    assert FOLDER in measured.DEFAULT_DIRS and platform.costs == measured.COSTS
    names = [p.name for p in measured.load_platforms()]
    assert len(names) == len(set(names)) and "this-cpu-drift" in names


def test_trace_check_passes(capsys) -> None:
    if not (FOLDER / "profile.json").is_file():
        pytest.skip("examples/measured-cpu-drift not recorded in this tree")
    import argparse

    files = sorted(str(f) for f in FOLDER.glob("*.npz"))
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["trace", "check", *files])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.count("inputs x 6 candidates x 5 settings") == 4


def test_same_models_and_settings_as_the_on_off_platform(platform) -> None:
    ref = Profile.load(measured.DEFAULT_DIR / "profile.json")
    assert [c.label for c in platform.profile.candidates] == [c.label for c in ref.candidates]
    assert platform.profile.setting_values.tolist() == ref.setting_values.tolist() == [0.25, 0.5, 0.75, 1.0, 2.0]
    assert platform.profile.unit == ref.unit == "cores"
    # accuracies re-measured on the same 2000 held-out images with the same weights: identical
    np.testing.assert_array_equal(platform.profile.q, ref.q)
    for t in platform.traces.values():
        assert t.metadata["cfs_period_us"] == 4000 and t.metadata["batch"] == 16 and t.metadata["gap_s"] == 0.004
        assert "cpu-time" in t.metadata["meter"] and t.metadata["environment"]["GOMP_SPINCOUNT"] == "10000"
        acc = measured_accuracy(t)
        assert np.all(np.abs(acc - platform.profile.q) < 0.06), acc


def test_profile_is_the_quiet_recording(platform) -> None:
    """profile.json's latency and power are the means of quiet.npz (re-measured, not re-used)."""
    quiet = Trace.load(FOLDER / "quiet.npz")
    block = Profile.load(FOLDER / "profile-block.json")
    again = profile_from_trace(quiet, block)
    np.testing.assert_allclose(again.t_prof, platform.profile.t_prof, rtol=1e-9)
    np.testing.assert_allclose(again.idle_power, platform.profile.idle_power, rtol=1e-9)
    assert platform.profile.metadata["nice"] == -15 and len(platform.profile.metadata["load_average"]) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_metadata_records_the_level_schedule(platform, kind) -> None:
    t = platform.traces[f"drift-{kind}"]
    m = t.metadata["contention"]
    assert m["kind"] == kind and m["schedule"] == "levels" and m["workers"] == 2
    sched = LevelSchedule(tuple(tuple(s) for s in m["steps"]), m["drift_amplitude"], m["drift_period_s"],
                          m["drift_shape"], m["duty_period_s"])
    assert len(sched.levels) == 3 and sched.drift_amplitude > 0      # three levels and a drift
    assert list(m["levels"]) == list(sched.levels)
    assert t.state_names == sched.names(kind)
    assert t.n_inputs >= 300 and set(np.unique(t.states())) == {0, 1, 2}
    assert t.metadata["nice"] == -15 and len(t.metadata["load_average_start"]) == 3 and t.metadata["date"]
    # the intensity per input: between 0 and 1, and, for inputs inside one step, between the
    # step's level and the level plus the drift's amplitude
    lvl = np.asarray(t.metadata["contention_intensity"])
    assert lvl.shape == (t.n_inputs,) and lvl.min() >= 0 and lvl.max() <= 1
    for k, level in enumerate(sched.levels):
        med = np.median(lvl[t.states() == k])
        assert level - 1e-9 <= med <= level + sched.drift_amplitude + 1e-9, (k, med)
    # the drift shows: within a level, the intensity spans most of the amplitude
    low = lvl[t.states() == 0]
    assert low.max() - low.min() > 0.5 * sched.drift_amplitude


@pytest.mark.parametrize("kind", KINDS)
def test_oracle_state_sees_the_levels(platform, kind) -> None:
    """Oracle_State picks per level; with three levels its choices differ from OracleStatic's on
    some constraint of the grid."""
    from alert.evaluation.replay import outcomes

    t = platform.traces[f"drift-{kind}"]
    differ = 0
    for c in metrics.grid(t.profile, "min-energy", 4, 2):
        out = outcomes(t, c.deadline)
        a = oracles.oracle_state(out, c, t.states())
        b = oracles.oracle_static(out, c)
        assert len(set(zip(a[0].tolist(), a[1].tolist(), strict=True))) <= 3   # one choice per level
        differ += int(not (np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])))
    assert differ > 0
