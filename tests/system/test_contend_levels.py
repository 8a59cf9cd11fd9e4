"""The level schedule of the contention generator: hand-computed levels, drift, duty cycles, states."""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pytest

from alert.system.contend import (
    Contention,
    ContentionConfig,
    LevelSchedule,
    add_level_arguments,
    busy,
    config_from_args,
)

STEPS = ((0.0, 8.0), (0.8, 12.0), (0.4, 10.0))   # cycle of 30 s


def test_steps_cycle_by_hand() -> None:
    s = LevelSchedule(STEPS)
    t = np.array([0.0, 7.99, 8.0, 19.99, 20.0, 29.99, 30.0, 38.5, 59.0, 60.0])
    assert s.cycle_s == 30.0
    assert s.step_index(t).tolist() == [0, 0, 1, 1, 2, 2, 0, 1, 2, 0]
    np.testing.assert_allclose(s.level(t), [0, 0, 0.8, 0.8, 0.4, 0.4, 0, 0.8, 0.4, 0])
    assert s.levels == (0.0, 0.4, 0.8)
    # the state is the index of the level among the distinct levels, not of the step
    assert s.state(t).tolist() == [0, 0, 2, 2, 1, 1, 0, 2, 1, 0]
    np.testing.assert_allclose(s.intensity(t), s.level(t))   # no drift
    assert int(s.state(19.0)) == 2 and isinstance(float(s.intensity(19.0)), float)


def test_repeated_levels_share_a_state() -> None:
    s = LevelSchedule(((0.5, 1.0), (0.0, 1.0), (0.5, 2.0)))
    assert s.levels == (0.0, 0.5)
    assert s.state(np.array([0.5, 1.5, 2.5, 3.9])).tolist() == [1, 0, 1, 1]


def test_sine_drift_by_hand() -> None:
    s = LevelSchedule(STEPS, drift_amplitude=0.2, drift_period_s=120.0)
    t = np.array([0.0, 30.0, 60.0, 90.0, 120.0])
    # 0.2 x (1 - cos(2 pi t / 120)) / 2: 0, 0.1, 0.2, 0.1, 0
    np.testing.assert_allclose(s.drift(t), [0.0, 0.1, 0.2, 0.1, 0.0], atol=1e-12)
    # t = 45: step 2 (level 0.8) + 0.2 x (1 - cos(3 pi / 4)) / 2
    assert float(s.intensity(45.0)) == pytest.approx(0.8 + 0.1 * (1 + math.sqrt(0.5)))
    assert float(s.intensity(60.0)) == pytest.approx(0.2)          # level 0 + the top of the drift
    # the drift does not change the state
    assert s.state(np.array([45.0, 60.0])).tolist() == [2, 0]


def test_ramp_drift_and_clipping_by_hand() -> None:
    s = LevelSchedule(((0.9, 100.0),), drift_amplitude=0.5, drift_period_s=100.0, drift_shape="ramp")
    t = np.array([0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 100.0])
    np.testing.assert_allclose(s.drift(t), [0.0, 0.1, 0.25, 0.5, 0.25, 0.1, 0.0], atol=1e-12)
    # 0.9 + drift, clipped at 1
    np.testing.assert_allclose(s.intensity(t), [0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9], atol=1e-12)


def test_worker_shares_and_duty_cycle_by_hand() -> None:
    s = LevelSchedule(((0.7, 10.0),), duty_period_s=0.05)
    # 0.7 x 2 workers = 1.4: worker 0 busy all the time, worker 1 for 0.4 of each 50 ms, a third worker never
    assert [float(s.worker_share(1.0, i, 2)) for i in range(2)] == pytest.approx([1.0, 0.4])
    assert [float(s.worker_share(1.0, i, 3)) for i in range(3)] == pytest.approx([1.0, 1.0, 0.1])
    assert s.worker_busy(1.019, 0, 2) == (True, 0.0)
    assert s.worker_busy(1.049, 0, 2) == (True, 0.0)
    assert s.worker_busy(1.019, 1, 2) == (True, 0.0)                # phase 19 ms < 0.4 x 50 ms
    busy, wait = s.worker_busy(1.021, 1, 2)                           # phase 21 ms: idle until the next period
    assert not busy and wait == pytest.approx(0.029)
    busy, wait = LevelSchedule(((0.0, 1.0),)).worker_busy(0.3, 0, 2)  # level 0: nobody works
    assert not busy and 0 < wait <= 0.05


def test_on_off_schedule_unchanged_through_busy() -> None:
    cfg = ContentionConfig("compute", 2.0, 1.0, start_on=False)
    # starts off for 1 s, then on for 2 s
    assert busy(cfg, 0.25, 0) == (False, pytest.approx(0.75))
    assert busy(cfg, 1.5, 0) == (True, 0.0)
    assert busy(ContentionConfig("compute", 2.0, 1.0), 2.5, 0) == (False, pytest.approx(0.5))


def test_schedule_errors_name_the_fix() -> None:
    with pytest.raises(ValueError, match="no step given. Fix"):
        LevelSchedule(())
    with pytest.raises(ValueError, match="step 2 has level 1.5. Fix: .*between 0 and 1"):
        LevelSchedule(((0.0, 1.0), (1.5, 1.0)))
    with pytest.raises(ValueError, match="step 1 lasts 0 s. Fix"):
        LevelSchedule(((0.5, 0.0),))
    with pytest.raises(ValueError, match="Fix: --drift-period > 0"):
        LevelSchedule(STEPS, drift_amplitude=0.2)
    with pytest.raises(ValueError, match="Fix: --drift-amplitude between 0 and 1"):
        LevelSchedule(STEPS, drift_amplitude=-0.1, drift_period_s=10)
    with pytest.raises(ValueError, match="Fix: --drift-shape sine or ramp"):
        LevelSchedule(STEPS, drift_amplitude=0.1, drift_period_s=10, drift_shape="square")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Fix: --duty-period > 0"):
        LevelSchedule(STEPS, duty_period_s=0)
    with pytest.raises(ValueError, match="'0.5' is not LEVEL:SECONDS. Fix"):
        LevelSchedule.parse("0:1,0.5")
    with pytest.raises(ValueError, match="'a:b' is not LEVEL:SECONDS"):
        LevelSchedule.parse("a:b")
    with pytest.raises(ValueError, match="not both"):
        ContentionConfig("memory", 1.0, 1.0, levels=LevelSchedule(STEPS))
    with pytest.raises(ValueError, match="--on must be > 0"):
        ContentionConfig("memory")   # neither schedule


def test_parse_names_and_description() -> None:
    s = LevelSchedule.parse("0:8, 0.8:12,0.4:10", drift_amplitude=0.2, drift_period_s=120.0)
    assert s.steps == STEPS and s.drift_amplitude == 0.2
    cfg = ContentionConfig("memory", workers=2, levels=s)
    assert cfg.state_names == ("memory-0", "memory-0.4", "memory-0.8")
    d = cfg.describe()
    assert d["schedule"] == "levels" and d["steps"] == [[0.0, 8.0], [0.8, 12.0], [0.4, 10.0]]
    assert d["levels"] == [0.0, 0.4, 0.8] and d["drift_period_s"] == 120.0 and d["workers"] == 2
    old = ContentionConfig("compute", 8.0, 8.0, workers=2, start_on=False)
    assert old.state_names == ("off", "compute")
    assert old.describe() == {"kind": "compute", "workers": 2, "schedule": "on/off", "on_s": 8.0, "off_s": 8.0,
                              "starts": "off"}


def test_contention_state_and_intensity_at_given_times() -> None:
    s = LevelSchedule(STEPS, drift_amplitude=0.2, drift_period_s=120.0)
    c = Contention(ContentionConfig("compute", duration_s=100.0, workers=2, levels=s))
    c.t0 = 1000.0   # not started: only the clock arithmetic
    assert [c.state(1000.0 + t) for t in (1.0, 9.0, 25.0, 31.0)] == [0, 2, 1, 0]
    assert c.intensity(1045.0) == pytest.approx(0.8 + 0.1 * (1 + math.sqrt(0.5)))
    assert c.is_on(1060.0) and not c.is_on(1000.0)      # level 0 with the drift at its top, then at 0
    assert c.state(1100.0) == 0 and c.intensity(1100.0) == 0.0   # after the duration
    onoff = Contention(ContentionConfig("compute", 2.0, 1.0, workers=1, start_on=False))
    onoff.t0 = 0.0
    assert [onoff.state(t) for t in (0.5, 1.5, 3.5)] == [0, 1, 0] and onoff.intensity(1.5) == 1.0


@pytest.mark.parametrize("kind", ["compute", "memory"])
def test_level_workers_work_only_when_their_share_is_positive(kind: str) -> None:
    # level 0 for 0.25 s, then full: the work starts after the first step
    cfg = ContentionConfig(kind, duration_s=0.6, workers=1, array_mb=4, levels=LevelSchedule(((0.0, 0.25), (1.0, 10.0))))
    c = Contention(cfg).start()
    time.sleep(0.15)
    assert c.work.value == 0 and not c.is_on()
    c.wait()
    assert c.work.value > 0
    c.stop()
    idle = Contention(ContentionConfig(kind, duration_s=0.3, workers=2, array_mb=4,
                                       levels=LevelSchedule(((0.0, 1.0),)))).start()
    idle.wait()
    idle.stop()
    assert idle.work.value == 0


def _args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--on", type=float, default=None)
    p.add_argument("--off", type=float, default=None)
    add_level_arguments(p)
    return p.parse_args(argv)


def test_recorder_options_build_either_schedule() -> None:
    cfg = config_from_args(_args(["--levels", "0:8,0.8:12,0.4:10", "--drift-amplitude", "0.2",
                                   "--drift-period", "120", "--drift-shape", "ramp"]), "compute", 2)
    assert cfg.levels is not None and cfg.levels.steps == STEPS and cfg.levels.drift_shape == "ramp"
    assert cfg.workers == 2 and not cfg.start_on
    old = config_from_args(_args(["--on", "8"]), "memory", 2)
    assert (old.on_s, old.off_s, old.levels) == (8.0, 10.0, None)
    with pytest.raises(ValueError, match="not both"):
        config_from_args(_args(["--levels", "0:1", "--on", "8"]), "memory", 2)
    with pytest.raises(ValueError, match="without --levels"):
        config_from_args(_args(["--drift-amplitude", "0.2"]), "memory", 2)


def test_contend_command_runs_a_level_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    from alert.cli import main

    assert main(["contend", "compute", "--levels", "0:0.1,1:1", "--drift-amplitude", "0.1", "--drift-period", "5",
                 "--duration", "0.4", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 worker(s), levels 0 for 0.1 s, 1 for 1 s, sine drift +0.1 over 5 s, for 0.4 s" in out
    assert "M arithmetic iterations" in out
    assert main(["contend", "compute", "--duration", "1"]) == 2
    assert "no schedule. Fix: give --on S and --off S, or --levels" in capsys.readouterr().err
    assert main(["contend", "compute", "--levels", "0:1,2:1", "--duration", "1"]) == 2
    assert "step 2 has level 2" in capsys.readouterr().err
