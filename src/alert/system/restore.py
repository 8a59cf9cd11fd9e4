"""Undo runs that were killed before they could restore their knobs (``alert restore``)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alert.system import cgroup, cpufreq, rapl


def _nvml(snap: dict[str, Any]) -> None:
    from alert.system import nvml

    nvml.restore_snapshot(snap)


RESTORERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "rapl": rapl.restore_snapshot,
    "cpufreq": cpufreq.restore_snapshot,
    "cgroup": cgroup.restore_snapshot,
    "nvml-power": _nvml,
    "nvml-clocks": _nvml,
}


@dataclass(frozen=True)
class RestoreResult:
    """What happened to one state file."""

    file: Path
    pid: int
    action: str  # "restored", "skipped (process alive)", "failed: ..."


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def restore_file(path: Path, force: bool = False) -> RestoreResult:
    """Restore every knob recorded in one state file; delete the file when all succeeded."""
    doc = json.loads(path.read_text())
    pid = int(doc.get("pid", -1))
    if pid != os.getpid() and pid_alive(pid) and not force:
        return RestoreResult(path, pid, "skipped (process alive; stop it or pass --force)")
    problems = []
    for snap in doc.get("knobs", []):
        fn = RESTORERS.get(snap.get("kind", ""))
        if fn is None:
            problems.append(f"unknown knob kind {snap.get('kind')!r}")
            continue
        try:
            fn(snap)
        except Exception as e:
            problems.append(f"{snap['kind']}: {e}")
    if problems:
        return RestoreResult(path, pid, "failed: " + "; ".join(problems))
    path.unlink()
    return RestoreResult(path, pid, "restored")


def restore_all(state_dir: Path, force: bool = False) -> list[RestoreResult]:
    """Restore every ``state-*.json`` in ``state_dir``."""
    if not state_dir.is_dir():
        return []
    return [restore_file(p, force) for p in sorted(state_dir.glob("state-*.json"))]
