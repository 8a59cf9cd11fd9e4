"""CPU-time quota through cgroups: v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` and v2 ``cpu.max``.

The knob creates its own cgroup (``alert-<pid>``, placed as below), moves the
inference process (its whole thread group) into it on :meth:`CgroupCpuQuota.prepare`, and on
restore moves every process back to where it came from and removes the cgroup. On cgroup v1 it
can instead move single threads (``tids``, written to ``tasks``): the live runtime puts only its
inference thread under the quota, so the controller itself is never throttled. A setting is a
quota in *cores*: quota_us = cores × period_us, between the kernel's 1 ms minimum and the
number of CPUs this process may run on.

The cgroup's CPU weight (v1 ``cpu.shares``, v2 ``cpu.weight``) is the CFS weight of the moved
process's nice level unless :attr:`CgroupConfig.shares` says otherwise: a cgroup competes with the
tasks beside it as one entity of its own weight, so without this a process started with ``nice -n
-15`` would lose its priority on entering the group. On v2, where the group goes beside the
cgroups the process leaves, the weight is at most their least ``cpu.weight``: the group competes
with their siblings at no more than they did. At the default weight nothing is written.

The group goes under the lowest cgroup of the moved process's path that keeps enforcing every
limit above it (:func:`origin_limits`: on v1 the process's own cgroup; on v2 the nearest domain
ancestor that enables cpu for its children, else the root), and carries the limits of the
cgroups it leaves: their least CPU quota, and on v2 their least ``memory.max``, ``memory.high``,
``memory.swap.max`` and ``pids.max`` and a narrower effective cpuset, written into the group
before any process moves. The least quota on the whole path caps the knob's range. A limit the
group cannot carry stops the knob with the fix; on restore a process whose own cgroup is gone is
never sent to the root (unless it came from there): the process never runs outside its limits.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
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
    #: the uid of the process's owner when it is not this process's (knobd's client): a limit the
    #: group would have to copy from a file this uid does not own is refused, never duplicated
    client_uid: int | None = None

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


#: cgroup v2 limits the quota cgroup carries over from the cgroups the moved process leaves: the
#: least value among them ("max" is none)
CARRIED_V2 = ("memory.max", "memory.high", "memory.swap.max", "pids.max")
#: cgroup v2 cpuset files the quota cgroup copies from the origin's effective ones
CARRIED_CPUSET = ("cpuset.cpus", "cpuset.mems")
#: the deepest origin path read (cgroup nesting is unbounded; a path this deep is refused)
MAX_DEPTH = 64


@dataclass(frozen=True)
class _Level:
    """What one cgroup on a process's path puts on it (:func:`_levels`)."""

    cores: Fraction | None  # its CPU quota in cores, exactly (None: none)
    limits: tuple[tuple[str, int], ...]  # CARRIED_V2 files it sets (v2)
    subtree: frozenset[str]  # controllers it enables for its children (v2 cgroup.subtree_control)
    domain: bool  # a domain cgroup (v2 cgroup.type; v1 and the root: True)
    cpuset: tuple[str, ...] | None  # its effective cpus and mems (v2 with the cpuset controller)
    owners: tuple[tuple[str, int], ...] = ()  # (file, owner uid) of each file of it that sets a limit
    weight: int | None = None  # its v2 cpu.weight (None: the file is absent: its parent does not enable cpu)


@dataclass(frozen=True)
class OriginLimits:
    """Where the quota cgroup goes for a process in ``origin`` and what it carries (:func:`origin_limits`)."""

    parent: tuple[str, ...] = ()  # the cgroup the quota cgroup is created in (components below the mount)
    cores: Fraction | None = None  # the least CPU quota on the whole path, in cores (None: no quota)
    left: Fraction | None = None  # the least CPU quota of the cgroups left (below ``parent``)
    v2: tuple[tuple[str, int], ...] = ()  # (file, least value) of CARRIED_V2 set by the cgroups left
    cpuset: tuple[tuple[str, str], ...] = ()  # (file, the origin's effective value) where narrower than the parent's
    owners: tuple[tuple[str, int], ...] = ()  # (path, owner uid) of every file of the cgroups left that sets a limit
    weight: int | None = None  # the least v2 cpu.weight of the cgroups left (None: none has one)


def _read_at(fd: int, name: str, where: Path, owner: list[int] | None = None) -> str | None:
    """The stripped text of file ``name`` of the directory open as ``fd`` (None when absent; its
    owner's uid appended to ``owner`` when given); a link is refused, and the content is never
    echoed into an error."""
    try:
        f = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise RefusedPath(str(where / name), "is a symbolic link", "cgroup files are never links") from None
        raise KnobUnavailable(str(where / name), f"cannot be read ({os.strerror(e.errno or 0)})",
                              "run as root, or check the cgroup tree") from None
    try:
        if owner is not None:
            owner.append(os.fstat(f).st_uid)
        data = os.read(f, 4096)
    finally:
        os.close(f)
    try:
        return data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise KnobUnavailable(str(where / name), "is not ASCII text", "check the cgroup tree") from None


def _number(text: str, path: Path) -> int | None:
    """A cgroup limit: None for "max" (or -1, v1's none), else the integer."""
    if text == "max":
        return None
    try:
        v = int(text)
    except ValueError:
        raise KnobUnavailable(str(path), "is not an integer or 'max'",
                              "check that this is the cgroup interface you meant") from None
    return None if v < 0 else v


def _level(fd: int, version: str, where: Path) -> _Level:
    owners: list[tuple[str, int]] = []

    def read(name: str) -> str | None:
        uid: list[int] = []
        text = _read_at(fd, name, where, uid)
        if text is not None and text not in ("max", "-1", "") and not text.startswith("max "):
            owners.append((str(where / name), uid[0]))  # a file that sets something
        return text

    def num(name: str) -> int | None:
        text = read(name)
        return None if text is None else _number(text, where / name)

    limits: list[tuple[str, int]] = []
    if version == "v2":
        cores: Fraction | None = None
        cpu = read("cpu.max")
        if cpu is not None:
            parts = cpu.split()
            q = _number(parts[0], where / "cpu.max") if len(parts) == 2 else -1
            per = _number(parts[1], where / "cpu.max") if len(parts) == 2 else None
            if q == -1 or (q is not None and not per):
                raise KnobUnavailable(str(where / "cpu.max"), "is not '<quota> <period>' or 'max <period>'",
                                      "check that this is the cgroup interface you meant")
            cores = None if q is None or per is None else Fraction(q, per)
        for name in CARRIED_V2:
            v = num(name)
            if v is not None:
                limits.append((name, v))
        for name in CARRIED_CPUSET:  # (an own cpuset narrows the effective one)
            read(name)
        sub = _read_at(fd, "cgroup.subtree_control", where) or ""
        kind = _read_at(fd, "cgroup.type", where)
        cpus, mems = _read_at(fd, "cpuset.cpus.effective", where), _read_at(fd, "cpuset.mems.effective", where)
        cpuset = None if cpus is None or mems is None else (cpus, mems)
        # a weight is a share among siblings, not a limit: carried as the least, never refused (not an owner)
        text = _read_at(fd, "cpu.weight", where)
        weight = None if text is None else _number(text, where / "cpu.weight")
        return _Level(cores, tuple(limits), frozenset(sub.split()), kind in (None, "domain"), cpuset, tuple(owners),
                      weight)
    q, per = num("cpu.cfs_quota_us"), _number(_read_at(fd, "cpu.cfs_period_us", where) or "0", where / "cpu.cfs_period_us")
    return _Level(None if q is None or not per else Fraction(q, per), (), frozenset(), True, None, tuple(owners))


def _levels(mount: Path, version: str, parts: list[str]) -> list[_Level]:
    """The cgroups from the mount (level 0) down the path ``parts``, each opened below the one above
    it with O_NOFOLLOW (one pass, no link followed); the walk stops where the path no longer exists."""
    if len(parts) > MAX_DEPTH:
        raise KnobUnavailable(str(mount.joinpath(*parts[:3])) + "/...", f"the cgroup path is {len(parts)} deep, "
                              f"more than the {MAX_DEPTH} this knob reads", "run the process in a shallower cgroup")
    fd = os.open(mount, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the known root (v1: may be a kernel link)
    try:
        out = [_level(fd, version, mount)]
        for k, name in enumerate(parts):
            where = mount.joinpath(*parts[:k + 1])
            try:
                nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise RefusedPath(str(where), "is a symbolic link or not a directory",
                                      "cgroups are directories, never links") from None
                raise
            os.close(fd)
            fd = nfd
            out.append(_level(fd, version, where))
    finally:
        os.close(fd)
    return out


def origin_limits(mount: Path, version: str, origin: str, parent: tuple[str, ...] | None = None) -> OriginLimits:
    """Where the quota cgroup of a process in ``origin`` (a path below ``mount``) goes, and the
    limits of the cgroups it leaves.

    The parent (unless given) is the lowest cgroup above the origin under which the hierarchy
    keeps enforcing every limit of the cgroups above: on v1 the origin itself (a v1 cgroup with
    tasks may have children); on v2 the nearest domain ancestor that enables the cpu controller
    for its children (such a cgroup, the root apart, has no processes of its own), else the root.
    The cgroups below the parent, down to the origin, are left: their least CPU quota (``left``),
    on v2 the least of each of :data:`CARRIED_V2` and the origin's effective cpuset where it is
    narrower than the parent's go into the quota cgroup. ``cores``: the least CPU quota on the
    whole path (the most this process can get). Only read, walking down from the mount."""
    parts = relative_parts(origin, "cgroup origin")
    levels = _levels(mount, version, parts)
    if len(levels) <= len(parts):
        raise KnobUnavailable(str(mount.joinpath(*parts)), "the process's cgroup does not exist (it moved or was "
                              "removed meanwhile)", "start again once it stays in its cgroup")
    if parent is None:
        if version == "v1":
            k = len(parts)
        else:
            k = next((i for i in range(len(parts) - 1, 0, -1) if "cpu" in levels[i].subtree and levels[i].domain), 0)
        parent = tuple(parts[:k])
    if tuple(parts[:len(parent)]) != parent:
        raise ValueError(f"{parent} is not above {origin}")
    left_levels = levels[len(parent) + 1:]

    cpuset: tuple[tuple[str, str], ...] = ()
    own = next((lev.cpuset for lev in reversed(left_levels) if lev.cpuset is not None), None)
    top = next((lev.cpuset for lev in reversed(levels[:len(parent) + 1]) if lev.cpuset is not None), None)
    if own is not None and own != top:
        cpuset = tuple((name, value) for name, value, above in zip(CARRIED_CPUSET, own, top or ("", ""), strict=True)
                       if value != above)
    return OriginLimits(parent, _least([lev.cores for lev in levels]), _least([lev.cores for lev in left_levels]),
                        _least_each(v for lev in left_levels for v in lev.limits), cpuset,
                        tuple(o for lev in left_levels for o in lev.owners),
                        min((lev.weight for lev in left_levels if lev.weight is not None), default=None))


def _least(values: list[Fraction | None]) -> Fraction | None:
    vs = [v for v in values if v is not None]
    return min(vs) if vs else None


def _least_each(limits: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    """The least value of each named limit in ``limits``, sorted by name."""
    least: dict[str, int] = {}
    for name, v in limits:
        least[name] = min(least.get(name, v), v)
    return tuple(sorted(least.items()))


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
        self.shares = cfg.shares if cfg.shares is not None else nice_weight(os.nice(0))
        self._affinity = cfg.ncpu or len(os.sched_getaffinity(0))
        self._place()
        parent_file = self.parent / ("cgroup.subtree_control" if self.version == "v2" else "cgroup.procs")
        sysfs.check_writable(parent_file)
        self._enable_subtree = False  # (a parent below the root was chosen for enabling cpu already)
        if self.version == "v2" and self.parent == self.mount:
            self._enable_subtree = "cpu" not in sysfs.read_text(parent_file).split()
        self._prepared = False
        self._subtree_done = False  # "+cpu" written to the parent's subtree_control
        self._created = False  # set just before the cgroup is created, so a half-done prepare is undone
        self._fd: int | None = None  # the created group's directory, held open while the knob holds it
        self._ino: tuple[int, int] | None = None  # (device, inode) of the group made, to know it again

    def _place(self) -> None:
        """Read the processes' cgroups: where the quota cgroup goes (``parent``, ``path``) and what
        it carries (``cap``, ``left``, ``carried``, ``cpuset``; module docstring)."""
        cfg = self.config
        self.origins = {i: origin_of(i, self.version, Path(cfg.proc)) for i in self.pids + self.tids}
        # where the group goes and what it carries: under the lowest cgroup that keeps enforcing the
        # limits above the processes (one origin), else under the root; every origin's limits
        origins = list(dict.fromkeys(self.origins.values()))
        found = [origin_limits(self.mount, self.version, o) for o in origins]
        if len({lim.parent for lim in found}) > 1:  # under the deepest parent common to all of them
            common = tuple(os.path.commonprefix([list(lim.parent) for lim in found]))
            found = [origin_limits(self.mount, self.version, o, parent=common) for o in origins]
        self.parent = self.mount.joinpath(*found[0].parent)
        self.path = self.parent / (cfg.name or f"alert-{os.getpid()}")
        self.cap = _least([lim.cores for lim in found])  # the most CPU the processes can get, in cores
        self.left = _least([lim.left for lim in found])  # the least quota of the cgroups they leave
        self.ncpu: float = float(self._affinity if self.cap is None else min(Fraction(self._affinity), self.cap))
        if self.cap is not None:
            if self.cap * cfg.period_us < MIN_QUOTA_US:  # (exact: the quotas are fractions)
                raise KnobUnavailable(str(self.mount / origins[0].lstrip("/")),
                                      f"the cgroups this process runs in allow it {float(self.cap):g} cores, less than "
                                      f"the kernel's 1 ms quota per {cfg.period_us} us period",
                                      f"use a CFS period of at least {math.ceil(MIN_QUOTA_US / self.cap)} us "
                                      "(--cfs-period-us), or run it where it may use more")
        self.carried = _least_each(v for lim in found for v in lim.v2)
        # v2: the group competes with the siblings of the cgroups left at no more than their least weight
        self.weight = min((lim.weight for lim in found if lim.weight is not None), default=None)
        foreign = [] if cfg.client_uid is None else sorted(
            {path for lim in found for path, uid in lim.owners if uid != cfg.client_uid})
        if foreign:
            below = Path(max(foreign, key=lambda f: f.count("/"))).parent  # the deepest cgroup setting one
            raise KnobUnavailable(foreign[0], "sets a limit that the quota cgroup would have to copy, and the limit "
                                  f"is not uid {cfg.client_uid}'s: the copy would give the process its own share "
                                  "of a limit it shares now", f"enable cpu for the children of {below} (so the "
                                  "quota cgroup can go below it), or run the process under that limit without knobd")
        if len({lim.cpuset for lim in found}) > 1:
            raise KnobUnavailable(str(self.mount), "the processes to move come from cgroups with different cpusets",
                                  "move the processes of one cgroup at a time")
        self.cpuset = found[0].cpuset

    # ------------------------------------------------------------------ files
    def _quota_files(self) -> list[Path]:
        if self.version == "v2":
            return [self.path / "cpu.max"]
        return [self.path / "cpu.cfs_quota_us", self.path / "cpu.cfs_period_us"]

    def prepare(self) -> None:
        """Create the cgroup, set an unlimited quota and move the processes into it."""
        if self._prepared:
            return
        if self._created:
            raise KnobUnavailable(str(self.path), "an earlier prepare of this knob stopped half-way",
                                  "restore the knob first, then prepare it again")
        # the processes' cgroups and their limits as they are now (they may have moved, or an
        # administrator tightened a limit, since the knob was built)
        path = self.path
        self._place()
        if self.path != path:
            self.path = path
            raise KnobUnavailable(str(path), "the process moved to another cgroup since the knob was opened",
                                  "open the knob again")
        # each flag is set before its step: a signal that interrupts the step (its handler restores)
        # then undoes it too, and undoing a step that did not happen is harmless
        if self._enable_subtree:
            self._subtree_done = True
            sysfs.write_text(self.mount / "cgroup.subtree_control", "+cpu")
        # the group is always one this knob creates: a directory that exists already (a leftover, or
        # one a user made in a subtree delegated to them) is never adopted, its files could be theirs
        leftover = KnobUnavailable(str(self.path), "exists already (not created by this knob)",
                                   "run 'alert restore' to remove what a killed run left, or remove the directory")
        if os.path.lexists(self.path):
            raise leftover
        self._created = True
        try:
            make_group(self.path)
        except FileExistsError:
            self._created = False
            raise leftover from None
        except PermissionError:
            self._created = False
            raise KnobUnavailable(str(self.path), "cannot create the cgroup (permission denied)",
                                  "run as root, or delegate a cgroup subtree to this user") from None
        except OSError:  # (e.g. EAGAIN past cgroup.max.descendants: nothing was made)
            self._created = False
            raise
        # every write goes through the directory made here: in a parent a user may write (a delegated
        # subtree), it could be swapped for theirs between the mkdir and the writes
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:  # removed, or a link put in its place: whatever is there is not this knob's
            self._created = False
            raise KnobUnavailable(str(self.path), "was replaced right after it was made",
                                  "run the process where no one else may write its cgroup's parent") from None
        try:
            st = os.fstat(fd)
            # a new cgroup is this process's, has no child and no process: anything else was swapped in
            fresh = st.st_uid == os.geteuid() and not any(
                os.stat(n, dir_fd=fd, follow_symlinks=False).st_mode & 0o170000 == 0o040000 for n in os.listdir(fd)
            ) and _read_at(fd, "cgroup.procs", self.path) == ""
        except BaseException:
            os.close(fd)
            raise
        if not fresh:
            os.close(fd)
            self._created = False  # (not the directory this knob made)
            raise KnobUnavailable(str(self.path), "was replaced by another directory right after it was made",
                                  "run the process where no one else may write its cgroup's parent")
        self._fd, self._ino = fd, (st.st_dev, st.st_ino)
        try:
            self._fill()
        except BaseException:  # the group stays flagged as made (restore removes it); its descriptor goes
            os.close(fd)
            self._fd = None
            raise
        self._prepared = True

    def _fill(self) -> None:
        """Set the new group's limits and quota, then move the processes in (``prepare``)."""
        for name in [f.name for f in self._quota_files()]:
            if not self._has(name):
                raise KnobUnavailable(str(self.path / name), "missing in the new cgroup",
                                      "enable the cpu controller for this hierarchy")
        # the limits of the cgroups the processes leave, before any of them moves (module docstring)
        for name, value in self.carried + self.cpuset:
            if not self._has(name):
                controller = name.split(".")[0]
                raise KnobUnavailable(str(self.path / name), f"missing in the new cgroup, so the {name} {value} "
                                      "that the moved process has where it runs now would not apply",
                                      f"enable the {controller} controller for the children of {self.parent} "
                                      f"(echo +{controller} > {self.parent / 'cgroup.subtree_control'})")
            self._put(name, value)
        # no quota ("max"/-1) unless the processes leave one: then the most they may have
        top = -1 if self.left is None else self._most()
        if self.version == "v1":
            self._put("cpu.cfs_period_us", self.config.period_us)
            self._put("cpu.cfs_quota_us", top)
            if self.shares != DEFAULT_SHARES:
                self._put("cpu.shares", self.shares)
        else:
            self._put("cpu.max", f"{'max' if top < 0 else top} {self.config.period_us}")
            weight = v2_weight(self.shares) if self.weight is None else min(v2_weight(self.shares), self.weight)
            if weight != v2_weight(DEFAULT_SHARES):
                self._put("cpu.weight", weight)
        for pid in self.pids:
            self._put("cgroup.procs", pid)
        for tid in self.tids:
            self._put("tasks", tid)

    def _has(self, name: str) -> bool:
        """Whether the group made by this knob has the file ``name``."""
        assert self._fd is not None
        try:
            os.stat(name, dir_fd=self._fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True

    def _put(self, name: str, value: str | int) -> None:
        """Write a file of the group made by this knob (through its directory, never by path)."""
        assert self._fd is not None
        sysfs.write_text(name, value, dir_fd=self._fd, where=self.path)

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

    def _most(self) -> int:
        """The largest quota (µs per period) the processes may have (v1 refuses a child's quota above
        its parent's: rounded down, exactly)."""
        most = Fraction(self._affinity) if self.cap is None else min(Fraction(self._affinity), self.cap)
        return max(MIN_QUOTA_US, math.floor(most * self.config.period_us))

    def _write(self, value: float) -> None:
        self.prepare()
        quota = max(MIN_QUOTA_US, int(round(value * self.config.period_us)))
        if self.cap is not None:
            quota = min(quota, self._most())
        if self.version == "v2":
            self._put("cpu.max", f"{quota} {self.config.period_us}")
        else:
            self._put("cpu.cfs_quota_us", quota)

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": self.version, "mount": str(self.mount), "path": str(self.path),
                "origins": {str(p): o for p, o in self.origins.items()},
                "subtree_enabled": self._enable_subtree, "threads": bool(self.tids)}

    def restore(self) -> None:
        if not (self._prepared or self._created or self._subtree_done):
            return
        # (a group this knob did not make is left alone: only the controller it enabled is undone)
        path = self.path if self._created else None
        if path is not None and self._ino is not None:
            try:
                st = os.stat(path, follow_symlinks=False)
                if (st.st_dev, st.st_ino) != self._ino:
                    raise KnobUnavailable(str(path), "is no longer the cgroup this knob made (it was renamed or "
                                          "replaced)", "find the alert cgroup the process is in and run alert restore")
            except FileNotFoundError:
                pass  # removed meanwhile: nothing of it to undo
        _undo(self.mount, path, {str(p): o for p, o in self.origins.items()},
              self._subtree_done, threads=bool(self.tids))
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._prepared = self._created = self._subtree_done = False
        self._last = None


def _live_ids(listing: Path) -> list[int]:
    if not listing.exists():
        return []
    return [int(x) for x in sysfs.read_text(listing).split()]


def _undo(mount: Path, path: Path | None, origins: dict[str, str], subtree_enabled: bool,
          threads: bool = False) -> None:
    """Move every process and thread of ``path`` back to its origin, or, when that is gone, to the
    nearest ancestor of the origin that takes it, never to the root unless it came from there (the
    limits on its path stay with it), and remove the cgroup; a process that no cgroup of its path
    takes stays in the cgroup (KnobUnavailable: the cgroup is kept and so is the state file).
    ``threads``: the group held single threads (v1 ``tasks``): each goes back alone (writing its
    process's id to ``cgroup.procs`` would move every thread of the process). ``path`` None: only
    the controller enabled at the root is undone."""
    fallback = next(iter(origins.values()), "/")
    stayed: list[int] = []
    if path is not None and path.exists():
        # whole processes first, then stray threads (v1); each listing read once, the homes of an
        # origin tried once: a group full of processes with nowhere to go costs one pass, not one per process
        for listing in ("tasks",) if threads else ("cgroup.procs", "tasks"):
            home: dict[str, Path | None] = {}
            failed: list[int] = []
            for i in _live_ids(path / listing):
                origin = origins.get(str(i), fallback)
                if origin in home:
                    d = home[origin]
                    if d is None:
                        failed.append(i)
                        continue
                    try:
                        sysfs.write_text(d / listing, i)
                    except (KnobUnavailable, OSError):
                        failed.append(i)  # exited meanwhile, or the home no longer takes it
                    continue
                parts = [q for q in origin.split("/") if q]
                home[origin] = None
                for k in range(len(parts), 0 if parts else -1, -1):  # the origin, else the nearest ancestor
                    try:                                              # below the root that takes it
                        d = inside(mount.joinpath(*parts[:k]), (mount,), "cgroup origin")
                        sysfs.write_text(d / listing, i)
                        home[origin] = d
                        break
                    except OSError as e:
                        if e.errno == errno.ESRCH:  # the process exited: says nothing of the home
                            del home[origin]
                            break
                        continue  # gone, or a cgroup that holds no processes (it has children with controllers)
                    except (KnobUnavailable, RefusedPath):
                        continue
                else:
                    failed.append(i)
            if failed:  # (an exited process has left the listing)
                stayed += sorted(set(failed) & set(_live_ids(path / listing)))
        if stayed:
            raise KnobUnavailable(str(path), f"process(es) {stayed} left their own cgroup behind (it was removed); "
                                  "they stay in this one, which keeps the limits they had",
                                  "move them into a cgroup of theirs (echo PID > .../cgroup.procs), then run "
                                  "alert restore to remove it")
        remove_group(path)
    if subtree_enabled and not _cpu_in_use(mount):
        try:
            sysfs.write_text(mount / "cgroup.subtree_control", "-cpu")
        except (KnobUnavailable, OSError):
            pass  # another cgroup now uses the controller; leaving it enabled is harmless


def _cpu_in_use(mount: Path) -> bool:
    """Whether a cgroup directly under ``mount`` sets a CPU quota or weight of its own (another
    run's quota cgroup, or a service's): disabling the controller at the root would take it away."""
    try:
        names = os.listdir(mount)
    except OSError:
        return True
    for n in names:
        d = mount / n
        if not d.is_dir() or d.is_symlink():
            continue
        try:
            quota = (d / "cpu.max").read_text().split()
            weight = (d / "cpu.weight").read_text().strip()
        except (OSError, UnicodeDecodeError):
            continue
        if (quota and quota[0] != "max") or weight not in ("", "100"):
            return True
    return False


def check_snapshot(snap: dict[str, Any], roots: SystemRoots | None = None
                   ) -> tuple[Path, Path, dict[str, str], bool, bool]:
    """(mount, cgroup, origins, subtree flag, threads flag) of a recorded snapshot, once the cgroup is an
    ``alert-*`` cgroup below the mounted cpu controller under ``roots.cgroup`` (at most
    :data:`MAX_DEPTH` levels down, no link on the way) and every origin is a path below that mount
    without ``..`` or links leading out; else RefusedPath."""
    roots = roots or SystemRoots()
    _, mount = detect(roots.cgroup)
    same_path(snap.get("mount"), mount, "cgroup state: mount")
    path_s = snap.get("path")
    relative_parts(path_s, "cgroup state: path")  # a string, without '..'
    assert isinstance(path_s, str)
    try:
        below = Path(os.path.normpath(path_s)).relative_to(mount).parts
    except ValueError:
        raise RefusedPath("cgroup state: path", f"{path_s} is not below {mount}",
                          "only cgroups under the mounted cpu controller are restored") from None
    if not below or len(below) > MAX_DEPTH + 1:
        raise RefusedPath("cgroup state: path", f"{path_s} is not an alert cgroup below {mount}", "delete the state file")
    component(below[-1], GROUP_NAME, "cgroup state: path")
    path = mount.joinpath(*below)
    # no link on the way: the parent's real path is the mount's followed by the same names
    if os.path.realpath(path.parent) != os.path.join(os.path.realpath(mount), *below[:-1]) or path.is_symlink():
        raise RefusedPath(str(path), "is, or lies under, a symbolic link", "delete it; alert creates cgroups as directories")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None  # removed meanwhile: only the controller enabled at the root may be left to undo
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise RefusedPath(str(path), "is not a directory", "delete it; alert creates cgroups as directories")
    if st is not None and st.st_uid != os.geteuid():
        # the state directory and its files belong to this uid, and so does every group its runs
        # made: a directory of another owner at the recorded path was put there since
        raise RefusedPath(str(path), f"is owned by uid {st.st_uid}, not by uid {os.geteuid()} which made the "
                          "cgroups this state directory records: it is not the group the state file names (it "
                          "was replaced)", "see which processes are in it (cgroup.procs), move them where they "
                          "belong and remove it by hand, then delete the state file")
    origins = snap.get("origins")
    if not isinstance(origins, dict):
        raise RefusedPath("cgroup state: origins", f"{origins!r} is not a mapping", "delete the state file")
    out: dict[str, str] = {}
    for pid, rel in origins.items():
        if not (isinstance(pid, str) and pid.isdigit() and len(pid) < 12):
            raise RefusedPath("cgroup state: origins", f"{pid!r} is not a process id", "delete the state file")
        parts = relative_parts(rel, f"cgroup state: origin of {pid}")
        out[pid] = "/" + "/".join(parts)
    sub, threads = snap.get("subtree_enabled", False), snap.get("threads", False)
    for key, flag in (("subtree_enabled", sub), ("threads", threads)):
        if not isinstance(flag, bool):
            raise RefusedPath(f"cgroup state: {key}", f"{flag!r} is not true/false", "delete the state file")
    return mount, path, out, sub, threads


def restore_snapshot(snap: dict[str, Any], roots: SystemRoots | None = None) -> None:
    """Move every process and thread out of the created cgroup (back to its origin, or the nearest
    ancestor of it that takes it) and remove the cgroup, after :func:`check_snapshot` (``_undo``)."""
    mount, path, origins, sub, threads = check_snapshot(snap, roots)
    _undo(mount, path, origins, sub, threads)
