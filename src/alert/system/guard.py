"""Restore every knob on normal exit, on exceptions and on SIGINT/SIGTERM; keep a state file.

``with KnobGuard([knob], state_dir): ...`` writes ``state_dir/state-<pid>.json`` with each
knob's original state *before* touching anything, prepares the knobs (a cgroup knob creates its
cgroup), and on leaving (normally, by exception, by SIGINT/SIGTERM/SIGHUP, or at interpreter
exit) restores them in reverse order and removes the file. If the process is killed with
SIGKILL the file stays, and ``alert restore`` undoes the run from it.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from alert.system.base import Knob

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

log = logging.getLogger(__name__)


def default_state_dir() -> Path:
    """``/run/alert`` when writable (root), else ``<tmp>/alert-state``."""
    run = Path("/run")
    if run.is_dir() and os.access(run, os.W_OK):
        return run / "alert"
    return Path(tempfile.gettempdir()) / "alert-state"


class KnobGuard:
    """Context manager that guarantees the knobs' original settings come back."""

    def __init__(self, knobs: Sequence[Knob], state_dir: str | Path | None = None) -> None:
        self.knobs = list(knobs)
        self.state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self.state_file = self.state_dir / f"state-{os.getpid()}.json"
        self._previous: dict[int, Any] = {}
        self._done = False
        self.errors: list[str] = []

    def _machine_knobs(self) -> list[Knob]:
        return [k for k in self.knobs if k.changes_machine]

    def write_state(self) -> None:
        """Record the original state of every knob that changes the machine."""
        snaps = [k.snapshot() for k in self._machine_knobs()]
        if not snaps:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        doc = {"pid": os.getpid(), "started": time.time(), "argv": sys.argv, "knobs": snaps}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1))
        os.replace(tmp, self.state_file)

    def __enter__(self) -> KnobGuard:
        self.write_state()
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
        """Restore all knobs (reverse order); remove the state file when every restore worked."""
        if self._done:
            return
        self._done = True
        for k in reversed(self.knobs):
            try:
                k.restore()
            except Exception as e:  # keep going: restore as much as possible
                self.errors.append(f"{k.kind}: {e}")
        if self.errors:
            # logging's handler lock is re-entrant, so this is safe from the signal handler too
            log.error(f"could not restore {'; '.join(self.errors)}; state kept in {self.state_file}, "
                      "run 'alert restore' to retry")
        else:
            self.state_file.unlink(missing_ok=True)
