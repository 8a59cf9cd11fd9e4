"""Where the kernel interfaces live, and the path rules that keep a knob inside them.

Every path a knob touches, and every path ``alert restore`` replays from a state file, derives
from one of these roots: powercap zones under ``/sys/class/powercap``, cpufreq policies under
``/sys/devices/system/cpu``, ``alert-<pid>`` cgroups under the mounted cpu controller. Tests
point the roots at temporary trees.

:func:`component` accepts one plain file-name component (no ``/``, no ``..``); :func:`inside`
resolves a path (following the links the kernel itself makes, e.g. ``cpu0/cpufreq`` ->
``policy0``) and accepts it only when the real path stays under one of the allowed real roots.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from alert.system.errors import SystemLayerError


class RefusedPath(SystemLayerError, ValueError):
    """A path or value from outside (a state file, a client) that the allowlist does not accept."""


@dataclass(frozen=True)
class SystemRoots:
    """The roots of the kernel interfaces (tests point these at temporary trees)."""

    powercap: Path = Path("/sys/class/powercap")
    #: where the powercap class links point (``intel-rapl:0`` -> ``/sys/devices/virtual/powercap/...``)
    powercap_devices: Path = Path("/sys/devices/virtual/powercap")
    cpu: Path = Path("/sys/devices/system/cpu")
    cgroup: Path = Path("/sys/fs/cgroup")
    proc: Path = Path("/proc")
    dev: Path = Path("/dev")


def component(name: object, pattern: str, what: str, fix: str = "") -> str:
    """``name`` when it is one path component matching ``pattern`` (full match); else RefusedPath."""
    if not isinstance(name, str) or not name or "/" in name or "\0" in name or name in (".", "..") \
            or re.fullmatch(pattern, name) is None:
        raise RefusedPath(what, f"{name!r} is not an allowed name (expected {pattern})",
                          fix or "only names that alert itself writes are accepted; delete the state file if "
                          "you did not write it")
    return name


def relative_parts(rel: object, what: str) -> list[str]:
    """The components of a relative path below a root: no ``..``, ``.``, NUL or empty names."""
    if not isinstance(rel, str) or "\0" in rel or len(rel) > 4096:
        raise RefusedPath(what, f"{rel!r} is not a path", "use a path below the root")
    parts = [p for p in rel.strip("/").split("/") if p != ""]
    if any(p in (".", "..") for p in parts):
        raise RefusedPath(what, f"{rel!r} contains '.' or '..'",
                          "paths in state files never contain '..'; delete the file if you did not write it")
    return parts


def inside(path: Path, roots: tuple[Path, ...], what: str) -> Path:
    """The real path of ``path``, which must exist and lie under the real path of one of ``roots``."""
    real = Path(os.path.realpath(path))
    for r in roots:
        rr = os.path.realpath(r)
        if str(real) == rr or str(real).startswith(rr.rstrip("/") + "/"):
            return real
    raise RefusedPath(what, f"{path} resolves to {real}, outside {', '.join(str(r) for r in roots)}",
                      "a link leads out of the kernel interface; delete the state file if you did not write it")


def same_path(given: object, expected: Path, what: str) -> None:
    """Refuse unless the string ``given`` names exactly ``expected`` (normalised, no ``..``)."""
    if not isinstance(given, str):
        raise RefusedPath(what, f"{given!r} is not a path", "use the path alert wrote")
    relative_parts(given, what)
    if os.path.normpath(given) != os.path.normpath(str(expected)):
        raise RefusedPath(what, f"{given} is not {expected}", "only paths under the known roots are restored")
