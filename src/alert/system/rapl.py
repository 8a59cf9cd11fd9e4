"""RAPL power caps through the Linux powercap tree (``/sys/class/powercap/intel-rapl:*``).

Each zone has ``enabled``, ``energy_uj``, ``max_energy_range_uj`` and numbered constraints
(``constraint_N_name`` is ``long_term`` or ``short_term``) with ``constraint_N_power_limit_uw``,
``constraint_N_max_power_uw`` and, on some kernels, ``constraint_N_min_power_uw``. AMD CPUs use
the same tree. A setting is a power cap in watts applied to the chosen constraints of one zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alert.system import sysfs
from alert.system.base import Knob
from alert.system.errors import KnobUnavailable

POWERCAP_ROOT = "/sys/class/powercap"
#: lower bound used when a constraint reports no ``min_power_uw``: RAPL clamps silly low caps,
#: and one watt is below every package's floor, so the cap still stays inside a safe range.
DEFAULT_MIN_W = 1.0


def find_rapl_zones(powercap_root: str | Path = POWERCAP_ROOT) -> list[Path]:
    """Top-level RAPL zones (packages, psys), sorted; sub-zones (core, uncore, dram) are left out."""
    root = Path(powercap_root)
    if not root.is_dir():
        return []
    zones = [p for p in root.iterdir() if "rapl" in p.name and p.name.count(":") == 1 and (p / "name").exists()]
    return sorted(zones, key=lambda p: p.name)


def constraint_ids(zone: Path) -> dict[str, int]:
    """Map constraint name (``long_term``, ``short_term``, ``peak_power``) to its number."""
    out: dict[str, int] = {}
    for f in sorted(zone.glob("constraint_*_name")):
        n = int(f.name.split("_")[1])
        out[sysfs.read_text(f)] = n
    return out


class RaplPowerCap(Knob):
    """Power cap (W) of one RAPL zone, on the constraints named in ``constraints``."""

    kind = "rapl"
    unit = "W"

    def __init__(self, zone: str | Path, constraints: Sequence[str] = ("long_term",)) -> None:
        super().__init__()
        self.zone = Path(zone)
        if not (self.zone / "name").exists():
            raise KnobUnavailable(str(self.zone), "is not a powercap zone (no 'name' file)",
                                  "load the intel_rapl_msr (or amd) powercap driver: modprobe intel_rapl_msr")
        ids = constraint_ids(self.zone)
        missing = [c for c in constraints if c not in ids]
        if missing:
            raise KnobUnavailable(str(self.zone), f"has no constraint named {missing} (it has {sorted(ids)})",
                                  "choose constraints from that list")
        self.ids = [ids[c] for c in constraints]
        self.constraints = tuple(constraints)
        if (self.zone / "enabled").exists() and sysfs.read_text(self.zone / "enabled") == "0":
            raise KnobUnavailable(str(self.zone / "enabled"), "is 0: this RAPL zone's power limits are disabled",
                                  f"as root, run 'echo 1 > {self.zone / 'enabled'}' (or enable RAPL in the firmware)")
        for n in self.ids:
            sysfs.check_writable(self._limit_file(n))
        self._original = {self._limit_file(n).name: sysfs.read_int(self._limit_file(n)) for n in self.ids}
        self._restored = False

    def _limit_file(self, n: int) -> Path:
        return self.zone / f"constraint_{n}_power_limit_uw"

    def limits(self) -> tuple[float, float]:
        lo, hi = DEFAULT_MIN_W, float("inf")
        for n in self.ids:
            fmin = self.zone / f"constraint_{n}_min_power_uw"
            fmax = self.zone / f"constraint_{n}_max_power_uw"
            if fmin.exists():
                lo = max(lo, sysfs.read_int(fmin) / 1e6)
            if fmax.exists() and sysfs.read_int(fmax) > 0:
                hi = min(hi, sysfs.read_int(fmax) / 1e6)
            else:  # no reported maximum: never raise a cap above its original value
                hi = min(hi, self._original[self._limit_file(n).name] / 1e6)
        return lo, hi

    def read(self) -> float:
        return sysfs.read_int(self._limit_file(self.ids[0])) / 1e6

    def _write(self, value: float) -> None:
        uw = int(round(value * 1e6))
        for n in self.ids:
            sysfs.write_text(self._limit_file(n), uw)
        self._restored = False

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "zone": str(self.zone), "files": dict(self._original)}

    def restore(self) -> None:
        if self._restored:
            return
        restore_snapshot(self.snapshot())
        self._restored = True
        self._last = None


def restore_snapshot(snap: dict[str, Any]) -> None:
    """Write the recorded original limits back into the zone."""
    zone = Path(snap["zone"])
    for name, uw in snap["files"].items():
        sysfs.write_text(zone / name, int(uw))
