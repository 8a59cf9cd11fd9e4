"""Speed of the evaluation's replay: outcome tables, oracles, and per-input scheme replay.

For each trace size it times (median of repeats): building the N x C x L outcome tables for one
deadline, Oracle / OracleStatic / Oracle_State, and a full replay of ALERT (the library
controller, one decide + observe per input) and Sys-only.

    python benchmarks/replay_speed.py                # table
    python benchmarks/replay_speed.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable

from alert.evaluation import metrics, oracles, scenarios, schemes
from alert.evaluation.metrics import Constraint
from alert.evaluation.replay import outcomes


def _time(fn: Callable[[], object], repeats: int) -> float:
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def run(sizes: list[int], repeats: int) -> list[dict[str, float]]:
    return [_one(n, repeats) for n in sizes]


def _one(n: int, repeats: int) -> dict[str, float]:
    tr = scenarios.generate("cpu2", "image", "memory", "paper", n)
    ref = metrics.reference_latency(tr.profile)
    c = Constraint("min-energy", ref, accuracy=0.9)
    out = outcomes(tr, c.deadline)
    ctx = schemes.SchemeContext(tr, out, c, tr.profile)
    N, C, L = tr.shape
    row = {"inputs": N, "candidates": C, "settings": L,
           "outcomes_ms": 1e3 * _time(lambda: outcomes(tr, c.deadline), repeats),
           "oracle_ms": 1e3 * _time(lambda: oracles.oracle(out, c), repeats),
           "oracle_static_ms": 1e3 * _time(lambda: oracles.oracle_static(out, c), repeats),
           "oracle_state_ms": 1e3 * _time(lambda: oracles.oracle_state(out, c, tr.states()), repeats),
           "alert_ms": 1e3 * _time(lambda: schemes.get("ALERT")(ctx), max(1, repeats // 3)),
           "sys_only_ms": 1e3 * _time(lambda: schemes.get("Sys-only")(ctx), max(1, repeats // 3))}
    row["alert_us_per_input"] = 1e3 * row["alert_ms"] / N
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="150,300,1000")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--json", default=None, help="write the results to this JSON file")
    a = ap.parse_args()
    rows = run([int(s) for s in a.sizes.split(",")], a.repeats)
    cols = ["inputs", "candidates", "settings", "outcomes_ms", "oracle_ms", "oracle_static_ms", "oracle_state_ms",
            "alert_ms", "alert_us_per_input", "sys_only_ms"]
    print("  ".join(f"{c:>16}" for c in cols))
    for r in rows:
        print("  ".join(f"{r[c]:>16.3f}" if isinstance(r[c], float) else f"{r[c]:>16}" for c in cols))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": platform.platform(), "processor": platform.processor(), "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
