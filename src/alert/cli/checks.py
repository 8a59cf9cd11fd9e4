"""Types for numeric command-line options: every number is finite and inside its range, every
count an integer >= its minimum, before any command runs. argparse reports a failure as
``alert CMD: error: argument --batch: must be an integer >= 1, got '-1'. Fix: ...`` on one line.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

#: the kernel's CFS period range, microseconds (1 ms to 1 s)
CFS_PERIOD_US = (1000, 1_000_000)
#: upper bounds that keep a mistyped count from running for days or exhausting memory
MAX_INPUTS = 10_000_000
MAX_WORKERS = 4096
MAX_SEED = 2**32 - 1


def count(lo: int = 1, hi: int | None = None, what: str = "") -> Callable[[str], int]:
    """An integer in [lo, hi]."""
    def parse(text: str) -> int:
        try:
            v = int(text.strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if v < lo or (hi is not None and v > hi):
            rng = f">= {lo}" if hi is None else f"between {lo} and {hi}"
            raise argparse.ArgumentTypeError(f"must be an integer {rng}{what}, got {text!r}")
        return v
    parse.__name__ = "integer"
    return parse


def number(lo: float | None = None, hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
           what: str = "") -> Callable[[str], float]:
    """A finite number in the range (``lo_open``: lo itself excluded)."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        bad_lo = lo is not None and (v < lo or (lo_open and v == lo))
        bad_hi = hi is not None and (v > hi or (hi_open and v == hi))
        if bad_lo or bad_hi:
            parts = []
            if lo is not None:
                parts.append(f"{'>' if lo_open else '>='} {lo:g}")
            if hi is not None:
                parts.append(f"{'<' if hi_open else '<='} {hi:g}")
            raise argparse.ArgumentTypeError(f"must be {' and '.join(parts)}{what}, got {text!r}")
        return v
    parse.__name__ = "number"
    return parse


#: shorthands
positive = number(lo=0.0, lo_open=True)
non_negative = number(lo=0.0)
fraction = number(lo=0.0, hi=1.0)
seconds = number(lo=0.0, lo_open=True, hi=86_400.0 * 365)
non_negative_seconds = number(lo=0.0, hi=86_400.0 * 365)
inputs = count(1, MAX_INPUTS)
seed = count(0, MAX_SEED)
workers = count(1, MAX_WORKERS)
threads = count(1, MAX_WORKERS)
cfs_period_us = count(*CFS_PERIOD_US, what=" (the kernel's CFS period range, 1 ms to 1 s)")


def priority_order(text: str) -> str:
    """A comma-separated order of latency, accuracy and energy, each once."""
    parts = [t.strip() for t in text.split(",")]
    if sorted(parts) != ["accuracy", "energy", "latency"]:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise argparse.ArgumentTypeError(f"must list latency, accuracy and energy once each, most important "
                                         f"first (e.g. latency,accuracy,energy), got {shown!r}")
    return ",".join(parts)


def output_file(text: str) -> str:
    """A file to write: its folder exists and it is not a directory, FIFO or device."""
    p = Path(text)
    if not text or "\0" in text:
        raise argparse.ArgumentTypeError(f"is not a usable path: {text!r}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {parent} does not exist (create it first): {text!r}")
    if p.exists() and not p.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a regular file")
    return text


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``PROG: error: MESSAGE. Fix: see PROG --help``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        msg = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {msg}. Fix: see '{self.prog} --help'\n")


def named(suffixes: tuple[str, ...], formats: str) -> Callable[[str], str]:
    """A file to write (``output_file``) whose name ends in one of ``suffixes``: the name picks
    the format (``formats`` says which suffix means what)."""
    def parse(text: str) -> str:
        text = output_file(text)
        if Path(text).suffix not in suffixes:
            raise argparse.ArgumentTypeError(f"must end in {' or '.join(suffixes)} ({formats}); the name picks "
                                             f"the format, got {text!r}")
        return text
    parse.__name__ = "file"
    return parse


#: a trace file (``alert trace generate``, ``convert``, ``profile --trace``)
trace_file = named((".npz", ".csv"), "a trace, binary or as text")
#: an ``alert run`` log
run_log = named((".csv", ".jsonl"), "one row per input, or JSON lines with every estimate")

