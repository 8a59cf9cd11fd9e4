"""Strict JSON for every machine-readable output: no ``NaN`` or ``Infinity`` (which
``json.dumps`` writes by default and strict parsers reject).

A number that is not finite becomes ``null``, and the object holding it gains a field
``<key>_reason`` that says why (a reason the caller knows, e.g. "the goal has no deadline", or
else the value it replaced); a value that is already ``None`` gains the reason the caller gives
for its key. Inside a list the entry becomes ``null`` and the reason names the
entries. numpy scalars and arrays become plain numbers and lists.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def _finite_or_none(x: float) -> tuple[Any, str | None]:
    if math.isfinite(x):
        return x, None
    return None, "not a number (NaN)" if math.isnan(x) else f"{'+' if x > 0 else '-'}infinity"


def _clean(v: Any, reasons: Mapping[str, str]) -> tuple[Any, list[str]]:
    """``v`` with non-finite numbers replaced by None; also what each replaced value was."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v), []
    if isinstance(v, (np.integer,)):
        return int(v), []
    if isinstance(v, (float, np.floating)):
        x, why = _finite_or_none(float(v))
        return x, [why] if why else []
    if isinstance(v, np.ndarray):
        return _clean(v.tolist(), reasons)
    if isinstance(v, Mapping):
        return strict(v, reasons), []
    if isinstance(v, (list, tuple)):
        out, bad = [], []
        for i, e in enumerate(v):
            c, whys = _clean(e, reasons)
            out.append(c)
            if whys:
                bad.append(f"entry {i}: {whys[0]}")
        return out, bad
    return v, []


def strict(obj: Any, reasons: Mapping[str, str] | None = None) -> Any:
    """A copy of ``obj`` that :func:`json.dumps` writes as strict JSON. ``reasons`` maps a key
    to why its value may be missing; it is used for every ``<key>_reason`` field added."""
    reasons = reasons or {}
    if not isinstance(obj, Mapping):
        return _clean(obj, reasons)[0]
    out: dict[str, Any] = {}
    added: dict[str, str] = {}
    for k, v in obj.items():
        c, bad = _clean(v, reasons)
        out[k] = c
        if v is None and str(k) in reasons:  # already null: the caller knows why
            added[f"{k}_reason"] = reasons[str(k)]
        elif bad:
            known = reasons.get(str(k))
            detail = "; ".join(bad[:5]) + ("; ..." if len(bad) > 5 else "")
            added[f"{k}_reason"] = f"{known} ({detail})" if known else detail
    for k, why in added.items():
        out.setdefault(k, why)
    return out


def dumps(obj: Any, reasons: Mapping[str, str] | None = None, **kwargs: Any) -> str:
    """:func:`json.dumps` of :func:`strict` ``(obj)``; raises if anything non-finite is left."""
    return json.dumps(strict(obj, reasons), allow_nan=False, **kwargs)


def loads(text: str) -> Any:
    """:func:`json.loads` that rejects ``NaN``, ``Infinity`` and ``-Infinity``."""
    def reject(const: str) -> Any:
        raise ValueError(f"not strict JSON: {const}")

    return json.loads(text, parse_constant=reject)
