"""Restore every knob on normal exit, on exceptions and on SIGINT/SIGTERM; keep a state file.

``with KnobGuard([knob], state_dir): ...`` writes ``state_dir/state-<pid>.json`` with each
knob's original state *before* touching anything, prepares the knobs (a cgroup knob creates its
cgroup), and on leaving (normally, by exception, by SIGINT/SIGTERM/SIGHUP, or at interpreter
exit) restores them in reverse order and removes the file. If the process is killed with
SIGKILL the file stays, and ``alert restore`` undoes the run from it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from alert.system.base import Knob
from alert.system.errors import KnobUnavailable
from alert.system.statedir import StateDir, default_state_dir

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

__all__ = ["SIGNALS", "KnobGuard", "default_state_dir", "signals_blocked"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP (they stay pending and arrive afterwards)."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class KnobGuard:
    """Context manager that guarantees the knobs' original settings come back."""

    def __init__(self, knobs: Sequence[Knob], state_dir: str | Path | None = None) -> None:
        self.knobs = list(knobs)
        self.state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self.state_file = self.state_dir / f"state-{os.getpid()}.json"
        self._previous: dict[int, Any] = {}
        self._done = False
        self._restoring = False
        self._pending: int | None = None
        self._dir: StateDir | None = None
        self._wrote = False
        self.errors: list[str] = []

    def _machine_knobs(self) -> list[Knob]:
        return [k for k in self.knobs if k.changes_machine]

    def write_state(self) -> None:
        """Record the original state of every knob that changes the machine (checked directory,
        exclusive create, no links followed, fsynced)."""
        knobs = self._machine_knobs()
        if not knobs:
            return
        self._dir = StateDir(self.state_dir, create=True)
        wide = [k for k in knobs if k.machine_wide]
        if wide:  # before the snapshots; held until the restore is done
            if not self._dir.lock():
                raise KnobUnavailable(f"{', '.join(dict.fromkeys(k.kind for k in wide))} knob",
                                      f"another alert run (or another guard of this one) holds the machine-wide "
                                      f"settings of state directory {self.state_dir}",
                                      "wait for that run to end: two runs changing machine-wide settings would each "
                                      "restore the other's setting as the original")
            for k in wide:  # what the machine has now, with the lock held: not another run's setting
                k.recapture()
        snaps = [k.snapshot() for k in knobs]
        doc = {"pid": os.getpid(), "started": time.time(), "argv": sys.argv, "knobs": snaps}
        self.state_file = self._dir.write_state(os.getpid(), json.dumps(doc, indent=1).encode())
        self._wrote = True

    def __enter__(self) -> KnobGuard:
        try:
            self.write_state()
        except BaseException:
            self._close_dir()
            raise
        if threading.current_thread() is threading.main_thread():
            for s in SIGNALS:
                self._previous[s] = signal.signal(s, self._on_signal)
        atexit.register(self.restore)
        try:
            for k in self.knobs:
                prep = getattr(k, "prepare", None)
                if prep is not None:
                    prep()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()
        for s, h in self._previous.items():
            signal.signal(s, h)
        self._previous.clear()
        atexit.unregister(self.restore)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._restoring:  # a second signal while restoring: finish the restore, then die of it
            self._pending = signum
            return
        self.restore()
        prev = self._previous.get(signum, signal.SIG_DFL)
        for s, h in self._previous.items():
            signal.signal(s, h)
        self._previous.clear()
        if callable(prev):
            prev(signum, frame)
        elif prev != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    def restore(self) -> None:
        """Restore all knobs (reverse order) with SIGINT/SIGTERM/SIGHUP held; remove the state file
        only when every restore worked."""
        if self._done:
            return
        self._restoring = True  # before _done: a handler running in between restores by itself
        self._done = True
        try:
            with signals_blocked():
                for k in reversed(self.knobs):
                    try:
                        k.restore()
                    except Exception as e:  # keep going: restore as much as possible
                        self.errors.append(f"{k.kind}: {e}")
                if self.errors:
                    # logging's handler lock is re-entrant, so this is safe from a signal handler too
                    log.error(f"could not restore {'; '.join(self.errors)}; state kept in {self.state_file}, "
                              "run 'alert restore' to retry")
                elif self._wrote and self._dir is not None:
                    try:
                        self._dir.remove(self.state_file.name)
                    except FileNotFoundError:
                        pass
        finally:
            self._close_dir()  # (frees the machine-wide lock whatever happened above)
            self._restoring = False
        pending, self._pending = self._pending, None
        if pending is not None:  # a signal that arrived while restoring: act on it now
            self._on_signal(pending, None)

    def _close_dir(self) -> None:
        if self._dir is not None:  # (closing it also frees the machine-wide lock)
            self._dir.close()
            self._dir = None
