"""Meters: RAPL wrap-around over several wraps, NVML counter vs power integration, CPU-time model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _system_fakes import FakeNvml, make_rapl, write
from hypothesis import given, settings
from hypothesis import strategies as st

from alert.system.base import PowerModel
from alert.system.errors import MeterUnavailable
from alert.system.meters import (
    CpuTimeMeter,
    NvmlMeter,
    RaplMeter,
    SimulatedMeter,
    cgroup_cpu_seconds,
    fit_cpu_power,
    integrate_power,
    wrap_delta,
)


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_wrap_delta_by_hand() -> None:
    assert wrap_delta(100, 250, 1000) == 150
    assert wrap_delta(900, 50, 1000) == 150  # 100 to the top, then 50


def test_rapl_window_over_three_wraps(tmp_path: Path) -> None:
    z = make_rapl(tmp_path, energy_uj=700, range_uj=1000)
    clock = FakeClock()
    m = RaplMeter(z, clock=clock)
    assert m.method == "rapl:energy_uj (package-0)"
    m.start()
    # 700 -> 200 (+500) -> 900 (+700) -> 100 (+200) -> 50 (+950) -> 300 (+250): 2600 µJ, three wraps
    for v in (200, 900, 100, 50, 300):
        clock.t += 0.5
        write(z / "energy_uj", v)
        m.poll()
    assert m.power() == pytest.approx(250e-6 / 0.5)
    r = m.stop()
    assert r.energy_j == pytest.approx(2600e-6)
    assert r.seconds == pytest.approx(2.5)
    assert r.power_w == pytest.approx(2600e-6 / 2.5)
    assert r.method == "rapl:energy_uj (package-0)"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=999), min_size=1, max_size=30))
def test_rapl_total_equals_sum_of_increments(tmp_path_factory: pytest.TempPathFactory, steps: list[int]) -> None:
    z = make_rapl(tmp_path_factory.mktemp("r"), energy_uj=0, range_uj=1000)
    m = RaplMeter(z, clock=FakeClock())
    m.start()
    v = 0
    for s in steps:  # each step adds s µJ (< one range), wrapping as the hardware does
        v = (v + s) % 1000
        write(z / "energy_uj", v)
        m.poll()
    assert m.stop().energy_j == pytest.approx(sum(steps) / 1e6)


def test_rapl_unreadable_counter_says_root(tmp_path: Path) -> None:
    z = make_rapl(tmp_path)
    (z / "energy_uj").unlink()
    with pytest.raises(MeterUnavailable, match="energy_uj: does not exist.*modprobe"):
        RaplMeter(z)


def test_integrate_power_by_hand() -> None:
    assert integrate_power([0.0, 1.0, 3.0], [10.0, 20.0, 20.0]) == pytest.approx(15.0 + 40.0)
    assert integrate_power([1.0], [50.0]) == 0.0


def test_nvml_short_window_integrates_power_when_counter_stalls() -> None:
    nv, clock = FakeNvml(), FakeClock()
    m = NvmlMeter(nv, sample_interval=None, clock=clock)
    nv.power_mw = 100_000
    m.start()  # sample (0 s, 100 W)
    clock.t = 0.004
    nv.power_mw = 200_000
    m.sample()  # (4 ms, 200 W)
    clock.t = 0.010
    r = m.stop()  # (10 ms, 200 W); counter did not move
    assert r.method == "nvml:power-integration"
    assert r.energy_j == pytest.approx(0.004 * 150 + 0.006 * 200)
    assert r.seconds == pytest.approx(0.010)


def test_nvml_long_window_uses_counter() -> None:
    nv, clock = FakeNvml(), FakeClock()
    m = NvmlMeter(nv, sample_interval=None, min_counter_window=1.0, clock=clock)
    nv.energy_mj = 5000
    m.start()
    clock.t = 2.0
    nv.energy_mj = 5000 + 250_000
    r = m.stop()
    assert (r.method, r.energy_j, r.seconds) == ("nvml:total-energy counter", 250.0, 2.0)


def test_nvml_background_sampler_collects_samples() -> None:
    nv = FakeNvml()
    nv.power_mw = 50_000
    with NvmlMeter(nv, sample_interval=0.001) as m:
        m.start()
        import time
        time.sleep(0.03)
        r = m.stop()
    assert len(m._times) >= 3
    assert r.energy_j == pytest.approx(50.0 * (m._times[-1] - m._times[0]))


def test_nvml_continuous_meter_by_hand() -> None:
    """Continuous mode: samples come from the sampler (here by hand; its interval is too long to
    fire), the window's power is interpolated between them and held at the newest one."""
    nv, clock = FakeNvml(), FakeClock()
    queries = {"n": 0}
    read = nv.nvmlDeviceGetPowerUsage

    def counted(h: str) -> int:
        queries["n"] += 1
        return read(h)
    nv.nvmlDeviceGetPowerUsage = counted  # type: ignore[method-assign]
    with NvmlMeter(nv, sample_interval=1000.0, clock=clock, continuous=True) as m:
        q0 = queries["n"]
        m.start()  # first window: one sample (0 s, 100 W), then the sampler starts
        clock.t = 0.002
        r = m.stop()
        assert (r.energy_j, r.seconds, r.method) == (pytest.approx(0.2), pytest.approx(0.002),
                                                     "nvml:continuous power samples")
        clock.t, nv.power_mw = 0.010, 200_000
        m.sample()
        n = queries["n"]
        clock.t = 0.012
        m.start()
        clock.t, nv.power_mw = 0.014, 300_000
        m.sample()
        clock.t = 0.020
        r = m.stop()
        # 2 ms from 250 W (interpolated at 12 ms) to 300 W, then 6 ms held at 300 W
        assert r.energy_j == pytest.approx(0.002 * 275 + 0.006 * 300)
        assert queries["n"] - n == 1  # the hand sample alone: start and stop query nothing
        assert queries["n"] - q0 == 3


def test_nvml_continuous_meter_samples_in_background() -> None:
    nv = FakeNvml()
    nv.power_mw = 50_000
    with NvmlMeter(nv, sample_interval=0.001, continuous=True) as m:
        m.start()
        import time
        time.sleep(0.03)
        r = m.stop()
        assert m._count >= 3
    assert r.energy_j == pytest.approx(50.0 * r.seconds)


def test_nvml_continuous_needs_interval() -> None:
    with pytest.raises(ValueError, match="sample_interval"):
        NvmlMeter(FakeNvml(), sample_interval=None, continuous=True)


def test_cpu_time_meter_by_hand() -> None:
    clock, busy = FakeClock(), {"s": 10.0}
    m = CpuTimeMeter(watts_per_core=8.0, idle_power=3.0, cpu_seconds=lambda: busy["s"], clock=clock)
    m.start()
    clock.t, busy["s"] = 2.0, 11.5  # 1.5 busy core-seconds in a 2 s window
    r = m.stop()
    assert r.energy_j == pytest.approx(1.5 * 8 + 2 * 3)
    assert r.method == "model:cpu-time(process) x 8 W/core + 3 W idle"
    assert r.power_model == PowerModel(8.0, 3.0, "process")  # the constants as data, not text
    with pytest.raises(MeterUnavailable, match="positive wattage"):
        CpuTimeMeter(watts_per_core=0.0)


def test_power_model_of_a_recording() -> None:
    m = PowerModel(12.5, 1.5, "thread")
    assert PowerModel.of_metadata({"power_model": m.as_dict(), "meter": "anything"}) == m
    # a recording made before the structured field: its meter text, written by PowerModel.method
    assert PowerModel.of_metadata({"meter": m.method}) == m
    assert PowerModel.of_metadata({"meter": "nvml:power-integration"}) is None
    assert PowerModel.of_metadata({}) is None


def test_cpu_time_meter_counts_real_busy_time() -> None:
    m = CpuTimeMeter(watts_per_core=10.0)
    m.start()
    x = 0
    for i in range(300_000):
        x += i
    r = m.stop()
    assert 0 < m.last_busy <= r.seconds * (os.cpu_count() or 1) + 0.01
    assert r.energy_j == pytest.approx(10.0 * m.last_busy)


def test_cgroup_accounting_v1_and_v2(tmp_path: Path) -> None:
    write(tmp_path / "v1" / "cpuacct.usage", 2_500_000_000)
    write(tmp_path / "v2" / "cpu.stat", "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000")
    assert cgroup_cpu_seconds(tmp_path / "v1") == 2.5
    assert cgroup_cpu_seconds(tmp_path / "v2") == 1.5
    with pytest.raises(MeterUnavailable, match="cpuacct"):
        cgroup_cpu_seconds(tmp_path)


def test_fit_cpu_power_recovers_constants() -> None:
    busy, secs = [1.0, 2.0, 0.5, 3.0], [2.0, 2.0, 1.0, 4.0]
    energy = [12.0 * b + 4.0 * s for b, s in zip(busy, secs, strict=True)]
    w, idle = fit_cpu_power(busy, secs, energy)
    assert (w, idle) == (pytest.approx(12.0), pytest.approx(4.0))


def test_simulated_meter() -> None:
    clock = FakeClock()
    m = SimulatedMeter(lambda: 20.0, clock=clock)
    m.start()
    clock.t = 0.25
    assert m.stop().energy_j == pytest.approx(5.0)
