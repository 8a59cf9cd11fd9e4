"""Contention generators for experiments like the paper's §5 (Memory and Compute scenarios).

``memory``: a STREAM-like triad ``a = b + s·c`` over arrays much larger than the caches, so the
job competes for memory bandwidth. ``compute``: a cache-resident arithmetic loop, so the job
competes for cores. Two schedules, both anchored at a common start time and running until
``duration_s`` (or until stopped):

- on/off (``on_s``, ``off_s``): every worker switches on for ``on_s`` seconds and off for
  ``off_s`` seconds;
- levels (:class:`LevelSchedule`): an intensity between 0 and 1 that steps through a cycle of
  levels and drifts slowly on top of them (a sine or a triangular ramp); intensity ``I`` keeps
  ``I × workers`` workers' worth of work busy, the fractional part as a duty cycle of one worker.
 Workers are separate processes started before any cgroup move, so they do not
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
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from typing import Any, Literal

import numpy as np

Kind = Literal["memory", "compute"]
DriftShape = Literal["sine", "ramp"]


@dataclass(frozen=True)
class LevelSchedule:
    """Contention intensity over time: a cycle of steps plus a slow drift.

    ``steps``: ``(level, seconds)`` pairs run in order and repeated; a level is the share of the
    workers' capacity kept busy (0: none, 0.5: half of the workers, 1: all of them). The drift adds
    ``drift_amplitude × w(t)`` with ``w`` between 0 and 1 and period ``drift_period_s``, starting
    at 0: ``sine``: ``w = (1 - cos(2πt/P)) / 2``; ``ramp``: a triangle, 0 at t = 0, 1 at P/2, 0
    at P. The intensity is ``I(t) = clip(level(t) + drift(t), 0, 1)``. Worker ``i`` of ``W`` is
    busy for a share ``clip(I·W - i, 0, 1)`` of time: fully, not at all, or for the first
    ``share × duty_period_s`` of every duty period. The contention state of a time is the index of
    its step's level among the distinct levels in increasing order (:attr:`levels`)."""

    steps: tuple[tuple[float, float], ...]
    drift_amplitude: float = 0.0
    drift_period_s: float = 0.0
    drift_shape: DriftShape = "sine"
    duty_period_s: float = 0.05

    def __post_init__(self) -> None:
        steps = tuple((float(lv), float(sec)) for lv, sec in self.steps)
        object.__setattr__(self, "steps", steps)
        if not steps:
            raise ValueError("contention levels: no step given. Fix: give (level, seconds) steps, e.g. "
                             "--levels 0:8,0.8:12,0.4:10")
        for i, (lv, sec) in enumerate(steps):
            if not 0.0 <= lv <= 1.0:
                raise ValueError(f"contention levels: step {i + 1} has level {lv:g}. Fix: a level is the share of "
                                 "the workers kept busy, between 0 and 1")
            if not sec > 0:
                raise ValueError(f"contention levels: step {i + 1} lasts {sec:g} s. Fix: give every step a "
                                 "duration > 0 seconds")
        if not 0.0 <= self.drift_amplitude <= 1.0:
            raise ValueError(f"contention drift: amplitude {self.drift_amplitude:g}. Fix: --drift-amplitude "
                             "between 0 and 1 (a share of the workers)")
        if self.drift_amplitude > 0 and not self.drift_period_s > 0:
            raise ValueError(f"contention drift: amplitude {self.drift_amplitude:g} with period "
                             f"{self.drift_period_s:g} s. Fix: --drift-period > 0 seconds (or amplitude 0)")
        if self.drift_shape not in ("sine", "ramp"):
            raise ValueError(f"contention drift: shape {self.drift_shape!r}. Fix: --drift-shape sine or ramp")
        if not self.duty_period_s > 0:
            raise ValueError(f"contention levels: duty period {self.duty_period_s:g} s. Fix: --duty-period > 0 "
                             "seconds")

    @classmethod
    def parse(cls, text: str, **kw: Any) -> LevelSchedule:
        """From ``"LEVEL:SECONDS,LEVEL:SECONDS,..."`` (e.g. ``"0:8,0.8:12,0.4:10"``)."""
        steps = []
        for part in text.split(","):
            bits = part.strip().split(":")
            try:
                if len(bits) != 2:
                    raise ValueError
                steps.append((float(bits[0]), float(bits[1])))
            except ValueError:
                raise ValueError(f"--levels: {part.strip()!r} is not LEVEL:SECONDS. Fix: write the steps as "
                                 "LEVEL:SECONDS separated by commas, e.g. 0:8,0.8:12,0.4:10") from None
        return cls(tuple(steps), **kw)

    @property
    def cycle_s(self) -> float:
        return float(sum(sec for _, sec in self.steps))

    @property
    def levels(self) -> tuple[float, ...]:
        """The distinct step levels in increasing order (state ``k`` is ``levels[k]``)."""
        return tuple(sorted({lv for lv, _ in self.steps}))

    def step_index(self, elapsed: Any) -> Any:
        """Index into :attr:`steps` at ``elapsed`` seconds after the start (scalar or array)."""
        ends = np.cumsum([sec for _, sec in self.steps])
        idx = np.searchsorted(ends, np.mod(elapsed, self.cycle_s), side="right")
        return np.minimum(idx, len(self.steps) - 1)

    def level(self, elapsed: Any) -> Any:
        """The step level at ``elapsed`` (before the drift)."""
        return np.asarray([lv for lv, _ in self.steps])[self.step_index(elapsed)]

    def state(self, elapsed: Any) -> Any:
        """The contention state at ``elapsed``: index of the step's level in :attr:`levels`."""
        return np.searchsorted(np.asarray(self.levels), self.level(elapsed))

    def drift(self, elapsed: Any) -> Any:
        """``drift_amplitude × w(elapsed)``, between 0 and the amplitude."""
        if self.drift_amplitude == 0:
            return np.zeros_like(np.asarray(elapsed, dtype=float))
        x = np.mod(np.asarray(elapsed, dtype=float) / self.drift_period_s, 1.0)
        w = (1 - np.cos(2 * np.pi * x)) / 2 if self.drift_shape == "sine" else 1 - np.abs(2 * x - 1)
        return self.drift_amplitude * w

    def intensity(self, elapsed: Any) -> Any:
        """``clip(level + drift, 0, 1)`` at ``elapsed`` seconds after the start."""
        return np.clip(self.level(elapsed) + self.drift(elapsed), 0.0, 1.0)

    def worker_share(self, elapsed: Any, index: int, workers: int) -> Any:
        """Share of time worker ``index`` (0-based) of ``workers`` is busy at ``elapsed``."""
        return np.clip(self.intensity(elapsed) * workers - index, 0.0, 1.0)

    def worker_busy(self, elapsed: float, index: int, workers: int) -> tuple[bool, float]:
        """Whether worker ``index`` works at ``elapsed``, and if not, how long to wait before asking
        again (at most one duty period)."""
        share = float(self.worker_share(elapsed, index, workers))
        phase = elapsed % self.duty_period_s
        if phase < share * self.duty_period_s:
            return True, 0.0
        return False, self.duty_period_s - phase

    def names(self, kind: str) -> tuple[str, ...]:
        """State names: ``KIND-LEVEL`` per level, e.g. ``("compute-0", "compute-0.4", "compute-0.8")``."""
        return tuple(f"{kind}-{lv:g}" for lv in self.levels)

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [list(s) for s in self.steps], "levels": list(self.levels),
                "drift_amplitude": self.drift_amplitude, "drift_period_s": self.drift_period_s,
                "drift_shape": self.drift_shape, "duty_period_s": self.duty_period_s,
                "intensity": "clip(level + drift, 0, 1); worker i of W busy clip(I*W - i, 0, 1) of each duty period"}


@dataclass(frozen=True)
class ContentionConfig:
    """What to run and when. ``duration_s=None`` runs until :meth:`Contention.stop`. With
    ``levels`` the workers follow that schedule and ``on_s``/``off_s`` must stay 0."""

    kind: Kind
    on_s: float = 0.0
    off_s: float = 0.0
    duration_s: float | None = None
    workers: int = 1
    array_mb: float = 64.0  # per array of the triad (three arrays per worker)
    start_on: bool = True
    levels: LevelSchedule | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("memory", "compute"):
            raise ValueError(f"contention kind must be 'memory' or 'compute', got {self.kind!r}")
        if self.levels is not None:
            if self.on_s or self.off_s:
                raise ValueError(f"contention: --levels with --on {self.on_s:g} / --off {self.off_s:g}. Fix: give "
                                 "either an on/off schedule or --levels, not both")
        elif not (math.isfinite(self.on_s) and self.on_s > 0 and math.isfinite(self.off_s) and self.off_s >= 0):
            raise ValueError(f"--on must be > 0 and --off >= 0 seconds, got on={self.on_s}, off={self.off_s}")
        if self.duration_s is not None and not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise ValueError(f"--duration must be > 0 seconds, got {self.duration_s}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {self.workers}")

    @property
    def state_names(self) -> tuple[str, ...]:
        """Names of the states :meth:`Contention.state` returns."""
        return self.levels.names(self.kind) if self.levels is not None else ("off", self.kind)

    def describe(self) -> dict[str, Any]:
        """The schedule for a trace's metadata."""
        d: dict[str, Any] = {"kind": self.kind, "workers": self.workers}
        if self.levels is not None:
            d["schedule"] = "levels"
            d.update(self.levels.to_dict())
        else:
            d.update({"schedule": "on/off", "on_s": self.on_s, "off_s": self.off_s,
                      "starts": "on" if self.start_on else "off"})
        if self.kind == "memory":
            d["array_mb"] = self.array_mb
        return d


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


def _worker(cfg: ContentionConfig, start: Synchronized[float], work: Synchronized[float], stop: Event,
            parent: int, ready: Event, go: Event, index: int = 0) -> None:
    """Prepare (the memory job touches its arrays now, not in its first phase), report ``ready``,
    wait for ``go`` and the common start time, then follow the schedule until the duration ends,
    ``stop`` is set, or the parent process dies (so a run killed by a signal never leaves
    contention behind). ``index``: this worker's place among the workers (the level schedule
    keeps the first ones busy)."""
    if cfg.kind == "memory":
        n = int(cfg.array_mb * 2**20 / 8)
        a, b, c = np.full(n, 0.0), np.ones(n), np.full(n, 2.0)
        if cfg.levels is None:
            step: Callable[[], float] = lambda: (triad(a, b, c), 3 * a.nbytes)[1]  # noqa: E731
        else:  # slices of about 1 Mi elements (a few ms), so a duty cycle can stop within its period
            k = max(1, n // 2**20)
            bounds = np.linspace(0, n, k + 1).astype(int)
            pos = [0]

            def step() -> float:
                i = pos[0]
                lo, hi = bounds[i], bounds[i + 1]
                triad(a[lo:hi], b[lo:hi], c[lo:hi])
                pos[0] = (i + 1) % k
                return 3 * 8.0 * (hi - lo)
    else:
        def step() -> float:
            _compute_chunk()
            return 20_000
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
        working, wait = busy(cfg, now - t0, index)
        if working:
            done = step()
            with work.get_lock():
                work.value += done
        else:
            if end is not None:
                wait = min(wait, end - now)
            stop.wait(min(0.5, max(0.001, wait)))


def busy(cfg: ContentionConfig, elapsed: float, index: int) -> tuple[bool, float]:
    """Whether worker ``index`` works ``elapsed`` seconds after the start, else how long to wait."""
    if cfg.levels is not None:
        return cfg.levels.worker_busy(elapsed, index, cfg.workers)
    if is_on(elapsed, cfg.on_s, cfg.off_s, cfg.start_on):
        return True, 0.0
    period = cfg.on_s + cfg.off_s
    phase = elapsed % period
    return False, (period - phase) if cfg.start_on else (cfg.off_s - phase)


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
        for i in range(self.config.workers):
            ready = self._ctx.Event()
            p = self._ctx.Process(target=_worker, args=(self.config, start, self.work, self._stop, os.getpid(),
                                                        ready, go, i), daemon=True)
            p.start()
            self._procs.append(p)
            readies.append(ready)
        deadline = time.monotonic() + timeout
        for ready, proc in zip(readies, self._procs, strict=True):
            while not ready.wait(0.1):
                if not proc.is_alive() or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"a {self.config.kind} contention worker did not start (exit code "
                                       f"{proc.exitcode}). Fix: check that there is memory for its arrays "
                                       f"({3 * self.config.array_mb:.0f} MB) and that Python can start processes")
        self.t0 = time.monotonic()
        start.value = self.t0
        go.set()
        return self

    def _elapsed(self, t: float | None) -> float | None:
        """Seconds since the start at monotonic time ``t`` (now), or None once the duration is over."""
        el = (time.monotonic() if t is None else t) - self.t0
        if self.config.duration_s is not None and el >= self.config.duration_s:
            return None
        return el

    def intensity(self, t: float | None = None) -> float:
        """Share of the workers' capacity scheduled busy at monotonic time ``t`` (now by default):
        1 or 0 on an on/off schedule."""
        el = self._elapsed(t)
        if el is None:
            return 0.0
        if self.config.levels is not None:
            return float(self.config.levels.intensity(el))
        return float(is_on(el, self.config.on_s, self.config.off_s, self.config.start_on))

    def is_on(self, t: float | None = None) -> bool:
        """Whether any work is scheduled at monotonic time ``t`` (now by default)."""
        return self.intensity(t) > 0

    def state(self, t: float | None = None) -> int:
        """The contention state at ``t`` (index into ``config.state_names``): 0/1 for off/on; with
        levels, the step's level index (0 after the duration)."""
        el = self._elapsed(t)
        if el is None:
            return 0
        if self.config.levels is not None:
            return int(self.config.levels.state(el))
        return int(is_on(el, self.config.on_s, self.config.off_s, self.config.start_on))

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


# =============================================================================== options
def add_level_arguments(p: Any) -> None:
    """Options of a level schedule (:class:`alert.system.contend.LevelSchedule`)."""
    p.add_argument("--levels", default=None, metavar="L:S,...",
                   help="instead of --on/--off: a cycle of contention levels, LEVEL:SECONDS separated by commas "
                        "(a level is the share of the workers kept busy, 0-1), e.g. 0:8,0.8:12,0.4:10")
    p.add_argument("--drift-amplitude", type=float, default=0.0, metavar="A",
                   help="with --levels: a slow drift adds A x w(t), w between 0 and 1 (default 0)")
    p.add_argument("--drift-period", type=float, default=0.0, metavar="S", help="the drift's period in seconds")
    p.add_argument("--drift-shape", choices=["sine", "ramp"], default="sine",
                   help="w = (1 - cos(2 pi t / P)) / 2 (sine) or a triangle 0 -> 1 -> 0 (ramp)")
    p.add_argument("--duty-period", type=float, default=0.05, metavar="S",
                   help="with --levels: a partly busy worker works the first share of every S seconds (default 0.05)")


def config_from_args(args: Any, kind: str, workers: int, start_on: bool = False, duration_s: float | None = None,
                     array_mb: float = 64.0) -> ContentionConfig:
    """The :class:`ContentionConfig` of ``--on/--off`` (default 10 s each) or ``--levels`` options
    (ValueError names the fix)."""
    if getattr(args, "levels", None):
        if args.on is not None or args.off is not None:
            raise ValueError("--levels with --on/--off. Fix: give either --on/--off or --levels, not both")
        sched = LevelSchedule.parse(args.levels, drift_amplitude=args.drift_amplitude,
                                    drift_period_s=args.drift_period, drift_shape=args.drift_shape,
                                    duty_period_s=args.duty_period)
        return ContentionConfig(kind, duration_s=duration_s, workers=workers, array_mb=array_mb,  # type: ignore[arg-type]
                                start_on=start_on, levels=sched)
    if getattr(args, "drift_amplitude", 0.0):
        raise ValueError("--drift-amplitude without --levels. Fix: give the levels the drift adds to (--levels)")
    on = 10.0 if args.on is None else args.on
    off = 10.0 if args.off is None else args.off
    return ContentionConfig(kind, on, off, duration_s, workers, array_mb, start_on)  # type: ignore[arg-type]
