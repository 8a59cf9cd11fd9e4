"""The system layer: real knobs (RAPL, NVML, cpufreq, cgroup quota, threads, simulated), meters,
restore-on-exit, ``alert doctor`` and contention generators. See docs/system.md."""

from alert.system.base import EnergyReading, Knob, Meter
from alert.system.errors import (
    KnobUnavailable,
    MeterUnavailable,
    SettingOutOfRange,
    SystemLayerError,
)
from alert.system.guard import KnobGuard

__all__ = ["EnergyReading", "Knob", "KnobGuard", "KnobUnavailable", "Meter", "MeterUnavailable",
           "SettingOutOfRange", "SystemLayerError"]
