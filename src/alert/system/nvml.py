"""NVIDIA GPU power limit and locked SM clocks through nvidia-ml-py (``pynvml``).

The ``nvml`` module is passed in (``import pynvml`` happens in :func:`load_nvml`), so tests use a
fake module with the same functions. The power range comes from
``nvmlDeviceGetPowerManagementLimitConstraints``; after every set, the enforced limit is read
back and a mismatch is an error. Locked clocks are restored with
``nvmlDeviceResetGpuLockedClocks`` (NVML cannot report a previous lock, so a lock set by
someone else before the run is not re-established).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from alert.system.base import Knob
from alert.system.errors import KnobUnavailable


def load_nvml() -> ModuleType:
    """Import and initialise pynvml, or raise KnobUnavailable saying how to get it."""
    try:
        import pynvml
    except ImportError:
        raise KnobUnavailable("pynvml", "nvidia-ml-py is not installed", "pip install nvidia-ml-py") from None
    try:
        pynvml.nvmlInit()
    except Exception as e:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        raise KnobUnavailable("NVML", f"cannot initialise ({e})",
                              "install the NVIDIA driver (libnvidia-ml.so) on a machine with an NVIDIA GPU") from None
    return pynvml


def _call(what: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as e:
        name = type(e).__name__
        fix = ("run as root (setting limits and clocks needs administrator rights)"
               if "NoPermission" in name or "Permission" in str(e)
               else "check that the GPU supports this (nvidia-smi -q -d POWER,CLOCK)")
        raise KnobUnavailable(f"NVML {what}", f"failed ({name}: {e})", fix) from None


class NvmlPowerLimit(Knob):
    """GPU power limit in watts, inside the device's power-management constraints."""

    kind = "nvml-power"
    machine_wide = True
    unit = "W"

    def __init__(self, nvml: ModuleType, index: int = 0) -> None:
        super().__init__()
        self.nvml, self.index = nvml, index
        self.handle = _call("device handle", nvml.nvmlDeviceGetHandleByIndex, index)
        lo, hi = _call("power constraints", nvml.nvmlDeviceGetPowerManagementLimitConstraints, self.handle)
        self._range = (lo / 1e3, hi / 1e3)
        self._original_mw = int(_call("power limit", nvml.nvmlDeviceGetPowerManagementLimit, self.handle))
        self._restored = True

    def limits(self) -> tuple[float, float]:
        return self._range

    def read(self) -> float:
        return _call("enforced power limit", self.nvml.nvmlDeviceGetEnforcedPowerLimit, self.handle) / 1e3

    def _write(self, value: float) -> None:
        mw = int(round(value * 1e3))
        self._restored = False
        _call("set power limit", self.nvml.nvmlDeviceSetPowerManagementLimit, self.handle, mw)
        enforced = int(_call("enforced power limit", self.nvml.nvmlDeviceGetEnforcedPowerLimit, self.handle))
        if abs(enforced - mw) > 1000:
            raise KnobUnavailable(f"GPU {self.index} power limit", f"set {mw} mW but {enforced} mW is enforced",
                                  "another agent (a datacenter manager or nvidia-smi) overrides the limit")

    def recapture(self) -> None:
        if self._last is None:
            self._original_mw = int(_call("power limit", self.nvml.nvmlDeviceGetPowerManagementLimit, self.handle))

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "index": self.index, "limit_mw": self._original_mw}

    def restore(self) -> None:
        if self._restored:
            return
        _call("restore power limit", self.nvml.nvmlDeviceSetPowerManagementLimit, self.handle, self._original_mw)
        self._restored = True
        self._last = None


class NvmlLockedClocks(Knob):
    """Locked GPU SM clock in MHz, one of the device's supported graphics clocks."""

    kind = "nvml-clocks"
    machine_wide = True
    unit = "MHz"

    def __init__(self, nvml: ModuleType, index: int = 0) -> None:
        super().__init__()
        self.nvml, self.index = nvml, index
        self.handle = _call("device handle", nvml.nvmlDeviceGetHandleByIndex, index)
        mem = max(_call("memory clocks", nvml.nvmlDeviceGetSupportedMemoryClocks, self.handle))
        clocks = _call("graphics clocks", nvml.nvmlDeviceGetSupportedGraphicsClocks, self.handle, mem)
        self._clocks = sorted(float(c) for c in clocks)
        if not self._clocks:
            raise KnobUnavailable(f"GPU {index} clocks", "the device reports no supported graphics clocks",
                                  "use the power-limit knob instead")
        self._restored = True

    def limits(self) -> tuple[float, float]:
        return self._clocks[0], self._clocks[-1]

    def available(self) -> list[float]:
        return list(self._clocks)

    def check(self, value: float) -> float:
        v = super().check(value)
        if v not in self._clocks:
            from alert.system.errors import SettingOutOfRange
            raise SettingOutOfRange(f"GPU {self.index} clocks", f"{value} MHz is not a supported graphics clock",
                                    f"choose one of {self._clocks[:3]} ... {self._clocks[-3:]}")
        return v

    def read(self) -> float:
        return float(_call("SM clock", self.nvml.nvmlDeviceGetClockInfo, self.handle, self.nvml.NVML_CLOCK_SM))

    def _write(self, value: float) -> None:
        self._restored = False
        _call("lock clocks", self.nvml.nvmlDeviceSetGpuLockedClocks, self.handle, int(value), int(value))

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "index": self.index}

    def restore(self) -> None:
        if self._restored:
            return
        _call("reset locked clocks", self.nvml.nvmlDeviceResetGpuLockedClocks, self.handle)
        self._restored = True
        self._last = None


def check_types(snap: dict[str, Any]) -> int:
    """The GPU index of a snapshot whose fields have the types alert writes (before NVML is loaded)."""
    from alert.system.roots import RefusedPath

    idx = snap.get("index")
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
        raise RefusedPath("nvml state: index", f"{idx!r} is not a GPU index", "delete the state file")
    mw = snap.get("limit_mw")
    if snap.get("kind") == "nvml-power" and (isinstance(mw, bool) or not isinstance(mw, int) or mw <= 0):
        raise RefusedPath("nvml state: limit_mw", f"{mw!r} is not a power limit in mW", "delete the state file")
    return idx


def check_snapshot(snap: dict[str, Any], nv: Any) -> tuple[Any, int | None]:
    """(device handle, power limit in mW or None for a clock reset) of a recorded snapshot, once
    the index names a present GPU and the limit lies inside the range it reports now."""
    from alert.system.roots import RefusedPath

    idx = check_types(snap)
    count = int(nv.nvmlDeviceGetCount()) if hasattr(nv, "nvmlDeviceGetCount") else 1
    if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < count:
        raise RefusedPath("nvml state: index", f"{idx!r} is not a GPU index below {count}", "delete the state file")
    handle = _call("device handle", nv.nvmlDeviceGetHandleByIndex, idx)
    if snap.get("kind") == "nvml-clocks":
        return handle, None
    mw = snap["limit_mw"]
    lo, hi = _call("power constraints", nv.nvmlDeviceGetPowerManagementLimitConstraints, handle)
    if not lo <= mw <= hi:
        raise RefusedPath(f"nvml state: GPU {idx} limit_mw", f"{mw!r} is outside [{lo}, {hi}] mW that the GPU "
                          "reports now", "delete the state file and set the limit with nvidia-smi -pl")
    return handle, mw


def restore_snapshot(snap: dict[str, Any], nvml: ModuleType | None = None) -> None:
    """Undo a recorded NVML change (power limit back to its value, locked clocks reset)."""
    check_types(snap)
    nv = nvml or load_nvml()
    handle, mw = check_snapshot(snap, nv)
    if mw is not None:
        _call("restore power limit", nv.nvmlDeviceSetPowerManagementLimit, handle, mw)
    else:
        _call("reset locked clocks", nv.nvmlDeviceResetGpuLockedClocks, handle)
