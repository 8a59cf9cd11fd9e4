"""How fast the robust estimator's change points follow a shift, and how often they fire on noise.

The robust estimator (``alert.estimators.robust``) starts a new regime when a CUSUM on robust
z-scores of the log slowdown passes ``cusum_h``; with ``confirm_h`` an alarm raised by outliers
with ordinary observations between them is not taken as a change until the sum passes
``confirm_h`` × ``cusum_h``. This script measures what that costs and buys, one configuration
profiled at 1 s (the latency is the slowdown), 100 quiet inputs (log-normal noise of sd 0.05)
before each shift:

* ``steady``: every input shifts by ``d`` in log: inputs after the shift until the first change
  point;
* ``intermittent``: one input in ``p`` is 2x slower (+0.7 in log), the others as before: inputs
  until the first change point, and until Pr[latency ≤ e^0.35] falls under 0.9, i.e. until the
  belief shows the slow inputs (the true value is 1 − 1/p);
* ``noise``: no shift, 3000 inputs of normal noise, of Student's t with 3 degrees of freedom
  (sd 0.05 scale), or with 5 % of the inputs 2x slower: change points per 1000 inputs.

    python benchmarks/change_detection.py                         # confirm_h 1 (before) and 2 (the default)
    python benchmarks/change_detection.py --confirm-h 1,1.5,2,4 --seeds 10
    python benchmarks/change_detection.py --json change.json      # the table as JSON too

Each cell is the median / 90th percentile / maximum over the seeds ("never": not within the 200
inputs after the shift, counted in ``never``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np

from alert.estimators.robust import RobustEstimator

T1 = np.array([[1.0]])
SIGMA, QUIET, AFTER, NOISE_INPUTS = 0.05, 100, 200, 3000
STEADY = (0.1, 0.05, -0.05, -0.1)
EVERY = (2, 3, 4, 6)
SLOW = 0.7  # log of the slow inputs' factor (2x)


def follow(values: np.ndarray, confirm_h: float, shift_at: int) -> tuple[int | None, int | None]:
    """Feed ``values`` (log slowdowns); return the inputs after ``shift_at`` until the first change
    point and until Pr[latency ≤ e^(SLOW/2)] < 0.9 (None: not within the values)."""
    est = RobustEstimator(confirm_h=confirm_h)
    est.bind(T1)
    changed = seen = None
    for i, v in enumerate(values.tolist()):
        before = est.summary()["changes"]
        est.update(math.exp(v), 1.0, (0, 0))
        if i < shift_at:
            continue
        if changed is None and est.summary()["changes"] > before:
            changed = i - shift_at
        if seen is None and float(est.prob_within(math.exp(SLOW / 2), T1)[0, 0]) < 0.9:
            seen = i - shift_at
    return changed, seen


def spread(xs: list[int | None]) -> dict[str, Any]:
    got = [x for x in xs if x is not None]
    if not got:
        return {"median": None, "p90": None, "max": None, "never": len(xs)}
    return {"median": float(np.median(got)), "p90": float(np.percentile(got, 90)), "max": int(max(got)),
            "never": len(xs) - len(got)}


def cases(confirm_hs: list[float], seeds: int) -> list[dict[str, Any]]:
    out = []
    for h in confirm_hs:
        for d in STEADY:
            runs = [follow(np.random.default_rng(s).normal(0, SIGMA, QUIET + AFTER)
                           + np.r_[np.zeros(QUIET), np.full(AFTER, d)], h, QUIET)[0] for s in range(seeds)]
            out.append({"confirm_h": h, "case": "steady", "shift": d, "to_change": spread(runs)})
        for p in EVERY:
            slow = np.r_[np.zeros(QUIET), [SLOW if i % p == 0 else 0.0 for i in range(AFTER)]]
            runs2 = [follow(np.random.default_rng(s).normal(0, SIGMA, QUIET + AFTER) + slow, h, QUIET)
                     for s in range(seeds)]
            out.append({"confirm_h": h, "case": "intermittent", "every": p,
                        "to_change": spread([r[0] for r in runs2]), "to_belief": spread([r[1] for r in runs2])})
        for kind in ("normal", "t3", "5% slow"):
            per_k = []
            for s in range(seeds):
                rng = np.random.default_rng(1000 + s)
                if kind == "normal":
                    v = rng.normal(0, SIGMA, NOISE_INPUTS)
                elif kind == "t3":
                    v = SIGMA * rng.standard_t(3, NOISE_INPUTS)
                else:
                    v = rng.normal(0, SIGMA, NOISE_INPUTS) + np.where(rng.random(NOISE_INPUTS) < 0.05, SLOW, 0.0)
                est = RobustEstimator(confirm_h=h)
                est.bind(T1)
                for x in v.tolist():
                    est.update(math.exp(x), 1.0, (0, 0))
                per_k.append(1000.0 * est.summary()["changes"] / NOISE_INPUTS)
            out.append({"confirm_h": h, "case": "noise", "noise": kind, "changes_per_1000": float(np.mean(per_k))})
    return out


def _cell(s: dict[str, Any]) -> str:
    if s["median"] is None:
        return "never"
    return f"{s['median']:g} / {s['p90']:g} / {s['max']}" + (f" ({s['never']} never)" if s["never"] else "")


def _floats(text: str) -> list[float]:
    try:
        out = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers >= 1, got {text!r}") from None
    if not out or not all(math.isfinite(v) and v >= 1 for v in out):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers >= 1, got {text!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--confirm-h", type=_floats, default=[1.0, 2.0],
                    help="comma-separated values of the robust estimator's confirm_h (>= 1; 1: every alarm is a change)")
    ap.add_argument("--seeds", type=int, default=30, help="seeds per case (1-1000)")
    ap.add_argument("--json", default=None, metavar="PATH", help="also write the cases as JSON")
    args = ap.parse_args(argv)
    if not 1 <= args.seeds <= 1000:
        ap.error("--seeds must be in [1, 1000]")
    rows = cases(args.confirm_h, args.seeds)
    print(f"{'confirm_h':>9}  {'case':<26} inputs to the first change (median / p90 / max)   to the belief")
    for r in rows:
        if r["case"] == "steady":
            print(f"{r['confirm_h']:>9g}  {'steady shift ' + format(r['shift'], '+.2f'):<26} {_cell(r['to_change']):<40}")
        elif r["case"] == "intermittent":
            print(f"{r['confirm_h']:>9g}  {'2x slow, 1 input in ' + str(r['every']):<26} {_cell(r['to_change']):<40}"
                  f"   {_cell(r['to_belief'])}")
        else:
            print(f"{r['confirm_h']:>9g}  {'noise: ' + r['noise']:<26} change points per 1000 inputs: "
                  f"{r['changes_per_1000']:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seeds": args.seeds, "sigma": SIGMA, "cases": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
