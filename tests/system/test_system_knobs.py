"""Knobs against temporary directories laid out like the kernel's trees, and a fake pynvml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _system_fakes import (
    FakeNvml,
    fake_make_group,
    fake_remove_group,
    make_cgroup_v1,
    make_cgroup_v2,
    make_cpufreq,
    make_rapl,
    write,
)
from hypothesis import given
from hypothesis import strategies as st

from alert.system import cgroup as cg
from alert.system.cgroup import CgroupConfig, CgroupCpuQuota
from alert.system.cpufreq import CpufreqCap
from alert.system.errors import KnobUnavailable, SettingOutOfRange
from alert.system.nvml import NvmlLockedClocks, NvmlPowerLimit
from alert.system.rapl import RaplPowerCap, find_rapl_zones
from alert.system.simulated import SimulatedKnob
from alert.system.threads import QuotaWithThreads, ThreadCount, threads_for


def rd(p: Path) -> str:
    return p.read_text().strip()


# ---------------------------------------------------------------------------- RAPL
def test_rapl_finds_package_zones_only(tmp_path: Path) -> None:
    make_rapl(tmp_path)
    assert [z.name for z in find_rapl_zones(tmp_path)] == ["intel-rapl:0"]
    assert find_rapl_zones(tmp_path / "absent") == []


def test_rapl_apply_and_restore(tmp_path: Path) -> None:
    z = make_rapl(tmp_path)
    k = RaplPowerCap(z)
    assert k.limits() == (1.0, 25.0)
    assert k.read() == 15.0
    assert k.apply(10.0) is True
    assert rd(z / "constraint_0_power_limit_uw") == "10000000"
    assert rd(z / "constraint_1_power_limit_uw") == "25000000"  # short term untouched by default
    assert k.apply(10.0) is False  # unchanged: no write
    k.restore()
    assert rd(z / "constraint_0_power_limit_uw") == "15000000"


def test_rapl_both_constraints_use_smallest_max(tmp_path: Path) -> None:
    z = make_rapl(tmp_path)
    k = RaplPowerCap(z, constraints=("long_term", "short_term"))
    assert k.limits() == (1.0, 25.0)
    k.apply(20.0)
    assert rd(z / "constraint_1_power_limit_uw") == "20000000"
    k.restore()
    assert rd(z / "constraint_1_power_limit_uw") == "25000000"


def test_rapl_refuses_out_of_range_and_leaves_file(tmp_path: Path) -> None:
    z = make_rapl(tmp_path)
    k = RaplPowerCap(z)
    with pytest.raises(SettingOutOfRange, match=r"\[1, 25\] W"):
        k.apply(30.0)
    with pytest.raises(SettingOutOfRange):
        k.apply(0.5)
    assert rd(z / "constraint_0_power_limit_uw") == "15000000"


def test_rapl_without_reported_max_never_exceeds_original(tmp_path: Path) -> None:
    z = make_rapl(tmp_path, max_uw=None)
    k = RaplPowerCap(z)
    assert k.limits() == (1.0, 15.0)
    with pytest.raises(SettingOutOfRange):
        k.apply(16.0)


def test_rapl_reports_min_power_when_present(tmp_path: Path) -> None:
    z = make_rapl(tmp_path)
    write(z / "constraint_0_min_power_uw", 4_000_000)
    assert RaplPowerCap(z).limits() == (4.0, 25.0)


def test_rapl_enabled_zero_says_how_to_enable(tmp_path: Path) -> None:
    z = make_rapl(tmp_path, enabled=0)
    with pytest.raises(KnobUnavailable, match="enabled.*is 0.*echo 1 >"):
        RaplPowerCap(z)


def test_rapl_read_only_limit_file(tmp_path: Path) -> None:
    z = make_rapl(tmp_path)
    os.chmod(z / "constraint_0_power_limit_uw", 0o444)
    with pytest.raises(KnobUnavailable, match="constraint_0_power_limit_uw: is read-only"):
        RaplPowerCap(z)


def test_rapl_unknown_constraint_and_missing_zone(tmp_path: Path) -> None:
    z = make_rapl(tmp_path)
    with pytest.raises(KnobUnavailable, match="no constraint named \\['peak_power'\\]"):
        RaplPowerCap(z, constraints=("peak_power",))
    with pytest.raises(KnobUnavailable, match="modprobe"):
        RaplPowerCap(tmp_path / "intel-rapl:7")


# ---------------------------------------------------------------------------- cpufreq
def test_cpufreq_available_apply_restore(tmp_path: Path) -> None:
    root = make_cpufreq(tmp_path)
    k = CpufreqCap(root)
    assert k.limits() == (800.0, 3000.0)
    assert k.available() == [800.0, 1600.0, 2400.0, 3000.0]
    k.apply(1600.0)
    assert [rd(root / f"cpu{i}/cpufreq/scaling_max_freq") for i in (0, 1)] == ["1600000", "1600000"]
    with pytest.raises(SettingOutOfRange, match="not one of the available"):
        k.apply(2000.0)
    k.restore()
    assert rd(root / "cpu1/cpufreq/scaling_max_freq") == "3000000"


def test_cpufreq_ranged_without_available_list(tmp_path: Path) -> None:
    root = make_cpufreq(tmp_path, avail=False)
    k = CpufreqCap(root, cpus=[1])
    k.apply(2000.0)
    assert rd(root / "cpu1/cpufreq/scaling_max_freq") == "2000000"
    assert rd(root / "cpu0/cpufreq/scaling_max_freq") == "3000000"
    with pytest.raises(SettingOutOfRange):
        k.apply(3500.0)


def test_cpufreq_missing_says_why(tmp_path: Path) -> None:
    (tmp_path / "cpu0").mkdir()
    with pytest.raises(KnobUnavailable, match="no cpufreq directory.*cpufreq driver"):
        CpufreqCap(tmp_path)


# ---------------------------------------------------------------------------- cgroups
@pytest.fixture
def fake_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cg, "make_group", fake_make_group)
    monkeypatch.setattr(cg, "remove_group", fake_remove_group)


def test_cgroup_v1_quota_move_and_remove(tmp_path: Path, fake_groups: None) -> None:
    root, proc = tmp_path / "cg", tmp_path / "proc"
    cpu = make_cgroup_v1(root, proc, 4242)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(4242,), ncpu=2, name="alert-t"))
    assert (k.version, k.mount) == ("v1", cpu)
    assert k.limits() == (0.01, 2.0)
    assert k.read() == 2.0  # unlimited before anything is applied
    k.apply(0.5)
    assert rd(cpu / "alert-t/cpu.cfs_quota_us") == "50000"
    assert rd(cpu / "alert-t/cgroup.procs") == "4242"
    assert k.read() == 0.5
    k.restore()
    assert not (cpu / "alert-t").exists()
    assert rd(cpu / "cgroup.procs") == "4242"  # moved back to its origin


def test_cgroup_v1_moves_a_single_thread(tmp_path: Path, fake_groups: None) -> None:
    root, proc = tmp_path / "cg", tmp_path / "proc"
    cpu = make_cgroup_v1(root, proc, 4242)
    write(proc / "4250" / "cgroup", "1:cpu:/\n")
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, tids=(4250,), ncpu=2, name="alert-t"))
    assert k.pids == () and k.snapshot()["origins"] == {"4250": "/"}
    k.apply(0.25)
    assert rd(cpu / "alert-t/tasks") == "4250" and rd(cpu / "alert-t/cgroup.procs") == ""
    k.restore()
    assert rd(cpu / "tasks") == "4250" and not (cpu / "alert-t").exists()


def test_cgroup_v2_refuses_thread_placement(tmp_path: Path, fake_groups: None) -> None:
    root, proc = tmp_path / "cg", tmp_path / "proc"
    make_cgroup_v2(root, proc, 77)
    with pytest.raises(KnobUnavailable, match="needs cgroup v1"):
        CgroupCpuQuota(CgroupConfig(root=root, proc=proc, tids=(78,)))


def test_cgroup_v2_enables_controller_and_undoes_it(tmp_path: Path, fake_groups: None) -> None:
    root, proc = tmp_path / "cg", tmp_path / "proc"
    make_cgroup_v2(root, proc, 77)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    assert k.version == "v2"
    k.apply(1.5)
    assert rd(root / "alert-t/cpu.max") == "150000 100000"
    assert rd(root / "cgroup.subtree_control") == "+cpu"
    assert k.snapshot()["origins"] == {"77": "/user.slice"}
    k.restore()
    assert not (root / "alert-t").exists()
    assert rd(root / "user.slice/cgroup.procs") == "77"
    assert rd(root / "cgroup.subtree_control") == "-cpu"


def test_cgroup_out_of_range_and_no_hierarchy(tmp_path: Path, fake_groups: None) -> None:
    root, proc = tmp_path / "cg", tmp_path / "proc"
    make_cgroup_v1(root, proc, 5)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(5,), ncpu=2))
    with pytest.raises(SettingOutOfRange, match="0.01, 2"):
        k.apply(3.0)
    with pytest.raises(KnobUnavailable, match="no cgroup hierarchy with the cpu controller"):
        CgroupCpuQuota(CgroupConfig(root=tmp_path / "empty", proc=proc, pids=(5,)))


def test_cgroup_read_only_parent(tmp_path: Path, fake_groups: None) -> None:
    root, proc = tmp_path / "cg", tmp_path / "proc"
    cpu = make_cgroup_v1(root, proc, 5)
    os.chmod(cpu / "cgroup.procs", 0o444)
    with pytest.raises(KnobUnavailable, match="read-only"):
        CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(5,)))


# ---------------------------------------------------------------------------- NVML
def test_nvml_power_limit_range_apply_restore() -> None:
    nv = FakeNvml()
    k = NvmlPowerLimit(nv)
    assert k.limits() == (100.0, 350.0)
    k.apply(150.0)
    assert nv.limit == 150_000 and k.read() == 150.0
    with pytest.raises(SettingOutOfRange):
        k.apply(400.0)
    k.restore()
    assert nv.limit == 300_000


def test_nvml_enforced_limit_mismatch_is_an_error() -> None:
    nv = FakeNvml(enforce_cap_mw=200_000)
    k = NvmlPowerLimit(nv)
    with pytest.raises(KnobUnavailable, match="250000 mW but 200000 mW is enforced"):
        k.apply(250.0)


def test_nvml_permission_error_says_run_as_root() -> None:
    k = NvmlPowerLimit(FakeNvml(permission=False))
    with pytest.raises(KnobUnavailable, match="NoPermission.*run as root"):
        k.apply(200.0)


def test_nvml_locked_clocks() -> None:
    nv = FakeNvml()
    k = NvmlLockedClocks(nv)
    assert k.available() == [510.0, 1005.0, 1410.0, 1755.0, 1980.0]
    k.apply(1410.0)
    assert nv.locked == (1410, 1410) and k.read() == 1410.0
    with pytest.raises(SettingOutOfRange, match="not a supported graphics clock"):
        k.apply(1500.0)
    k.restore()
    assert nv.locked is None


# ---------------------------------------------------------------------------- threads, simulated
def test_thread_count_and_quota_combination(tmp_path: Path, fake_groups: None) -> None:
    state = {"n": 2}
    t = ThreadCount(get=lambda: state["n"], set=lambda n: state.__setitem__("n", n), ncpu=2)
    root, proc = tmp_path / "cg", tmp_path / "proc"
    cpu = make_cgroup_v1(root, proc, 9)
    q = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(9,), ncpu=2, name="alert-g"))
    k = QuotaWithThreads(q, t)
    k.apply(0.75)
    assert state["n"] == 1 and rd(cpu / "alert-g/cpu.cfs_quota_us") == "75000"
    k.apply(2.0)
    assert state["n"] == 2
    k.apply(1.25)
    assert state["n"] == 1
    k.restore()
    assert state["n"] == 2 and not (cpu / "alert-g").exists()


@given(st.floats(min_value=0.01, max_value=64.0), st.integers(min_value=1, max_value=64))
def test_threads_for_is_within_bounds_and_never_exceeds_quota(cores: float, ncpu: int) -> None:
    n = threads_for(cores, ncpu)
    assert 1 <= n <= ncpu
    assert n <= max(1.0, cores + 1e-9)


def test_simulated_knob_records_history() -> None:
    k = SimulatedKnob([0.5, 1.0, 2.0], unit="cores")
    assert k.read() == 2.0
    assert k.apply(0.5) and not k.apply(0.5) and k.apply(1.0)
    assert k.history == [0.5, 1.0]
    with pytest.raises(SettingOutOfRange):
        k.apply(0.75)
    k.restore()
    assert k.read() == 2.0


def test_cgroup_removed_under_a_running_knob_is_noticed_at_the_next_input(tmp_path: Path, fake_groups: None) -> None:
    root, proc = tmp_path / "cg", tmp_path / "proc"
    cpu = make_cgroup_v1(root, proc, 4242)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(4242,), ncpu=2, name="alert-t"))
    assert k.apply(0.5) is True
    assert k.apply(0.5) is False  # unchanged: no write, but the cgroup is checked
    fake_remove_group(cpu / "alert-t")  # someone else removes it
    with pytest.raises(KnobUnavailable, match="removed while the run was using it") as e:
        k.apply(0.5)  # the same setting: noticed now, not at the next change
    assert "start the run again" in str(e.value) and "absent on this machine" not in str(e.value)
    k.restore()  # nothing left to undo, and no error


@pytest.mark.parametrize("period", [0, -5, 999, 1_000_001, 2.5, True])
def test_cfs_period_outside_the_kernel_range_is_refused_before_anything(tmp_path: Path, period: object) -> None:
    with pytest.raises(KnobUnavailable, match="1000 and 1000000"):
        CgroupConfig(root=tmp_path, period_us=period)  # type: ignore[arg-type]
