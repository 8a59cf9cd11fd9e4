"""A simulated knob for machines with no real one: it records the setting and changes nothing.

Pair it with :class:`alert.system.meters.SimulatedMeter` (or a model that slows down with the
setting) to exercise the runtime end to end. It is a third option next to the real knobs,
never a replacement for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from alert.system.base import Knob
from alert.system.errors import SettingOutOfRange


class SimulatedKnob(Knob):
    """A knob over a fixed list of settings; :attr:`history` lists every value applied."""

    kind = "simulated"
    changes_machine = False

    def __init__(self, settings: Sequence[float], unit: str = "level", initial: float | None = None) -> None:
        super().__init__()
        if not settings:
            raise SettingOutOfRange("simulated knob", "no settings given", "pass at least one setting value")
        self.settings = sorted(float(s) for s in settings)
        self.unit = unit
        self._original = float(initial if initial is not None else self.settings[-1])
        self.value = self._original
        self.history: list[float] = []

    def limits(self) -> tuple[float, float]:
        return self.settings[0], self.settings[-1]

    def available(self) -> list[float]:
        return list(self.settings)

    def check(self, value: float) -> float:
        v = super().check(value)
        if v not in self.settings:
            raise SettingOutOfRange("simulated knob", f"{value} is not one of {self.settings}",
                                    "choose one of the listed settings")
        return v

    def read(self) -> float:
        return self.value

    def _write(self, value: float) -> None:
        self.value = value
        self.history.append(value)

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self._original}

    def restore(self) -> None:
        self.value = self._original
        self._last = None
