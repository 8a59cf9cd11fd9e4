"""CPU-time quota through cgroups: v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` and v2 ``cpu.max``.

The knob creates its own cgroup (``alert-<pid>`` under the hierarchy's root), moves the
inference process (its whole thread group) into it on :meth:`CgroupCpuQuota.prepare`, and on
restore moves every process back to where it came from and removes the cgroup. On cgroup v1 it
can instead move single threads (``tids``, written to ``tasks``): the live runtime puts only its
inference thread under the quota, so the controller itself is never throttled. A setting is a
quota in *cores*: quota_us = cores × period_us, between the kernel's 1 ms minimum and the
number of CPUs this process may run on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alert.system import sysfs
from alert.system.base import Knob
from alert.system.errors import KnobUnavailable

CGROUP_ROOT = "/sys/fs/cgroup"
MIN_QUOTA_US = 1000  # the kernel rejects CFS quotas below 1 ms


def make_group(path: Path) -> None:
    """Create a cgroup directory (the kernel fills in its control files)."""
    os.mkdir(path)


def remove_group(path: Path) -> None:
    """Remove an empty cgroup directory."""
    os.rmdir(path)


@dataclass(frozen=True)
class CgroupConfig:
    """Where the cgroup tree is, which processes to move, and the CFS period."""

    root: Path = Path(CGROUP_ROOT)
    proc: Path = Path("/proc")
    name: str | None = None  # default: alert-<pid of the first process>
    period_us: int = 100_000
    pids: tuple[int, ...] | None = None  # default: this process (unless tids are given)
    tids: tuple[int, ...] = ()  # threads to move instead (cgroup v1 only)
    ncpu: int | None = None  # default: CPUs in this process's affinity mask


def detect(root: Path) -> tuple[str, Path]:
    """Return (version, mount) of the hierarchy that carries the cpu controller."""
    ctrl = root / "cgroup.controllers"
    if ctrl.exists() and "cpu" in sysfs.read_text(ctrl).split():
        return "v2", root
    for sub in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        if (root / sub / "cpu.cfs_quota_us").exists():
            return "v1", root / sub
    if (root / "cpu.cfs_quota_us").exists():
        return "v1", root
    raise KnobUnavailable(str(root), "no cgroup hierarchy with the cpu controller",
                          "mount cgroup v2 with the cpu controller enabled, or cgroup v1 with "
                          "'mount -t cgroup -o cpu cgroup /sys/fs/cgroup/cpu'")


def origin_of(pid: int, version: str, proc: Path) -> str:
    """The cgroup path (relative to the mount) of ``pid`` in the cpu hierarchy of ``version``."""
    text = sysfs.read_text(proc / str(pid) / "cgroup")
    for line in text.splitlines():
        hid, controllers, path = line.split(":", 2)
        if version == "v2" and hid == "0":
            return path
        if version == "v1" and "cpu" in controllers.split(","):
            return path
    return "/"


class CgroupCpuQuota(Knob):
    """CPU quota in cores for a cgroup the knob creates and removes."""

    kind = "cgroup"
    unit = "cores"

    def __init__(self, config: CgroupConfig | None = None) -> None:
        super().__init__()
        cfg = config or CgroupConfig()
        self.config = cfg
        self.version, self.mount = detect(Path(cfg.root))
        self.tids = tuple(cfg.tids)
        if self.tids and self.version != "v1":
            raise KnobUnavailable(str(self.mount), "moving single threads needs cgroup v1 (v2 only moves "
                                  "whole processes outside threaded subtrees)",
                                  "use process placement (the whole process under the quota)")
        self.pids = tuple(cfg.pids) if cfg.pids else (() if self.tids else (os.getpid(),))
        self.path = self.mount / (cfg.name or f"alert-{os.getpid()}")
        self.ncpu = cfg.ncpu or len(os.sched_getaffinity(0))
        self.origins = {i: origin_of(i, self.version, Path(cfg.proc)) for i in self.pids + self.tids}
        parent_file = self.mount / ("cgroup.subtree_control" if self.version == "v2" else "cgroup.procs")
        sysfs.check_writable(parent_file)
        self._enable_subtree = False
        if self.version == "v2":
            self._enable_subtree = "cpu" not in sysfs.read_text(parent_file).split()
        self._prepared = False

    # ------------------------------------------------------------------ files
    def _quota_files(self) -> list[Path]:
        if self.version == "v2":
            return [self.path / "cpu.max"]
        return [self.path / "cpu.cfs_quota_us", self.path / "cpu.cfs_period_us"]

    def prepare(self) -> None:
        """Create the cgroup, set an unlimited quota and move the processes into it."""
        if self._prepared:
            return
        if self._enable_subtree:
            sysfs.write_text(self.mount / "cgroup.subtree_control", "+cpu")
        if not self.path.exists():
            try:
                make_group(self.path)
            except PermissionError:
                raise KnobUnavailable(str(self.path), "cannot create the cgroup (permission denied)",
                                      "run as root, or delegate a cgroup subtree to this user") from None
        for f in self._quota_files():
            if not f.exists():
                raise KnobUnavailable(str(f), "missing in the new cgroup",
                                      "enable the cpu controller for this hierarchy")
        if self.version == "v1":
            sysfs.write_text(self.path / "cpu.cfs_period_us", self.config.period_us)
            sysfs.write_text(self.path / "cpu.cfs_quota_us", -1)
        else:
            sysfs.write_text(self.path / "cpu.max", f"max {self.config.period_us}")
        for pid in self.pids:
            sysfs.write_text(self.path / "cgroup.procs", pid)
        for tid in self.tids:
            sysfs.write_text(self.path / "tasks", tid)
        self._prepared = True

    # ------------------------------------------------------------------ knob
    def limits(self) -> tuple[float, float]:
        return MIN_QUOTA_US / self.config.period_us, float(self.ncpu)

    def read(self) -> float:
        if not self._prepared:
            return float(self.ncpu)
        if self.version == "v2":
            quota_text, period_text = sysfs.read_text(self.path / "cpu.max").split()
            return float(self.ncpu) if quota_text == "max" else int(quota_text) / int(period_text)
        quota = sysfs.read_int(self.path / "cpu.cfs_quota_us")
        period = sysfs.read_int(self.path / "cpu.cfs_period_us")
        return float(self.ncpu) if quota < 0 else quota / period

    def _write(self, value: float) -> None:
        self.prepare()
        quota = max(MIN_QUOTA_US, int(round(value * self.config.period_us)))
        if self.version == "v2":
            sysfs.write_text(self.path / "cpu.max", f"{quota} {self.config.period_us}")
        else:
            sysfs.write_text(self.path / "cpu.cfs_quota_us", quota)

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": self.version, "mount": str(self.mount), "path": str(self.path),
                "origins": {str(p): o for p, o in self.origins.items()},
                "subtree_enabled": self._enable_subtree}

    def restore(self) -> None:
        if not self._prepared:
            return
        restore_snapshot(self.snapshot())
        self._prepared = False
        self._last = None


def _live_ids(listing: Path) -> list[int]:
    if not listing.exists():
        return []
    return [int(x) for x in sysfs.read_text(listing).split()]


def restore_snapshot(snap: dict[str, Any]) -> None:
    """Move every process and thread out of the created cgroup (back to its origin), remove the cgroup."""
    mount, path = Path(snap["mount"]), Path(snap["path"])
    origins: dict[str, str] = snap["origins"]
    fallback = next(iter(origins.values()), "/")
    if path.exists():
        for listing in ("cgroup.procs", "tasks"):  # whole processes first, then stray threads (v1)
            for i in _live_ids(path / listing):
                dest = mount / origins.get(str(i), fallback).lstrip("/")
                try:
                    sysfs.write_text(dest / listing, i)
                except (KnobUnavailable, OSError):
                    pass  # the process or thread exited meanwhile
        remove_group(path)
    if snap.get("subtree_enabled"):
        try:
            sysfs.write_text(mount / "cgroup.subtree_control", "-cpu")
        except (KnobUnavailable, OSError):
            pass  # another cgroup now uses the controller; leaving it enabled is harmless
