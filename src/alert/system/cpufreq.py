"""CPU frequency caps through cpufreq (``/sys/devices/system/cpu/cpuN/cpufreq``).

The knob writes ``scaling_max_freq`` (kHz in sysfs, MHz in profiles) on the chosen CPUs. The
range is ``cpuinfo_min_freq``..``cpuinfo_max_freq``; when ``scaling_available_frequencies``
exists, only those frequencies are offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alert.system import sysfs
from alert.system.base import Knob
from alert.system.errors import KnobUnavailable
from alert.system.roots import RefusedPath, SystemRoots, component, inside, same_path

CPU_ROOT = "/sys/devices/system/cpu"


def cpufreq_dirs(cpu_root: str | Path = CPU_ROOT) -> list[Path]:
    """The cpufreq directories of all CPUs that have one, in CPU order."""
    root = Path(cpu_root)
    if not root.is_dir():
        return []
    dirs = [p / "cpufreq" for p in root.glob("cpu[0-9]*") if (p / "cpufreq" / "scaling_max_freq").exists()]
    return sorted(dirs, key=lambda p: int(p.parent.name[3:]))


class CpufreqCap(Knob):
    """Maximum CPU frequency (MHz) of the chosen CPUs (all CPUs with cpufreq by default)."""

    kind = "cpufreq"
    machine_wide = True
    unit = "MHz"

    def __init__(self, cpu_root: str | Path = CPU_ROOT, cpus: Sequence[int] | None = None) -> None:
        super().__init__()
        dirs = cpufreq_dirs(cpu_root)
        if cpus is not None:
            dirs = [d for d in dirs if int(d.parent.name[3:]) in set(cpus)]
        if not dirs:
            raise KnobUnavailable(f"{cpu_root}/cpu*/cpufreq", "no cpufreq directory",
                                  "this machine exposes no frequency scaling (virtual machine or driver not "
                                  "loaded); load a cpufreq driver such as intel_pstate or acpi-cpufreq")
        self.dirs = dirs
        for d in dirs:
            sysfs.check_writable(d / "scaling_max_freq")
        self._original = {str(d / "scaling_max_freq"): sysfs.read_int(d / "scaling_max_freq") for d in dirs}
        self._restored = False

    def limits(self) -> tuple[float, float]:
        lo = max(sysfs.read_int(d / "cpuinfo_min_freq") for d in self.dirs) / 1e3
        hi = min(sysfs.read_int(d / "cpuinfo_max_freq") for d in self.dirs) / 1e3
        return lo, hi

    def available(self) -> list[float]:
        f = self.dirs[0] / "scaling_available_frequencies"
        if f.exists():
            lo, hi = self.limits()
            vals = sorted({int(x) / 1e3 for x in sysfs.read_text(f).split()})
            return [v for v in vals if lo <= v <= hi]
        return super().available()

    def check(self, value: float) -> float:
        v = super().check(value)
        avail = self.available()
        if (self.dirs[0] / "scaling_available_frequencies").exists() and v not in avail:
            from alert.system.errors import SettingOutOfRange
            raise SettingOutOfRange("cpufreq knob", f"{value} MHz is not one of the available frequencies {avail}",
                                    "choose one of the listed frequencies")
        return v

    def read(self) -> float:
        return sysfs.read_int(self.dirs[0] / "scaling_max_freq") / 1e3

    def _write(self, value: float) -> None:
        khz = int(round(value * 1e3))
        for d in self.dirs:
            sysfs.write_text(d / "scaling_max_freq", khz)
        self._restored = False

    def recapture(self) -> None:
        if self._last is None:
            self._original = {str(d / "scaling_max_freq"): sysfs.read_int(d / "scaling_max_freq") for d in self.dirs}

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "files": dict(self._original)}

    def restore(self) -> None:
        if self._restored:
            return
        _write_back(self._original)
        self._restored = True
        self._last = None


def _write_back(files: dict[str, int]) -> None:
    for path, khz in files.items():
        sysfs.write_text(path, int(khz))


def check_snapshot(snap: dict[str, Any], roots: SystemRoots | None = None) -> dict[str, int]:
    """The recorded ``scaling_max_freq`` files (real paths) and values, once every path is
    ``roots.cpu/cpuN/cpufreq/scaling_max_freq`` and every value lies inside
    ``cpuinfo_min_freq``..``cpuinfo_max_freq`` as reported now; else RefusedPath."""
    roots = roots or SystemRoots()
    files = snap.get("files")
    if not isinstance(files, dict) or not files:
        raise RefusedPath("cpufreq state: files", f"{files!r} is not a mapping of files to values",
                          "the state file is malformed; delete it")
    out: dict[str, int] = {}
    for path, khz in files.items():
        cpu = component(Path(path).parent.parent.name if isinstance(path, str) else path, r"cpu[0-9]{1,5}",
                        "cpufreq state: cpu")
        same_path(path, roots.cpu / cpu / "cpufreq" / "scaling_max_freq", "cpufreq state: file")
        d = inside(roots.cpu / cpu / "cpufreq", (roots.cpu,), "cpufreq state: file")
        if isinstance(khz, bool) or not isinstance(khz, int):
            raise RefusedPath(f"cpufreq state: {path}", f"{khz!r} is not an integer", "delete the state file")
        lo, hi = sysfs.read_int(d / "cpuinfo_min_freq"), sysfs.read_int(d / "cpuinfo_max_freq")
        if not lo <= khz <= hi:
            raise RefusedPath(str(path), f"{khz} kHz is outside [{lo}, {hi}] kHz that the CPU reports now",
                              "the state file is stale or forged; delete it and set the frequency by hand")
        out[str(d / "scaling_max_freq")] = khz
    return out


def restore_snapshot(snap: dict[str, Any], roots: SystemRoots | None = None) -> None:
    """Write the recorded original ``scaling_max_freq`` of every CPU back (after :func:`check_snapshot`)."""
    _write_back(check_snapshot(snap, roots))
