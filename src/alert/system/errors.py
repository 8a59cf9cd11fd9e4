"""Errors of the system layer: every message says what is missing and how to get it."""

from __future__ import annotations


class SystemLayerError(RuntimeError):
    """A knob or meter cannot be used. ``what`` names the file or device, ``fix`` says what to do."""

    def __init__(self, what: str, problem: str, fix: str = "") -> None:
        self.what = what
        self.problem = problem
        self.fix = fix
        msg = f"{what}: {problem}"
        if fix:
            msg += f". Fix: {fix}"
        super().__init__(msg)


class KnobUnavailable(SystemLayerError):
    """The hardware or kernel interface behind a knob is absent or not writable."""


class MeterUnavailable(SystemLayerError):
    """The energy counter or power sensor behind a meter is absent or not readable."""


class SettingOutOfRange(SystemLayerError, ValueError):
    """A requested setting lies outside the range the hardware reports."""
