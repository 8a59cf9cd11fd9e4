"""The one registry of knobs and meters.

Each knob entry gives its name (the CLI choice), the ``kind`` its state-file snapshots carry,
its unit (one of :data:`alert.profile.UNITS`), its factory, its restorer (which replays a
snapshot only after checking it against the allowlist), its ``alert doctor`` check, and the
roots (:class:`~alert.system.roots.SystemRoots` fields) every path it touches derives from.
Each meter entry gives its name, factory and doctor check. ``alert run``, ``alert profile``,
``alert trace record``, ``alert restore``, ``alert doctor`` and knobd read their choices here.

Adding a knob: write the :class:`~alert.system.base.Knob` subclass and register it::

    register_knob(KnobEntry("my-knob", "my-knob", "W", factory=lambda o: MyKnob(o.roots.powercap),
                            restorer=my_restore, roots=("powercap",)))
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from alert.system.base import Knob, Meter
from alert.system.errors import KnobUnavailable, MeterUnavailable
from alert.system.roots import SystemRoots

if TYPE_CHECKING:
    from alert.system.doctor import Check, Doctor


@dataclass(frozen=True)
class KnobOptions:
    """What a knob factory may use: the CFS period and thread placement of the cgroup knobs, the
    levels of the simulated knob, the kernel roots and an NVML loader (tests pass fakes)."""

    period_us: int = 100_000
    tids: tuple[int, ...] = ()
    settings: tuple[float, ...] = ()
    roots: SystemRoots = field(default_factory=SystemRoots)
    nvml: Callable[[], ModuleType] | None = None
    #: a knobd socket: the knob is applied by the privileged helper instead of this process
    via: str | None = None


@dataclass(frozen=True)
class MeterOptions:
    """What a meter factory may use: the CPU-time model's constants, the knob (the simulated
    meter reads its setting), the kernel roots, an NVML loader and a clock."""

    watts_per_core: float = 10.0
    idle_power: float = 2.0
    knob: Knob | None = None
    roots: SystemRoots = field(default_factory=SystemRoots)
    nvml: Callable[[], ModuleType] | None = None
    clock: Callable[[], float] = time.perf_counter


Restorer = Callable[[dict[str, Any], SystemRoots], None]
DoctorCheck = Callable[["Doctor"], list["Check"]]


@dataclass(frozen=True)
class KnobEntry:
    """One knob: CLI name, snapshot kind, unit, factory, restorer, doctor check, allowlisted roots."""

    name: str
    kind: str
    unit: str
    factory: Callable[[KnobOptions], Knob]
    restorer: Restorer | None = None  # None: the knob does not change the machine
    doctor: DoctorCheck | None = None
    roots: tuple[str, ...] = ()  # SystemRoots fields the knob's paths derive from
    help: str = ""


@dataclass(frozen=True)
class MeterEntry:
    """One meter: CLI name, factory, doctor check."""

    name: str
    factory: Callable[[MeterOptions], Meter]
    doctor: DoctorCheck | None = None
    help: str = ""


KNOBS: dict[str, KnobEntry] = {}
METERS: dict[str, MeterEntry] = {}


def register_knob(entry: KnobEntry) -> KnobEntry:
    """Add (or replace) a knob; its unit must be one of the profile units and its roots real fields."""
    from alert.profile import UNITS

    if entry.unit not in UNITS:
        raise ValueError(f"knob {entry.name!r}: unit {entry.unit!r} is not one of {sorted(UNITS)}. "
                         "Fix: use a profile unit (alert.profile.UNITS)")
    bad = [r for r in entry.roots if r not in SystemRoots.__dataclass_fields__]
    if bad:
        raise ValueError(f"knob {entry.name!r}: roots {bad} are not SystemRoots fields. Fix: use "
                         f"{sorted(SystemRoots.__dataclass_fields__)}")
    if entry.restorer is not None:
        other = restorer_owner(entry.kind)
        if other is not None and other.name != entry.name and other.restorer is not entry.restorer:
            raise ValueError(f"knob {entry.name!r}: kind {entry.kind!r} is restored by {other.name!r} already. "
                             "Fix: give the knob its own kind")
    KNOBS[entry.name] = entry
    return entry


def register_meter(entry: MeterEntry) -> MeterEntry:
    METERS[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a knob or meter (tests register toys and remove them again)."""
    KNOBS.pop(name, None)
    METERS.pop(name, None)


def knob_names() -> list[str]:
    return list(KNOBS)


def meter_names() -> list[str]:
    return list(METERS)


def knob_entry(name: str) -> KnobEntry:
    try:
        return KNOBS[name]
    except KeyError:
        raise KnobUnavailable(f"knob {name!r}", "is not registered", f"use one of {knob_names()}") from None


def make_knob(name: str, options: KnobOptions | None = None) -> Knob:
    """Build the knob registered as ``name``."""
    opts = options or KnobOptions()
    if opts.via is not None:  # applied by knobd (alert knobd) for a user who is not root
        from alert.system.knobd import RemoteKnob

        if name == "cgroup+threads":
            from alert.system.threads import QuotaWithThreads, ThreadCount

            return QuotaWithThreads(RemoteKnob(opts.via, "cgroup", opts), ThreadCount())
        return RemoteKnob(opts.via, name, opts)
    return knob_entry(name).factory(opts)


def make_meter(name: str, options: MeterOptions | None = None) -> Meter:
    """Build the meter registered as ``name``."""
    try:
        entry = METERS[name]
    except KeyError:
        raise MeterUnavailable(f"meter {name!r}", "is not registered", f"use one of {meter_names()}") from None
    return entry.factory(options or MeterOptions())


def restorer_owner(kind: str) -> KnobEntry | None:
    """The entry whose restorer replays snapshots of ``kind`` (several names may share a kind)."""
    for e in KNOBS.values():
        if e.kind == kind and e.restorer is not None:
            return e
    return None


def restorers() -> dict[str, Restorer]:
    """Snapshot kind -> restorer, for ``alert restore``."""
    out: dict[str, Restorer] = {}
    for e in KNOBS.values():
        if e.restorer is not None:
            out.setdefault(e.kind, e.restorer)
    return out


# ============================================================================ built-in knobs
def _cgroup(o: KnobOptions) -> Knob:
    from alert.system.cgroup import CgroupConfig, CgroupCpuQuota

    return CgroupCpuQuota(CgroupConfig(root=o.roots.cgroup, proc=o.roots.proc, period_us=o.period_us, tids=o.tids))


def _cgroup_threads(o: KnobOptions) -> Knob:
    from alert.system.threads import QuotaWithThreads, ThreadCount

    return QuotaWithThreads(_cgroup(o), ThreadCount())


def _threads(o: KnobOptions) -> Knob:
    from alert.system.threads import ThreadCount

    return ThreadCount()


def _rapl(o: KnobOptions) -> Knob:
    from alert.system.rapl import RaplPowerCap, find_rapl_zones

    zones = find_rapl_zones(o.roots.powercap)
    if not zones:
        raise KnobUnavailable(str(o.roots.powercap), "no RAPL zone", "see alert doctor")
    return RaplPowerCap(zones[0])


def _cpufreq(o: KnobOptions) -> Knob:
    from alert.system.cpufreq import CpufreqCap

    return CpufreqCap(o.roots.cpu)


def _nvml_loader(o: KnobOptions | MeterOptions) -> ModuleType:
    from alert.system.nvml import load_nvml

    return (o.nvml or load_nvml)()


def _nvml_power(o: KnobOptions) -> Knob:
    from alert.system.nvml import NvmlPowerLimit

    return NvmlPowerLimit(_nvml_loader(o))


def _nvml_clocks(o: KnobOptions) -> Knob:
    from alert.system.nvml import NvmlLockedClocks

    return NvmlLockedClocks(_nvml_loader(o))


def _simulated(o: KnobOptions) -> Knob:
    from alert.system.simulated import SimulatedKnob

    return SimulatedKnob(o.settings or (1.0,), unit="level")


def _restore_rapl(snap: dict[str, Any], roots: SystemRoots) -> None:
    from alert.system import rapl

    rapl.restore_snapshot(snap, roots)


def _restore_cpufreq(snap: dict[str, Any], roots: SystemRoots) -> None:
    from alert.system import cpufreq

    cpufreq.restore_snapshot(snap, roots)


def _restore_cgroup(snap: dict[str, Any], roots: SystemRoots) -> None:
    from alert.system import cgroup

    cgroup.restore_snapshot(snap, roots)


def _restore_nvml(snap: dict[str, Any], roots: SystemRoots) -> None:
    from alert.system import nvml

    nvml.restore_snapshot(snap)


register_knob(KnobEntry("cgroup", "cgroup", "cores", _cgroup, _restore_cgroup, lambda d: d.cgroup(), ("cgroup",),
                        "CPU-time quota of a cgroup alert-<pid> the knob creates"))
register_knob(KnobEntry("cgroup+threads", "cgroup", "cores", _cgroup_threads, _restore_cgroup, None, ("cgroup",),
                        "the cgroup quota plus torch threads = floor(cores)"))
register_knob(KnobEntry("threads", "threads", "threads", _threads, None, lambda d: [d.threads()], (),
                        "torch intra-op thread count (this process only)"))
register_knob(KnobEntry("rapl", "rapl", "W", _rapl, _restore_rapl, lambda d: d.rapl_knobs(),
                        ("powercap", "powercap_devices"), "RAPL package power cap"))
register_knob(KnobEntry("cpufreq", "cpufreq", "MHz", _cpufreq, _restore_cpufreq, lambda d: [d.cpufreq()], ("cpu",),
                        "cpufreq scaling_max_freq of every CPU"))
register_knob(KnobEntry("nvml-power", "nvml-power", "W", _nvml_power, _restore_nvml,
                        lambda d: d.nvml_checks("knob", "nvml power limit"), (), "NVIDIA GPU power limit"))
register_knob(KnobEntry("nvml-clocks", "nvml-clocks", "MHz", _nvml_clocks, _restore_nvml,
                        lambda d: d.nvml_checks("knob", "nvml locked clocks"), (), "NVIDIA GPU locked SM clocks"))
register_knob(KnobEntry("simulated", "simulated", "level", _simulated, None, lambda d: [d.simulated_knob()], (),
                        "records the setting, changes nothing"))


# ============================================================================ built-in meters
def _cpu_time(o: MeterOptions) -> Meter:
    from alert.system.meters import CpuTimeMeter

    return CpuTimeMeter(o.watts_per_core, o.idle_power, clock=o.clock)


def _rapl_meter(o: MeterOptions) -> Meter:
    from alert.system.meters import RaplMeter
    from alert.system.rapl import find_rapl_zones

    zones = find_rapl_zones(o.roots.powercap)
    if not zones:
        raise MeterUnavailable(str(o.roots.powercap), "no RAPL zone", "see alert doctor")
    return RaplMeter(zones[0], clock=o.clock)


def _nvml_meter(o: MeterOptions) -> Meter:
    from alert.system.meters import NvmlMeter

    return NvmlMeter(_nvml_loader(o), continuous=True, clock=o.clock)


def _simulated_meter(o: MeterOptions) -> Meter:
    from alert.system.meters import SimulatedMeter

    k = o.knob
    return SimulatedMeter(lambda: k.read() if k is not None else 1.0, clock=o.clock)


register_meter(MeterEntry("cpu-time", _cpu_time, lambda d: d.cpu_time_meter(),
                          "model: busy core-seconds x W/core + idle W"))
register_meter(MeterEntry("rapl", _rapl_meter, lambda d: d.rapl_meters(), "RAPL energy_uj counter"))
register_meter(MeterEntry("nvml", _nvml_meter, lambda d: d.nvml_checks("meter", "nvml energy"),
                          "NVML power sampled continuously"))
register_meter(MeterEntry("simulated", _simulated_meter, lambda d: [d.simulated_meter()],
                          "power of the simulated setting x time"))
