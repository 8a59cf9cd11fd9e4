"""The live runtime (re-exported from :mod:`alert.live`) and the knob and meter factories.

The runtime itself lives in the :mod:`alert.live` package (``runner``, ``worker``,
``policies``, ``runtime``, ``inputs``); this module keeps the names importable from
``alert.runtime`` and holds :func:`make_knob` and :func:`make_meter`.
"""

from __future__ import annotations

from collections.abc import Sequence

from alert.live.inputs import load_entry_point, load_inputs
from alert.live.policies import Policy, StaticPolicy
from alert.live.runner import Runner, RunOutput, run_stages, torch_runner
from alert.live.runtime import LOG_COLUMNS, InputRecord, Runtime, RuntimeConfig, summarize
from alert.live.worker import InferenceThread
from alert.system.base import Knob, Meter

__all__ = ["LOG_COLUMNS", "InferenceThread", "InputRecord", "Policy", "RunOutput", "Runner", "Runtime",
           "RuntimeConfig", "StaticPolicy", "load_entry_point", "load_inputs", "make_knob", "make_meter",
           "run_stages", "summarize", "torch_runner"]


def make_knob(name: str, period_us: int = 100_000, tids: tuple[int, ...] = (),
              settings: Sequence[float] = ()) -> Knob:
    """Build a knob by name, with this machine's defaults (``tids``: cgroup v1 thread placement;
    ``settings``: the levels of the simulated knob)."""
    if name == "simulated":
        from alert.system.simulated import SimulatedKnob

        return SimulatedKnob(settings or [1.0], unit="level")
    if name in ("cgroup", "cgroup+threads"):
        from alert.system.cgroup import CgroupConfig, CgroupCpuQuota

        q = CgroupCpuQuota(CgroupConfig(period_us=period_us, tids=tids))
        if name == "cgroup":
            return q
        from alert.system.threads import QuotaWithThreads, ThreadCount

        return QuotaWithThreads(q, ThreadCount())
    if name == "threads":
        from alert.system.threads import ThreadCount

        return ThreadCount()
    if name == "rapl":
        from alert.system.rapl import RaplPowerCap, find_rapl_zones

        zones = find_rapl_zones()
        if not zones:
            from alert.system.errors import KnobUnavailable

            raise KnobUnavailable("/sys/class/powercap", "no RAPL zone", "see alert doctor")
        return RaplPowerCap(zones[0])
    if name == "cpufreq":
        from alert.system.cpufreq import CpufreqCap

        return CpufreqCap()
    if name in ("nvml-power", "nvml-clocks"):
        from alert.system.nvml import NvmlLockedClocks, NvmlPowerLimit, load_nvml

        return (NvmlPowerLimit if name == "nvml-power" else NvmlLockedClocks)(load_nvml())
    raise ValueError(f"unknown knob {name!r}")


def make_meter(name: str, knob: Knob | None = None, watts_per_core: float = 10.0,
               idle_power: float = 2.0) -> Meter:
    """Build a meter by name (``watts_per_core``, ``idle_power``: the CPU-time meter's model;
    ``knob``: what the simulated meter reads)."""
    from alert.system import meters

    if name == "cpu-time":
        return meters.CpuTimeMeter(watts_per_core, idle_power)
    if name == "rapl":
        from alert.system.rapl import find_rapl_zones

        zones = find_rapl_zones()
        if not zones:
            from alert.system.errors import MeterUnavailable

            raise MeterUnavailable("/sys/class/powercap", "no RAPL zone", "see alert doctor")
        return meters.RaplMeter(zones[0])
    if name == "nvml":
        from alert.system.nvml import load_nvml

        return meters.NvmlMeter(load_nvml(), continuous=True)
    if name == "simulated":
        k = knob
        return meters.SimulatedMeter(lambda: k.read() if k is not None else 1.0)
    raise ValueError(f"unknown meter {name!r}")
