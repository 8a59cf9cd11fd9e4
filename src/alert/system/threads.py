"""Intra-op thread count (``torch.set_num_threads``), alone or combined with a CPU quota.

Under a CPU quota below two cores one thread is faster than two (the threads share the quota
and pay synchronisation), so :class:`QuotaWithThreads` sets ``threads = clamp(floor(cores),
1, ncpu)`` whenever it applies a quota.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

from alert.system.base import Knob


class ThreadCount(Knob):
    """Number of intra-op threads; ``get``/``set`` default to torch's (imported lazily)."""

    kind = "threads"
    unit = "threads"
    changes_machine = False

    def __init__(self, get: Callable[[], int] | None = None, set: Callable[[int], None] | None = None,
                 ncpu: int | None = None) -> None:
        super().__init__()
        if get is None or set is None:
            import torch

            get, set = torch.get_num_threads, torch.set_num_threads
        self._get, self._set = get, set
        self.ncpu = ncpu or len(os.sched_getaffinity(0))
        self._original = int(self._get())

    def limits(self) -> tuple[float, float]:
        return 1.0, float(self.ncpu)

    def available(self) -> list[float]:
        return [float(n) for n in range(1, self.ncpu + 1)]

    def read(self) -> float:
        return float(self._get())

    def _write(self, value: float) -> None:
        self._set(int(value))

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "threads": self._original}

    def restore(self) -> None:
        self._set(self._original)
        self._last = None


def threads_for(cores: float, ncpu: int) -> int:
    """Threads to use under a quota of ``cores``: floor(cores), at least 1, at most ncpu."""
    return int(min(ncpu, max(1, math.floor(cores + 1e-9))))


class QuotaWithThreads(Knob):
    """A CPU-quota knob that also sets the thread count to suit the quota."""

    unit = "cores"

    def __init__(self, quota: Knob, threads: ThreadCount) -> None:
        super().__init__()
        self.quota, self.threads = quota, threads
        self.kind = f"{quota.kind}+threads"
        self.changes_machine = quota.changes_machine  # a knobd quota keeps its state in knobd

    def prepare(self) -> None:
        prep = getattr(self.quota, "prepare", None)
        if prep is not None:
            prep()

    def limits(self) -> tuple[float, float]:
        return self.quota.limits()

    def verify(self) -> None:
        self.quota.verify()

    def read(self) -> float:
        return self.quota.read()

    def _write(self, value: float) -> None:
        self.quota.apply(value)
        self.threads.apply(threads_for(value, self.threads.ncpu))

    def snapshot(self) -> dict[str, Any]:
        return self.quota.snapshot()

    def restore(self) -> None:
        try:
            self.quota.restore()
        finally:
            self.threads.restore()
            self._last = None
