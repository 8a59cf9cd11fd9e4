"""Temporary directories laid out like the kernel's powercap, cpufreq, cgroup and /proc trees,
and a fake pynvml module."""

from __future__ import annotations

import os
from pathlib import Path


def write(path: Path, text: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{text}\n")
    return path


def make_rapl(root: Path, limit_uw: int = 15_000_000, max_uw: int | None = 25_000_000,
              enabled: int = 1, energy_uj: int = 1000, range_uj: int = 262_143_328_850) -> Path:
    """/sys/class/powercap with one package zone (long/short term) and a core sub-zone."""
    z = root / "intel-rapl:0"
    write(z / "name", "package-0")
    write(z / "enabled", enabled)
    write(z / "energy_uj", energy_uj)
    write(z / "max_energy_range_uj", range_uj)
    write(z / "constraint_0_name", "long_term")
    write(z / "constraint_0_power_limit_uw", limit_uw)
    write(z / "constraint_0_time_window_us", 27_983_872)
    if max_uw is not None:
        write(z / "constraint_0_max_power_uw", max_uw)
    write(z / "constraint_1_name", "short_term")
    write(z / "constraint_1_power_limit_uw", 25_000_000)
    write(z / "constraint_1_max_power_uw", 35_000_000)
    sub = root / "intel-rapl:0:0"
    write(sub / "name", "core")
    write(sub / "energy_uj", 5)
    write(root / "intel-rapl" / "enabled", 1)
    return z


def make_cpufreq(root: Path, ncpu: int = 2, avail: bool = True) -> Path:
    """/sys/devices/system/cpu with cpufreq directories."""
    for i in range(ncpu):
        d = root / f"cpu{i}" / "cpufreq"
        write(d / "scaling_max_freq", 3_000_000)
        write(d / "scaling_min_freq", 800_000)
        write(d / "cpuinfo_max_freq", 3_000_000)
        write(d / "cpuinfo_min_freq", 800_000)
        if avail:
            write(d / "scaling_available_frequencies", "3000000 2400000 1600000 800000")
    write(root / "online", f"0-{ncpu - 1}")
    return root


def make_cgroup_v1(root: Path, proc: Path, pid: int) -> Path:
    cpu = root / "cpu"
    write(cpu / "cpu.cfs_quota_us", -1)
    write(cpu / "cpu.cfs_period_us", 100_000)
    write(cpu / "cgroup.procs", "1")
    write(cpu / "tasks", "1")
    write(proc / str(pid) / "cgroup", "4:memory:/x\n1:cpu:/\n0::/")
    return cpu


def make_cgroup_v2(root: Path, proc: Path, pid: int) -> Path:
    write(root / "cgroup.controllers", "cpuset cpu io memory pids")
    write(root / "cgroup.subtree_control", "memory")
    write(root / "cgroup.procs", "1")
    write(root / "user.slice" / "cgroup.procs", "")
    write(proc / str(pid) / "cgroup", "0::/user.slice")
    return root


def fake_make_group(path: Path) -> None:
    """What the kernel does on mkdir in a cgroup tree: create the control files."""
    os.mkdir(path)
    if (path.parent / "cpu.cfs_quota_us").exists():
        write(path / "cpu.cfs_quota_us", -1)
        write(path / "cpu.cfs_period_us", 100_000)
        write(path / "cpu.shares", 1024)
        (path / "tasks").write_text("")
    else:
        write(path / "cpu.max", "max 100000")
        write(path / "cpu.weight", 100)
        # the interface files of the controllers the parent enables for its children (v2)
        enabled = {c.lstrip("+") for c in (path.parent / "cgroup.subtree_control").read_text().split()}
        for name, value in (("memory.max", "max"), ("memory.high", "max"), ("memory.swap.max", "max"),
                            ("pids.max", "max"), ("cpuset.cpus", ""), ("cpuset.mems", "")):
            if name.split(".")[0] in enabled:
                write(path / name, value)
    (path / "cgroup.procs").write_text("")


def fake_remove_group(path: Path) -> None:
    for f in path.iterdir():
        f.unlink()
    path.rmdir()


class NVMLError(Exception):
    pass


class NVMLError_NoPermission(NVMLError):  # noqa: N801 - the pynvml name
    pass


class FakeNvml:
    """The pynvml functions the system layer calls, with one GPU and settable behaviour."""

    NVML_CLOCK_SM = 1

    def __init__(self, limit_mw: int = 300_000, lo_mw: int = 100_000, hi_mw: int = 350_000,
                 permission: bool = True, enforce_cap_mw: int | None = None) -> None:
        self.limit = limit_mw
        self.range = (lo_mw, hi_mw)
        self.permission = permission
        self.enforce_cap = enforce_cap_mw
        self.locked: tuple[int, int] | None = None
        self.energy_mj = 0
        self.power_mw = 100_000
        self.calls: list[str] = []

    def nvmlInit(self) -> None:
        self.calls.append("init")

    def nvmlDeviceGetHandleByIndex(self, i: int) -> str:
        if i != 0:
            raise NVMLError("Invalid Argument")
        return "gpu0"

    def nvmlDeviceGetPowerManagementLimitConstraints(self, h: str) -> tuple[int, int]:
        return self.range

    def nvmlDeviceGetPowerManagementLimit(self, h: str) -> int:
        return self.limit

    def nvmlDeviceGetEnforcedPowerLimit(self, h: str) -> int:
        return self.limit if self.enforce_cap is None else min(self.limit, self.enforce_cap)

    def nvmlDeviceSetPowerManagementLimit(self, h: str, mw: int) -> None:
        if not self.permission:
            raise NVMLError_NoPermission("Insufficient Permissions")
        if not self.range[0] <= mw <= self.range[1]:
            raise NVMLError("Invalid Argument")
        self.limit = mw

    def nvmlDeviceGetSupportedMemoryClocks(self, h: str) -> list[int]:
        return [1593, 877]

    def nvmlDeviceGetSupportedGraphicsClocks(self, h: str, mem: int) -> list[int]:
        return [1980, 1755, 1410, 1005, 510] if mem == 1593 else [510]

    def nvmlDeviceSetGpuLockedClocks(self, h: str, lo: int, hi: int) -> None:
        if not self.permission:
            raise NVMLError_NoPermission("Insufficient Permissions")
        self.locked = (lo, hi)

    def nvmlDeviceResetGpuLockedClocks(self, h: str) -> None:
        self.locked = None

    def nvmlDeviceGetClockInfo(self, h: str, which: int) -> int:
        return self.locked[0] if self.locked else 1980

    def nvmlDeviceGetTotalEnergyConsumption(self, h: str) -> int:
        return self.energy_mj

    def nvmlDeviceGetPowerUsage(self, h: str) -> int:
        return self.power_mw

    def nvmlDeviceGetName(self, h: str) -> str:
        return "Fake GPU"
