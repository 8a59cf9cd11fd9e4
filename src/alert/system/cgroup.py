"""CPU-time quota through cgroups: v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` and v2 ``cpu.max``.

The knob creates its own cgroup (``alert-<pid>`` under the hierarchy's root), moves the
inference process (its whole thread group) into it on :meth:`CgroupCpuQuota.prepare`, and on
restore moves every process back to where it came from and removes the cgroup. On cgroup v1 it
can instead move single threads (``tids``, written to ``tasks``): the live runtime puts only its
inference thread under the quota, so the controller itself is never throttled. A setting is a
quota in *cores*: quota_us = cores × period_us, between the kernel's 1 ms minimum and the
number of CPUs this process may run on.

The cgroup's CPU weight (v1 ``cpu.shares``, v2 ``cpu.weight``) is the CFS weight of the moved
process's nice level unless :attr:`CgroupConfig.shares` says otherwise: a cgroup competes with the
tasks beside it as one entity of its own weight, so without this a process started with ``nice -n
-15`` would lose its priority on entering the group. At nice 0 that is the kernel's default (1024)
and nothing is written.

The group sits under the hierarchy's root, outside the moved process's own cgroup (a cgroup v2
parent with processes of its own cannot share CPU time among children), so it carries over the
limits of the cgroups the process leaves (:func:`origin_limits`): the least CPU quota along the
origin's path caps the knob's highest setting on v1 and v2, and on v2, where every controller
moves with the process, the least ``memory.max``, ``memory.high``, ``memory.swap.max`` and
``pids.max`` and the origin's effective ``cpuset`` are written into the group before any process
moves. A limit the group cannot carry (its controller not enabled at the root) stops the knob
with the fix; the process never runs outside its limits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alert.system import sysfs
from alert.system.base import Knob
from alert.system.errors import KnobUnavailable
from alert.system.roots import (
    RefusedPath,
    SystemRoots,
    component,
    inside,
    relative_parts,
    same_path,
)

CGROUP_ROOT = "/sys/fs/cgroup"
MIN_QUOTA_US = 1000  # the kernel rejects CFS quotas below 1 ms
MIN_PERIOD_US, MAX_PERIOD_US = 1000, 1_000_000  # the kernel's CFS period range: 1 ms to 1 s
#: the cgroups this knob creates, and the only ones ``alert restore`` removes
GROUP_NAME = r"alert-[a-z0-9][a-z0-9-]{0,62}"
DEFAULT_SHARES = 1024
#: CFS load weight of nice -20 ... 19 (the kernel's sched_prio_to_weight)
NICE_WEIGHTS = (88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
                9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
                1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
                110, 87, 70, 56, 45, 36, 29, 23, 18, 15)


def nice_weight(nice: int) -> int:
    """The CFS weight of a nice level (1024 at 0; about 1.25x per step)."""
    return NICE_WEIGHTS[min(19, max(-20, int(nice))) + 20]


def v2_weight(shares: int) -> int:
    """cgroup v2 ``cpu.weight`` (1-10000, default 100) of a v1 ``cpu.shares`` value (default 1024)."""
    return int(min(10_000, max(1, round(shares * 100 / DEFAULT_SHARES))))


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
    shares: int | None = None  # CPU weight in v1 shares (2-262144); default: the weight of this process's nice

    def __post_init__(self) -> None:
        if self.shares is not None and not 2 <= self.shares <= 262_144:
            raise ValueError(f"cgroup shares {self.shares}: the kernel takes 2-262144. Fix: give shares in that "
                             "range (1024 is the default weight, that of nice 0)")
        p = self.period_us
        if isinstance(p, bool) or not isinstance(p, int) or not MIN_PERIOD_US <= p <= MAX_PERIOD_US:
            raise KnobUnavailable("cgroup knob: CFS period", f"{p!r} us is outside the kernel's range "
                                  f"{MIN_PERIOD_US}-{MAX_PERIOD_US} us (1 ms to 1 s)",
                                  "pass --cfs-period-us between 1000 and 1000000")
        if self.name is not None:
            component(self.name, GROUP_NAME, "cgroup knob: name",
                      "name the cgroup alert-<lowercase letters, digits, dashes>: alert restore removes only those")


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


#: cgroup v2 limits the quota cgroup carries over from the moved process's path: the least value
#: along it ("max" is none)
CARRIED_V2 = ("memory.max", "memory.high", "memory.swap.max", "pids.max")
#: cgroup v2 cpuset files the quota cgroup copies from the origin's effective ones
CARRIED_CPUSET = ("cpuset.cpus", "cpuset.mems")


@dataclass(frozen=True)
class OriginLimits:
    """What the cgroups on a process's path allow it (:func:`origin_limits`)."""

    cores: float | None = None  # the least CPU quota on the path, in cores (None: no quota)
    v2: tuple[tuple[str, int], ...] = ()  # (file, least value) of CARRIED_V2 that some cgroup on the path sets
    cpuset: tuple[tuple[str, str], ...] = ()  # (file, the origin's effective value) where it differs from the root's


def _limit(text: str, path: Path) -> int | None:
    """A cgroup v2 limit file's value: None for "max", else the integer (an error names the file)."""
    if text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        raise KnobUnavailable(str(path), f"expected an integer or 'max', found {text!r}",
                              "check that this is the cgroup interface you meant") from None


def _quota_cores(d: Path, version: str) -> float | None:
    """The CPU quota of cgroup ``d`` in cores (None: none, or no quota file)."""
    if version == "v2":
        f = d / "cpu.max"
        if not f.is_file():
            return None
        parts = sysfs.read_text(f).split()
        if len(parts) != 2 or parts[0] == "max":
            return None
        try:
            return int(parts[0]) / int(parts[1])
        except (ValueError, ZeroDivisionError):
            raise KnobUnavailable(str(f), f"expected '<quota> <period>' or 'max <period>', found {' '.join(parts)!r}",
                                  "check that this is the cgroup interface you meant") from None
    q, per = d / "cpu.cfs_quota_us", d / "cpu.cfs_period_us"
    if not (q.is_file() and per.is_file()):
        return None
    quota, period = sysfs.read_int(q), sysfs.read_int(per)
    return None if quota < 0 or period <= 0 else quota / period


def origin_limits(mount: Path, version: str, origin: str) -> OriginLimits:
    """The limits the cgroups from ``origin`` (a path below ``mount``) up to, not including, the
    root put on a process in it: the least CPU quota (v1 and v2) and, on v2, the least of each of
    :data:`CARRIED_V2` and the origin's effective cpuset where it is narrower than the root's.
    Only read; each cgroup on the path must lie under ``mount`` (no link leads out)."""
    parts = relative_parts(origin, "cgroup origin")
    cores: float | None = None
    least: dict[str, int] = {}
    for k in range(len(parts), 0, -1):
        d = mount.joinpath(*parts[:k])
        if not d.is_dir():
            continue  # gone meanwhile: nothing of it to carry
        d = inside(d, (mount,), "cgroup origin")
        c = _quota_cores(d, version)
        if c is not None:
            cores = c if cores is None else min(cores, c)
        if version != "v2":
            continue
        for name in CARRIED_V2:
            f = d / name
            if f.is_file():
                v = _limit(sysfs.read_text(f), f)
                if v is not None:
                    least[name] = v if name not in least else min(least[name], v)
    cpuset: list[tuple[str, str]] = []
    if version == "v2" and parts:
        d = mount.joinpath(*parts)
        for name in CARRIED_CPUSET:
            own, top = d / f"{name}.effective", mount / f"{name}.effective"
            if own.is_file() and top.is_file():
                value = sysfs.read_text(inside(own, (mount,), "cgroup origin"))
                if value != sysfs.read_text(top):
                    cpuset.append((name, value))
    return OriginLimits(cores, tuple(sorted(least.items())), tuple(cpuset))


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
        self.ncpu: float = cfg.ncpu or len(os.sched_getaffinity(0))
        self.shares = cfg.shares if cfg.shares is not None else nice_weight(os.nice(0))
        self.origins = {i: origin_of(i, self.version, Path(cfg.proc)) for i in self.pids + self.tids}
        # what the cgroups the processes leave allow them: the tightest of every origin's path
        found = [origin_limits(self.mount, self.version, o) for o in dict.fromkeys(self.origins.values())]
        caps = [lim.cores for lim in found if lim.cores is not None]
        self.cap = min(caps) if caps else None  # the least CPU quota on the way out, in cores
        if self.cap is not None:
            self.ncpu = min(self.ncpu, max(MIN_QUOTA_US / cfg.period_us, self.cap))
        carried: dict[str, int] = {}
        for lim in found:
            for name, v in lim.v2:
                carried[name] = min(carried.get(name, v), v)
        self.carried = tuple(sorted(carried.items()))
        self.cpuset = found[0].cpuset if len(found) == 1 else ()
        if len(found) > 1 and any(lim.cpuset for lim in found):
            raise KnobUnavailable(str(self.mount), "the processes to move come from cgroups with different cpusets",
                                  "move the processes of one cgroup at a time")
        parent_file = self.mount / ("cgroup.subtree_control" if self.version == "v2" else "cgroup.procs")
        sysfs.check_writable(parent_file)
        self._enable_subtree = False
        if self.version == "v2":
            self._enable_subtree = "cpu" not in sysfs.read_text(parent_file).split()
        self._prepared = False
        self._subtree_done = False  # "+cpu" written to the parent's subtree_control
        self._created = False  # set just before the cgroup is created, so a half-done prepare is undone

    # ------------------------------------------------------------------ files
    def _quota_files(self) -> list[Path]:
        if self.version == "v2":
            return [self.path / "cpu.max"]
        return [self.path / "cpu.cfs_quota_us", self.path / "cpu.cfs_period_us"]

    def prepare(self) -> None:
        """Create the cgroup, set an unlimited quota and move the processes into it."""
        if self._prepared:
            return
        # each flag is set before its step: a signal that interrupts the step (its handler restores)
        # then undoes it too, and undoing a step that did not happen is harmless
        if self._enable_subtree:
            self._subtree_done = True
            sysfs.write_text(self.mount / "cgroup.subtree_control", "+cpu")
        if not self.path.exists():
            self._created = True
            try:
                make_group(self.path)
            except PermissionError:
                raise KnobUnavailable(str(self.path), "cannot create the cgroup (permission denied)",
                                      "run as root, or delegate a cgroup subtree to this user") from None
        for f in self._quota_files():
            if not f.exists():
                raise KnobUnavailable(str(f), "missing in the new cgroup",
                                      "enable the cpu controller for this hierarchy")
        # the limits of the cgroups the processes leave, before any of them moves (module docstring)
        for name, value in self.carried + self.cpuset:
            f = self.path / name
            if not f.exists():
                controller = name.split(".")[0]
                raise KnobUnavailable(str(f), f"missing in the new cgroup, so the {name} {value} that the "
                                      "moved process has where it runs now would not apply",
                                      f"enable the {controller} controller at the root "
                                      f"(echo +{controller} > {self.mount / 'cgroup.subtree_control'})")
            sysfs.write_text(f, value)
        # no quota ("max"/-1) unless the processes leave one: then theirs
        top = -1 if self.cap is None else max(MIN_QUOTA_US, int(round(self.ncpu * self.config.period_us)))
        if self.version == "v1":
            sysfs.write_text(self.path / "cpu.cfs_period_us", self.config.period_us)
            sysfs.write_text(self.path / "cpu.cfs_quota_us", top)
            if self.shares != DEFAULT_SHARES:
                sysfs.write_text(self.path / "cpu.shares", self.shares)
        else:
            sysfs.write_text(self.path / "cpu.max", f"{'max' if top < 0 else top} {self.config.period_us}")
            if self.shares != DEFAULT_SHARES:
                sysfs.write_text(self.path / "cpu.weight", v2_weight(self.shares))
        for pid in self.pids:
            sysfs.write_text(self.path / "cgroup.procs", pid)
        for tid in self.tids:
            sysfs.write_text(self.path / "tasks", tid)
        self._prepared = True

    # ------------------------------------------------------------------ knob
    def limits(self) -> tuple[float, float]:
        return MIN_QUOTA_US / self.config.period_us, float(self.ncpu)

    def verify(self) -> None:
        """Raise when the cgroup was removed under a running knob (the quota no longer holds)."""
        if self._prepared and not os.path.isdir(self.path):
            raise KnobUnavailable(str(self.path), "the cgroup was removed while the run was using it, so the "
                                  "quota no longer applies", "stop whatever removes alert-<pid> cgroups "
                                  "(a cleanup script or service manager) while alert runs, then start the run again")

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
        if not (self._prepared or self._created or self._subtree_done):
            return
        _undo(self.mount, self.path, {str(p): o for p, o in self.origins.items()}, self._subtree_done)
        self._prepared = self._created = self._subtree_done = False
        self._last = None


def _live_ids(listing: Path) -> list[int]:
    if not listing.exists():
        return []
    return [int(x) for x in sysfs.read_text(listing).split()]


def _undo(mount: Path, path: Path, origins: dict[str, str], subtree_enabled: bool) -> None:
    fallback = next(iter(origins.values()), "/")
    if path.exists():
        for listing in ("cgroup.procs", "tasks"):  # whole processes first, then stray threads (v1)
            for i in _live_ids(path / listing):
                dest = mount / origins.get(str(i), fallback).lstrip("/")
                for d in (dest, mount):  # the origin, else the root (the origin may be gone)
                    try:
                        sysfs.write_text(inside(d, (mount,), "cgroup origin") / listing, i)
                        break
                    except (KnobUnavailable, RefusedPath, OSError):
                        continue  # the process or thread exited meanwhile, or the origin is gone
        remove_group(path)
    if subtree_enabled:
        try:
            sysfs.write_text(mount / "cgroup.subtree_control", "-cpu")
        except (KnobUnavailable, OSError):
            pass  # another cgroup now uses the controller; leaving it enabled is harmless


def check_snapshot(snap: dict[str, Any], roots: SystemRoots | None = None) -> tuple[Path, Path, dict[str, str], bool]:
    """(mount, cgroup, origins, subtree flag) of a recorded snapshot, once the cgroup is an
    ``alert-*`` child of the mounted cpu controller under ``roots.cgroup`` and every origin is a
    path below that mount without ``..`` or links leading out; else RefusedPath."""
    roots = roots or SystemRoots()
    _, mount = detect(roots.cgroup)
    same_path(snap.get("mount"), mount, "cgroup state: mount")
    path_s = snap.get("path")
    name = component(Path(path_s).name if isinstance(path_s, str) else path_s, GROUP_NAME, "cgroup state: path")
    same_path(path_s, mount / name, "cgroup state: path")
    path = mount / name
    if path.is_symlink():
        raise RefusedPath(str(path), "is a symbolic link", "delete it; alert creates cgroups as directories")
    origins = snap.get("origins")
    if not isinstance(origins, dict):
        raise RefusedPath("cgroup state: origins", f"{origins!r} is not a mapping", "delete the state file")
    out: dict[str, str] = {}
    for pid, rel in origins.items():
        if not (isinstance(pid, str) and pid.isdigit() and len(pid) < 12):
            raise RefusedPath("cgroup state: origins", f"{pid!r} is not a process id", "delete the state file")
        parts = relative_parts(rel, f"cgroup state: origin of {pid}")
        out[pid] = "/" + "/".join(parts)
    sub = snap.get("subtree_enabled", False)
    if not isinstance(sub, bool):
        raise RefusedPath("cgroup state: subtree_enabled", f"{sub!r} is not true/false", "delete the state file")
    return mount, path, out, sub


def restore_snapshot(snap: dict[str, Any], roots: SystemRoots | None = None) -> None:
    """Move every process and thread out of the created cgroup (back to its origin, or to the
    root when that is gone) and remove the cgroup, after :func:`check_snapshot`."""
    mount, path, origins, sub = check_snapshot(snap, roots)
    _undo(mount, path, origins, sub)
