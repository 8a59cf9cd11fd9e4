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
from alert.system.roots import RefusedPath, SystemRoots, component, inside, same_path

POWERCAP_ROOT = "/sys/class/powercap"
#: names the allowlist accepts: top-level and sub-zones (``intel-rapl:0``, ``intel-rapl:0:1``,
#: ``intel-rapl-mmio:0``) and their power-limit files
ZONE_NAME = r"[a-z][a-z0-9-]*rapl[a-z0-9-]*:[0-9]{1,4}(:[0-9]{1,4})?"
LIMIT_FILE = r"constraint_[0-9]{1,2}_power_limit_uw"
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
    machine_wide = True
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

    def recapture(self) -> None:
        if self._last is None:
            self._original = {self._limit_file(n).name: sysfs.read_int(self._limit_file(n)) for n in self.ids}

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "zone": str(self.zone), "files": dict(self._original)}

    def restore(self) -> None:
        if self._restored:
            return
        _write_back(self.zone, self._original)
        self._restored = True
        self._last = None


def _write_back(zone: Path, files: dict[str, int]) -> None:
    for name, uw in files.items():
        sysfs.write_text(zone / name, int(uw))


def check_snapshot(snap: dict[str, Any], roots: SystemRoots | None = None) -> tuple[Path, dict[str, int]]:
    """The zone (its real path) and the limits of a recorded snapshot, once every path derives from
    ``roots.powercap`` and every value lies inside the range the zone reports now; else RefusedPath."""
    roots = roots or SystemRoots()
    zone_s = snap.get("zone")
    name = component(Path(zone_s).name if isinstance(zone_s, str) else zone_s, ZONE_NAME, "rapl state: zone")
    same_path(zone_s, roots.powercap / name, "rapl state: zone")
    zone = inside(roots.powercap / name, (roots.powercap, roots.powercap_devices), "rapl state: zone")
    files = snap.get("files")
    if not isinstance(files, dict) or not files:
        raise RefusedPath("rapl state: files", f"{files!r} is not a mapping of limit files to values",
                          "the state file is malformed; delete it")
    out: dict[str, int] = {}
    for fname, uw in files.items():
        component(fname, LIMIT_FILE, "rapl state: file")
        n = int(fname.split("_")[1])
        if isinstance(uw, bool) or not isinstance(uw, int):
            raise RefusedPath(f"rapl state: {fname}", f"{uw!r} is not an integer", "delete the state file")
        fmin, fmax = zone / f"constraint_{n}_min_power_uw", zone / f"constraint_{n}_max_power_uw"
        lo = sysfs.read_int(fmin) if fmin.exists() else 1
        hi = sysfs.read_int(fmax) if fmax.exists() else 0
        hi = hi if hi > 0 else 10**10  # no maximum reported: at most 10 kW
        if not lo <= uw <= hi:
            raise RefusedPath(f"{zone / fname}", f"{uw} uW is outside the range [{lo}, {hi}] uW the zone reports now",
                              "the state file is stale or forged; delete it and set the limit by hand")
        out[fname] = uw
    return zone, out


def restore_snapshot(snap: dict[str, Any], roots: SystemRoots | None = None) -> None:
    """Write the recorded original limits back into the zone (after :func:`check_snapshot`)."""
    zone, files = check_snapshot(snap, roots)
    _write_back(zone, files)
