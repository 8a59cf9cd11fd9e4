"""Energy meters behind one interface (:class:`alert.system.base.Meter`).

* :class:`RaplMeter` - the RAPL ``energy_uj`` counter of a powercap zone. The counter wraps at
  ``max_energy_range_uj``; :meth:`RaplMeter.poll` folds every wrap into the running total, so
  a window spanning several wraps is exact as long as polls come more often than one wrap
  (an optional background poller takes care of long windows).
* :class:`NvmlMeter` - NVML on NVIDIA GPUs. The total-energy counter does not advance within a
  few milliseconds (docs/system.md, "Measured facts": it read 0 J in over 80 % of 3-15 ms
  inferences on an H100), so
  short windows integrate sampled power (trapezoid rule) and only windows of at least
  ``min_counter_window`` seconds with an advancing counter use the counter. With
  ``continuous=True`` one sampler thread runs for the meter's life and ``start``/``stop`` only
  read the clock: on machines where one NVML query costs milliseconds (seen in a virtual
  machine: 7.6 ms of meter calls per input) a per-window query would dwarf a 1 ms inference.
* :class:`CpuTimeMeter` - a documented model for machines with no counter: energy =
  busy core-seconds × watts per busy core + idle power × window, with busy time from this
  process's CPU clock (the /proc accounting) or the cgroup's accounting.
* :class:`SimulatedMeter` - power as a function of the setting, for the simulated knob.

Every :class:`~alert.system.base.EnergyReading` carries the method that produced it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
from numpy.typing import ArrayLike

from alert.system import sysfs
from alert.system.base import EnergyReading, Meter, PowerModel
from alert.system.errors import KnobUnavailable, MeterUnavailable

Clock = Callable[[], float]


def wrap_delta(previous: int, current: int, range_uj: int) -> int:
    """Counter increase from ``previous`` to ``current`` allowing one wrap at ``range_uj``."""
    d = current - previous
    return d + range_uj if d < 0 else d


def integrate_power(times: ArrayLike, watts: ArrayLike) -> float:
    """Energy in joules of sampled power (trapezoid rule); one sample gives zero."""
    t = np.asarray(times, dtype=float)
    p = np.asarray(watts, dtype=float)
    if t.size < 2:
        return 0.0
    return float(np.sum(np.diff(t) * (p[1:] + p[:-1]) * 0.5))


class _Poller:
    """A daemon thread calling ``fn`` every ``interval`` seconds until stopped."""

    def __init__(self, fn: Callable[[], object], interval: float) -> None:
        self.fn, self.interval = fn, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.fn()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class RaplMeter(Meter):
    """Energy from a RAPL zone's ``energy_uj``, with every wrap-around folded in."""

    def __init__(self, zone: str | Path, poll_interval: float | None = None, clock: Clock = time.perf_counter) -> None:
        self.zone = Path(zone)
        self.counter = self.zone / "energy_uj"
        try:
            self.range_uj = sysfs.read_int(self.zone / "max_energy_range_uj")
            sysfs.read_int(self.counter)
        except KnobUnavailable as e:
            fix = ("run as root: since Linux 5.10 energy_uj is readable by root only"
                   if "permission" in e.problem else "load the RAPL powercap driver: modprobe intel_rapl_msr")
            raise MeterUnavailable(e.what, e.problem, fix) from None
        name = sysfs.read_text(self.zone / "name") if (self.zone / "name").exists() else self.zone.name
        self.method = f"rapl:energy_uj ({name})"
        self.clock = clock
        self.poll_interval = poll_interval
        self._lock = threading.Lock()
        self._last = sysfs.read_int(self.counter)
        self._last_t = clock()
        self._total_uj = 0
        self._power: float | None = None
        self._start_uj = 0
        self._start_t = self._last_t
        self._poller: _Poller | None = None

    def poll(self) -> int:
        """Read the counter, add the increase since the last read (one wrap allowed); return the total µJ."""
        with self._lock:
            cur, t = sysfs.read_int(self.counter), self.clock()
            d = wrap_delta(self._last, cur, self.range_uj)
            if t > self._last_t:
                self._power = d / 1e6 / (t - self._last_t)
            self._total_uj += d
            self._last, self._last_t = cur, t
            return self._total_uj

    def start(self) -> None:
        self._start_uj = self.poll()
        self._start_t = self._last_t
        if self.poll_interval and self._poller is None:
            self._poller = _Poller(self.poll, self.poll_interval)

    def stop(self) -> EnergyReading:
        total = self.poll()
        return EnergyReading((total - self._start_uj) / 1e6, self._last_t - self._start_t, self.method)

    def power(self) -> float | None:
        return self._power

    def close(self) -> None:
        if self._poller is not None:
            self._poller.stop()
            self._poller = None


class NvmlMeter(Meter):
    """GPU energy from NVML: sampled power integration for short windows, the counter for long ones."""

    #: samples kept by the continuous sampler (at 5 ms: the last 5.5 minutes)
    RING = 1 << 16

    def __init__(self, nvml: ModuleType, index: int = 0, sample_interval: float | None = 0.005,
                 min_counter_window: float = 1.0, clock: Clock = time.perf_counter,
                 continuous: bool = False) -> None:
        self.nvml, self.index, self.clock = nvml, index, clock
        if continuous and not sample_interval:
            raise ValueError("a continuous NVML meter needs a sample_interval > 0")
        self.continuous = continuous
        self._ring_t = np.zeros(self.RING if continuous else 0)  # the ring only where it is used
        self._ring_w = np.zeros(self.RING if continuous else 0)
        self._count = 0
        self._i0 = 0
        try:
            self.handle = nvml.nvmlDeviceGetHandleByIndex(index)
            nvml.nvmlDeviceGetPowerUsage(self.handle)
        except Exception as e:
            raise MeterUnavailable(f"NVML GPU {index}", f"cannot read power ({type(e).__name__}: {e})",
                                   "use a GPU that reports power (nvidia-smi -q -d POWER)") from None
        try:
            nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle)
            self.has_counter = True
        except Exception:
            self.has_counter = False  # pre-Volta GPUs have no energy counter
        self.sample_interval = sample_interval
        self.min_counter_window = min_counter_window
        self.method = "nvml:power-integration"
        self._times: list[float] = []
        self._watts: list[float] = []
        self._lock = threading.Lock()
        self._poller: _Poller | None = None
        self._e0 = 0
        self._t0 = 0.0

    def sample(self) -> None:
        """Record one (time, power) sample."""
        w = self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1e3
        t = self.clock()
        with self._lock:
            if self.continuous:
                i = self._count % self.RING
                self._ring_t[i], self._ring_w[i] = t, w
                self._count += 1
            else:
                self._times.append(t)
                self._watts.append(w)

    def start(self) -> None:
        if self.continuous:
            if self._poller is None:  # first window: one sample now, then the sampler for the meter's life
                self.sample()
                interval = self.sample_interval
                assert interval is not None  # continuous mode has an interval > 0 (checked in __init__)
                self._poller = _Poller(self.sample, interval)
            self._t0 = self.clock()
            with self._lock:
                self._i0 = max(self._count - 1, 0)  # the newest sample before the window
            return
        with self._lock:
            self._times, self._watts = [], []
        self._e0 = self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) if self.has_counter else 0
        self._t0 = self.clock()
        self.sample()
        if self.sample_interval and self._poller is None:
            self._poller = _Poller(self.sample, self.sample_interval)

    def stop(self) -> EnergyReading:
        if self.continuous:
            return self._stop_continuous()
        if self._poller is not None:
            self._poller.stop()
            self._poller = None
        self.sample()
        t1 = self.clock()
        seconds = t1 - self._t0
        if self.has_counter:
            d_mj = self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) - self._e0
            if d_mj > 0 and seconds >= self.min_counter_window:
                return EnergyReading(d_mj / 1e3, seconds, "nvml:total-energy counter")
        with self._lock:
            e = integrate_power(self._times, self._watts)
        return EnergyReading(e, seconds, "nvml:power-integration")

    def _stop_continuous(self) -> EnergyReading:
        """Energy of [start, now] from the sampler's ring: power interpolated linearly between
        samples and held at the newest one after it (no NVML call on this thread)."""
        t1 = self.clock()
        with self._lock:
            lo = max(self._i0, self._count - self.RING)
            idx = np.arange(lo, self._count) % self.RING
            t, w = self._ring_t[idx], self._ring_w[idx]
        if t.size == 0:
            return EnergyReading(0.0, t1 - self._t0, "nvml:continuous power samples")
        inside = (t > self._t0) & (t < t1)
        grid = np.concatenate(([self._t0], t[inside], [t1]))
        e = integrate_power(grid, np.interp(grid, t, w))
        return EnergyReading(e, t1 - self._t0, "nvml:continuous power samples")

    def power(self) -> float | None:
        return float(self.nvml.nvmlDeviceGetPowerUsage(self.handle)) / 1e3

    def close(self) -> None:
        if self._poller is not None:
            self._poller.stop()
            self._poller = None


def process_cpu_seconds() -> float:
    """CPU time (user + system) of this process: the /proc accounting at ns resolution."""
    return time.process_time()


def cgroup_cpu_seconds(group: Path) -> float:
    """CPU time of every process in a cgroup: v2 ``cpu.stat`` usage_usec or v1 ``cpuacct.usage``."""
    stat = group / "cpu.stat"
    if stat.exists():
        for line in sysfs.read_text(stat).splitlines():
            k, v = line.split()
            if k == "usage_usec":
                return int(v) / 1e6
    acct = group / "cpuacct.usage"
    if acct.exists():
        return sysfs.read_int(acct) / 1e9
    raise MeterUnavailable(str(group), "has no cpu.stat usage_usec (v2) nor cpuacct.usage (v1)",
                           "use source='process', or mount the cpuacct controller")


def fit_cpu_power(busy_s: Sequence[float], seconds: Sequence[float], energy_j: Sequence[float]) -> tuple[float, float]:
    """Least-squares (watts per busy core, idle watts) from windows measured by a reference meter."""
    a = np.column_stack([np.asarray(busy_s, float), np.asarray(seconds, float)])
    coef, *_ = np.linalg.lstsq(a, np.asarray(energy_j, float), rcond=None)
    return float(coef[0]), float(coef[1])


class CpuTimeMeter(Meter):
    """Model-based energy: busy core-seconds × ``watts_per_core`` + ``idle_power`` × window.

    The two constants come from a calibration (:func:`fit_cpu_power` against a reference meter
    on a similar machine) or from the CPU's datasheet; they are reported in :attr:`method`.
    """

    def __init__(self, watts_per_core: float, idle_power: float = 0.0,
                 cpu_seconds: Callable[[], float] = process_cpu_seconds, source: str = "process",
                 clock: Clock = time.perf_counter) -> None:
        if not (math.isfinite(watts_per_core) and watts_per_core > 0 and math.isfinite(idle_power) and idle_power >= 0):
            raise MeterUnavailable("cpu-time meter", f"watts_per_core={watts_per_core}, idle_power={idle_power}",
                                   "give a positive wattage per busy core and a non-negative idle power")
        self.watts_per_core, self.idle_power = watts_per_core, idle_power
        self.cpu_seconds, self.clock = cpu_seconds, clock
        self.power_model = PowerModel(watts_per_core, idle_power, source)
        self.method = self.power_model.method
        self._c0 = 0.0
        self._t0 = 0.0
        self.last_busy = 0.0

    def start(self) -> None:
        self._c0, self._t0 = self.cpu_seconds(), self.clock()

    def stop(self) -> EnergyReading:
        busy, seconds = self.cpu_seconds() - self._c0, self.clock() - self._t0
        self.last_busy = busy
        return EnergyReading(busy * self.watts_per_core + seconds * self.idle_power, seconds, self.method,
                             self.power_model)


class SimulatedMeter(Meter):
    """Energy = ``power()`` × window, where ``power`` reads e.g. a simulated knob's setting."""

    method = "simulated"

    def __init__(self, power: Callable[[], float], clock: Clock = time.perf_counter) -> None:
        self._power, self.clock = power, clock
        self._t0 = 0.0

    def start(self) -> None:
        self._t0 = self.clock()

    def stop(self) -> EnergyReading:
        s = self.clock() - self._t0
        return EnergyReading(self._power() * s, s, self.method)

    def power(self) -> float | None:
        return float(self._power())
