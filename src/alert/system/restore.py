"""Undo runs that were killed before they could restore their knobs (``alert restore``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from alert.system import registry
from alert.system.roots import SystemRoots

#: the roots restore derives every path from (tests replace it with temporary trees)
ROOTS = SystemRoots()


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


def restore_file(path: Path, force: bool = False, roots: SystemRoots | None = None) -> RestoreResult:
    """Restore every knob recorded in one state file; delete the file when all succeeded."""
    doc = json.loads(path.read_text())
    pid = int(doc.get("pid", -1))
    if pid != os.getpid() and pid_alive(pid) and not force:
        return RestoreResult(path, pid, "skipped (process alive; stop it or pass --force)")
    problems = []
    restorers = registry.restorers()
    for snap in doc.get("knobs", []):
        fn = restorers.get(snap.get("kind", ""))
        if fn is None:
            problems.append(f"unknown knob kind {snap.get('kind')!r}")
            continue
        try:
            fn(snap, roots or ROOTS)
        except Exception as e:
            problems.append(f"{snap['kind']}: {e}")
    if problems:
        return RestoreResult(path, pid, "failed: " + "; ".join(problems))
    path.unlink()
    return RestoreResult(path, pid, "restored")


def restore_all(state_dir: Path, force: bool = False, roots: SystemRoots | None = None) -> list[RestoreResult]:
    """Restore every ``state-*.json`` in ``state_dir``."""
    if not state_dir.is_dir():
        return []
    return [restore_file(p, force, roots) for p in sorted(state_dir.glob("state-*.json"))]
