"""Contention generators for experiments like the paper's §5 (Memory and Compute scenarios).

``memory``: a STREAM-like triad ``a = b + s·c`` over arrays much larger than the caches, so the
job competes for memory bandwidth. ``compute``: a cache-resident arithmetic loop, so the job
competes for cores. Each worker process switches on for ``on_s`` seconds and off for
``off_s`` seconds, on a schedule anchored at a common start time, until ``duration_s`` (or
until stopped). Workers are separate processes started before any cgroup move, so they do not
share the inference process's quota. They are started fresh ("spawn"), not forked: a forked
worker shares the parent's memory copy-on-write, and the parent then pays a page fault on every
page it writes again (Python touches its objects' reference counts on every use), which made the
first decisions after the start of contention cost several milliseconds of CPU time. As with any
spawned process, a script that starts contention must do so under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["memory", "compute"]


@dataclass(frozen=True)
class ContentionConfig:
    """What to run and when. ``duration_s=None`` runs until :meth:`Contention.stop`."""

    kind: Kind
    on_s: float
    off_s: float
    duration_s: float | None = None
    workers: int = 1
    array_mb: float = 64.0  # per array of the triad (three arrays per worker)
    start_on: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("memory", "compute"):
            raise ValueError(f"contention kind must be 'memory' or 'compute', got {self.kind!r}")
        if not (math.isfinite(self.on_s) and self.on_s > 0 and math.isfinite(self.off_s) and self.off_s >= 0):
            raise ValueError(f"--on must be > 0 and --off >= 0 seconds, got on={self.on_s}, off={self.off_s}")
        if self.duration_s is not None and not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise ValueError(f"--duration must be > 0 seconds, got {self.duration_s}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {self.workers}")


def is_on(elapsed: float, on_s: float, off_s: float, start_on: bool = True) -> bool:
    """Whether the schedule is in an *on* phase ``elapsed`` seconds after the start."""
    period = on_s + off_s
    phase = elapsed % period if period > 0 else 0.0
    if start_on:
        return phase < on_s
    return phase >= off_s


def triad(a: np.ndarray, b: np.ndarray, c: np.ndarray, s: float = 3.0) -> None:
    """STREAM triad a = b + s·c, in place (reads two arrays, writes one)."""
    np.multiply(c, s, out=a)
    np.add(a, b, out=a)


def _compute_chunk(n: int = 20_000) -> float:
    x = 1.0
    for _ in range(n):
        x = x * 1.0000001 + 1e-9
    return x


def _worker(cfg: ContentionConfig, start: mp.Value, work: mp.Value, stop: mp.Event,  # type: ignore[valid-type]
            parent: int, ready: mp.Event, go: mp.Event) -> None:  # type: ignore[valid-type]
    """Prepare (the memory job touches its arrays now, not in its first phase), report ``ready``,
    wait for ``go`` and the common start time, then follow the schedule until the duration ends,
    ``stop`` is set, or the parent process dies (so a run killed by a signal never leaves
    contention behind)."""
    if cfg.kind == "memory":
        n = int(cfg.array_mb * 2**20 / 8)
        a, b, c = np.full(n, 0.0), np.ones(n), np.full(n, 2.0)
        step: Callable[[], float] = lambda: (triad(a, b, c), 3 * a.nbytes)[1]  # noqa: E731
    else:
        step = lambda: (_compute_chunk(), 20_000)[1]  # noqa: E731
    ready.set()
    while not go.wait(0.5):
        if stop.is_set() or os.getppid() != parent:
            return
    t0 = start.value
    end = None if cfg.duration_s is None else t0 + cfg.duration_s
    while not stop.is_set() and os.getppid() == parent:
        now = time.monotonic()
        if end is not None and now >= end:
            break
        if is_on(now - t0, cfg.on_s, cfg.off_s, cfg.start_on):
            done = step()
            with work.get_lock():
                work.value += done
        else:
            period = cfg.on_s + cfg.off_s
            phase = (now - t0) % period
            wait = (period - phase) if cfg.start_on else (cfg.off_s - phase)
            if end is not None:
                wait = min(wait, end - now)
            stop.wait(min(0.5, max(0.001, wait)))


class Contention:
    """Worker processes following one on/off schedule. Use as a context manager or start/stop."""

    def __init__(self, config: ContentionConfig) -> None:
        self.config = config
        ctx = mp.get_context("spawn")
        self._ctx = ctx
        self._stop = ctx.Event()
        self.work = ctx.Value("d", 0.0)
        self._procs: list[mp.process.BaseProcess] = []
        self.t0 = 0.0

    def start(self, timeout: float = 60.0) -> Contention:
        """Start the workers and wait until they are ready; the schedule starts then, for all of them."""
        start, go = self._ctx.Value("d", 0.0), self._ctx.Event()
        readies = []
        for _ in range(self.config.workers):
            ready = self._ctx.Event()
            p = self._ctx.Process(target=_worker, args=(self.config, start, self.work, self._stop, os.getpid(),
                                                        ready, go), daemon=True)
            p.start()
            self._procs.append(p)
            readies.append(ready)
        deadline = time.monotonic() + timeout
        for ready, p in zip(readies, self._procs, strict=True):
            while not ready.wait(0.1):
                if not p.is_alive() or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"a {self.config.kind} contention worker did not start (exit code "
                                       f"{p.exitcode}). Fix: check that there is memory for its arrays "
                                       f"({3 * self.config.array_mb:.0f} MB) and that Python can start processes")
        self.t0 = time.monotonic()
        start.value = self.t0
        go.set()
        return self

    def is_on(self, t: float | None = None) -> bool:
        """Whether the schedule is on at monotonic time ``t`` (now by default)."""
        now = time.monotonic() if t is None else t
        if self.config.duration_s is not None and now - self.t0 >= self.config.duration_s:
            return False
        return is_on(now - self.t0, self.config.on_s, self.config.off_s, self.config.start_on)

    def wait(self) -> None:
        for p in self._procs:
            p.join()

    def stop(self) -> None:
        self._stop.set()
        for p in self._procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join()
        self._procs.clear()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs if p.pid is not None]

    def __enter__(self) -> Contention:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
