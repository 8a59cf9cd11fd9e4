"""The one interface of every knob and every meter.

A *knob* changes one system resource: list the settings it allows, read the current one, apply
one (a no-op when unchanged), restore the original. A *meter* measures energy over a window
and, where the hardware allows, instantaneous power; every reading says which method it used.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alert.system.errors import SettingOutOfRange


class Knob(ABC):
    """A system resource setting (a power cap, a clock cap, a CPU quota, a thread count...)."""

    #: short identifier used in state files and ``alert doctor`` (e.g. ``"cgroup-cpu"``)
    kind: str = "knob"
    #: unit of the settings, as in a profile's ``settings[].unit`` (W, MHz, cores, threads, level)
    unit: str = "level"
    #: whether applying a setting changes the machine (and so needs a state file and restore)
    changes_machine: bool = True
    #: one setting of the whole machine (a RAPL cap, a frequency cap, a GPU limit): ``KnobGuard``
    #: lets one run at a time (per state directory) hold such knobs, since a second would snapshot
    #: the first one's setting as the original and whichever restored last would leave the machine
    #: changed
    machine_wide: bool = False

    @abstractmethod
    def limits(self) -> tuple[float, float]:
        """The lowest and highest setting the hardware reports, in ``unit``."""

    def available(self) -> list[float]:
        """Settings this knob offers; discrete knobs list them, ranged knobs give the two ends."""
        lo, hi = self.limits()
        return [lo, hi] if lo != hi else [lo]

    @abstractmethod
    def read(self) -> float:
        """The current setting, in ``unit``."""

    @abstractmethod
    def _write(self, value: float) -> None:
        """Put ``value`` in place (already validated)."""

    @abstractmethod
    def snapshot(self) -> dict[str, Any]:
        """A JSON-able record of the original state, enough for :func:`restore_snapshot` to undo."""

    @abstractmethod
    def restore(self) -> None:
        """Put the original state back (idempotent)."""

    def __init__(self) -> None:
        self._last: float | None = None

    def check(self, value: float) -> float:
        """Validate ``value`` against :meth:`limits`; raise SettingOutOfRange naming the range."""
        lo, hi = self.limits()
        v = float(value)
        if not math.isfinite(v) or v < lo - 1e-9 * max(1.0, abs(lo)) or v > hi + 1e-9 * max(1.0, abs(hi)):
            raise SettingOutOfRange(f"{self.kind} knob", f"setting {value} {self.unit} is outside the range "
                                    f"[{lo:g}, {hi:g}] {self.unit} that the hardware reports",
                                    "choose a setting inside that range")
        return v

    def recapture(self) -> None:  # noqa: B027 - optional hook, for knobs that read their original early
        """Read the setting to restore again, now: ``KnobGuard`` calls it once it holds the machine-wide
        lock and before the snapshot, so that a knob built while another run still held the setting
        does not keep that run's value as the original. A no-op once the knob has been applied."""

    def verify(self) -> None:  # noqa: B027 - optional hook, a no-op for most knobs
        """Raise a :class:`~alert.system.errors.KnobUnavailable` when a setting applied earlier no
        longer holds (e.g. its cgroup was removed); called on every :meth:`apply` after the first."""

    def apply(self, value: float) -> bool:
        """Apply ``value``; return False (and touch nothing) when it equals the last applied value.
        Every call after the first checks that the earlier setting still holds (:meth:`verify`)."""
        v = self.check(value)
        if self._last is not None:
            self.verify()
            if v == self._last:
                return False
        self._write(v)
        self._last = v
        return True

    def describe(self) -> str:
        lo, hi = self.limits()
        return f"{self.kind}: {lo:g}-{hi:g} {self.unit}"


@dataclass(frozen=True)
class PowerModel:
    """The constants of a modelled meter: energy = busy core-seconds × ``watts_per_core`` +
    ``idle_power`` × seconds, with busy time read from ``source`` (e.g. the process's CPU time).

    Readings and recorded traces carry it as data (``EnergyReading.power_model``, a trace's
    ``metadata["power_model"]``); ``method`` is its human-readable form."""

    watts_per_core: float
    idle_power: float
    source: str = "process"

    @property
    def method(self) -> str:
        return f"model:cpu-time({self.source}) x {self.watts_per_core:g} W/core + {self.idle_power:g} W idle"

    def as_dict(self) -> dict[str, Any]:
        return {"watts_per_core": self.watts_per_core, "idle_power": self.idle_power, "source": self.source}

    @classmethod
    def of_metadata(cls, metadata: Mapping[str, Any]) -> PowerModel | None:
        """The model a recording's metadata names: its ``power_model`` entry, or, for recordings
        made before that entry existed, its ``meter`` text when that is a ``method`` of this class;
        None for a measuring meter (RAPL, NVML)."""
        d = metadata.get("power_model")
        if isinstance(d, Mapping):
            return cls(float(d["watts_per_core"]), float(d["idle_power"]), str(d.get("source", "process")))
        m = _METHOD.fullmatch(str(metadata.get("meter", "")))
        return cls(float(m["w"]), float(m["idle"]), m["src"]) if m else None


_METHOD = re.compile(r"model:cpu-time\((?P<src>[^)]*)\) x (?P<w>[0-9.eE+-]+) W/core \+ (?P<idle>[0-9.eE+-]+) W idle")


@dataclass(frozen=True)
class EnergyReading:
    """Energy of one window: joules, seconds, mean watts, the method that produced it and, for a
    modelled meter, the model's constants."""

    energy_j: float
    seconds: float
    method: str
    power_model: PowerModel | None = None

    @property
    def power_w(self) -> float:
        return self.energy_j / self.seconds if self.seconds > 0 else float("nan")


class Meter(ABC):
    """Energy over a window (``start`` ... ``stop``), plus instantaneous power where available."""

    #: how this meter measures (e.g. ``"rapl:energy_uj"``, ``"nvml:power-integration"``)
    method: str = "meter"
    #: the constants of a modelled meter (None: the meter measures)
    power_model: PowerModel | None = None

    @abstractmethod
    def start(self) -> None:
        """Open a measurement window."""

    @abstractmethod
    def stop(self) -> EnergyReading:
        """Close the window opened by :meth:`start` and return its energy."""

    def power(self) -> float | None:
        """Instantaneous power in watts, or None when this meter cannot tell."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for most meters
        """Release resources (background samplers, handles)."""

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
