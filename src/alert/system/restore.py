"""Undo runs that were killed before they could restore their knobs (``alert restore``).

Nothing read here is trusted: the state directory must pass :class:`~alert.system.statedir.StateDir`'s
checks, every state file its ownership, type and size checks and a strict JSON parse, and every
snapshot the allowlist of the knob registry (paths derived from known roots, values inside the
range the hardware reports now). A file that fails is reported on one line and skipped; the
others are still restored. Signals are held while a file is being restored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alert.safeio import InputError, loads_json
from alert.system import registry
from alert.system.errors import SystemLayerError
from alert.system.guard import signals_blocked
from alert.system.roots import SystemRoots
from alert.system.statedir import STATE_NAME, TMP_NAME, StateDir

#: the roots restore derives every path from (tests replace it with temporary trees)
ROOTS = SystemRoots()


@dataclass(frozen=True)
class RestoreResult:
    """What happened to one state file."""

    file: Path
    pid: int
    action: str  # "restored", "skipped (process alive...)", "refused: ...", "failed: ..."

    @property
    def ok(self) -> bool:
        return self.action == "restored" or self.action.startswith("removed")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    return True


def _document(data: bytes, where: str, pid_in_name: int) -> tuple[int, list[dict[str, Any]]]:
    """(pid, snapshots) of a state file, or InputError naming what is wrong."""
    doc = loads_json(data, where)
    if not isinstance(doc, dict):
        raise InputError(where, "<file>", "is not a JSON object", "remove it; alert writes objects")
    pid = doc.get("pid")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        raise InputError(where, "pid", f"{pid!r} is not a process id", "remove the file")
    if pid != pid_in_name:
        raise InputError(where, "pid", f"{pid} does not match the file name", "remove the file")
    knobs = doc.get("knobs")
    if not isinstance(knobs, list) or not all(isinstance(k, dict) and isinstance(k.get("kind"), str)
                                              for k in knobs):
        raise InputError(where, "knobs", "is not a list of snapshots with a 'kind'", "remove the file")
    return pid, knobs


def _restore_one(d: StateDir, name: str, force: bool, roots: SystemRoots) -> RestoreResult:
    path = d.path / name
    tmp = TMP_NAME.fullmatch(name)
    if tmp:  # a run killed while writing its state: it had not touched any knob yet
        pid = int(tmp.group(1))
        if pid_alive(pid) and not force:
            return RestoreResult(path, pid, "skipped (process alive; stop it or pass --force)")
        d.remove(name)
        return RestoreResult(path, pid, "removed (unfinished state file of a run that changed nothing)")
    m = STATE_NAME.fullmatch(name)
    assert m is not None
    pid = int(m.group(1))
    try:
        pid, snaps = _document(d.read(name), str(path), pid)
    except (InputError, SystemLayerError) as e:
        return RestoreResult(path, pid, f"refused: {e}")
    if pid != os.getpid() and pid_alive(pid) and not force:
        return RestoreResult(path, pid, "skipped (process alive; stop it or pass --force)")
    problems = []
    restorers = registry.restorers()
    for snap in snaps:
        fn = restorers.get(snap["kind"])
        if fn is None:
            problems.append(f"unknown knob kind {str(snap['kind'])[:40]!r}")
            continue
        try:
            fn(snap, roots)
        except Exception as e:  # one line per knob; the other knobs and files still go
            problems.append(f"{snap['kind']}: {e}")
    if problems:
        return RestoreResult(path, pid, "failed: " + "; ".join(problems))
    d.remove(name)
    return RestoreResult(path, pid, "restored")


def _pid_of(name: str) -> int:
    """The pid in a state file's name (``state-<pid>[-<n>].json`` or ``.state-<pid>[-<n>].tmp``)."""
    m = STATE_NAME.fullmatch(name) or TMP_NAME.fullmatch(name)
    return int(m.group(1)) if m else -1


def restore_all(state_dir: str | Path, force: bool = False, roots: SystemRoots | None = None) -> list[RestoreResult]:
    """Restore every ``state-*.json`` in ``state_dir`` (none when it does not exist), the newest
    first: where two runs held the same machine-wide knob, the later one's snapshot is the earlier
    one's setting, so it is undone first and the earliest snapshot, the machine's own setting, is
    written last. Raises :class:`~alert.system.statedir.StateDirError` when the directory itself
    cannot be trusted."""
    if not os.path.lexists(state_dir):
        return []
    out = []
    with StateDir(state_dir, create=False) as d:
        if not force and not d.lock():
            # a live run holds machine-wide settings: undoing a dead run's snapshot of the same
            # setting now would overwrite the live one, which would then restore that dead run's value
            return [RestoreResult(d.path / n, _pid_of(n), "skipped (a running alert run holds this directory's "
                                  "machine-wide settings; run 'alert restore' when it has ended)")
                    for n in d.names()]
        for name in d.names(newest_first=True):
            with signals_blocked():
                out.append(_restore_one(d, name, force, roots or ROOTS))
    return out


def restore_file(path: str | Path, force: bool = False, roots: SystemRoots | None = None) -> RestoreResult:
    """Restore one state file (in a checked state directory)."""
    p = Path(path)
    with StateDir(p.parent, create=False) as d:
        with signals_blocked():
            return _restore_one(d, p.name, force, roots or ROOTS)
