#!/usr/bin/env python3
"""Compare two `alert reproduce` outputs row by row: results.json rows and figure data.

    python scripts/compare_results.py OLD_DIR NEW_DIR [--schemes A,B] [--rename OLD=NEW ...]

Rows are matched on (platform, task, workload, variant, cost, scheme); every other field must be
equal (floats exactly, NaN equal to NaN). ``--schemes`` restricts the comparison to those schemes
(as named in NEW_DIR); ``--rename`` maps a scheme's name in OLD_DIR to its name in NEW_DIR (e.g.
ALERT=ALERT_paper when the paper preset was renamed). Exits 1 and lists the differences when any
row differs or is missing.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

KEY = ("platform", "task", "workload", "variant", "goal", "cost", "scheme")


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def rows(path: Path, rename: dict[str, str]) -> dict[tuple, dict]:
    data = json.loads((path / "results.json").read_text())
    out = {}
    for r in data["rows"] if isinstance(data, dict) else data:
        r = dict(r)
        r["scheme"] = rename.get(r["scheme"], r["scheme"])
        out[tuple(r.get(k) for k in KEY)] = r
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--schemes", default=None)
    ap.add_argument("--rename", action="append", default=[], metavar="OLD=NEW")
    a = ap.parse_args()
    rename = dict(r.split("=", 1) for r in a.rename)
    old, new = rows(a.old, rename), rows(a.new, {})
    keep = None if a.schemes is None else set(a.schemes.split(","))
    diffs = []
    n = 0
    for k, r in old.items():
        if keep is not None and k[-1] not in keep:
            continue
        n += 1
        if k not in new:
            diffs.append(f"missing in {a.new}: {k}")
            continue
        fields = [f for f in r if f in new[k] and not _same(r[f], new[k][f])]
        if fields:
            diffs.append(f"{k}: {', '.join(fields)} differ")
    for d in diffs[:50]:
        print(d)
    print(f"{n} rows compared, {len(diffs)} differ")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
