"""Portable provenance for the metadata of profiles, traces and reports.

Metadata must read the same on every machine that opens the file: no absolute paths of the
machine that wrote it, and a platform string a person can read (``x86_64, 2 CPUs, torch
2.13.0+cpu``, not ``x86_642 CPUs``).
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from alert.resources import portable_path


def cpu_count() -> int:
    """CPUs this process may run on (its affinity; the machine's count where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def platform_string(torch_version: str | None = None, cpus: int | None = None,
                    machine: str | None = None) -> str:
    """``"<machine>, <n> CPUs[, torch <version>]"``, e.g. ``x86_64, 2 CPUs, torch 2.13.0+cpu``."""
    parts = [machine if machine is not None else (platform.machine() or "unknown machine"),
             f"{cpus if cpus is not None else cpu_count()} CPUs"]
    if torch_version:
        parts.append(f"torch {torch_version}")
    return ", ".join(parts)


def command_line(argv: Sequence[str]) -> str:
    """The command as metadata records it: the program as ``alert`` and every absolute path made
    portable (:func:`alert.resources.portable_path`: relative to the working folder when under
    it; a path elsewhere keeps only its name, as ``.../NAME``)."""
    if not argv:
        return "alert"
    return " ".join(["alert"] + [_portable_arg(a) for a in argv[1:]])


_ABS = re.compile(r"(?<![\w.])(/[^\s:=,]+)")


def _portable_arg(arg: str) -> str:
    return _ABS.sub(lambda m: _portable_abs(m.group(1)), arg)


def _portable_abs(path: str) -> str:
    p = portable_path(path)
    return f".../{PurePosixPath(p).name}" if p.startswith("/") else p


def portable_text(text: str) -> str:
    """``text`` with every absolute path made portable as in :func:`command_line`."""
    return _portable_arg(text)


#: machine names of platform.machine(), longest first (the run-together strings are ambiguous otherwise)
_MACHINES = "|".join(re.escape(m) for m in sorted(
    ("x86_64", "amd64", "AMD64", "aarch64", "arm64", "armv7l", "i386", "i686", "ppc64le", "ppc64", "s390x",
     "riscv64"), key=len, reverse=True))


def normalize_platform(text: str) -> str:
    """Repair a platform string written by an older recorder, which ran the machine, the
    processor and the CPU count together (``x86_642 CPUs``, ``x86_64 x86_6416 CPUs``)."""
    m = re.match(rf"^(?P<machine>{_MACHINES})(?: (?P=machine))?,? ?(?P<n>\d+) CPUs,? ?(?P<rest>.*)$", text)
    if m is None:
        return text
    rest = m.group("rest").strip()
    return ", ".join([m.group("machine"), f"{m.group('n')} CPUs"] + ([rest] if rest else []))
