"""The own-model case under stress: does the controller lock onto the small model?

The scenario of ``tests/test_own_model_fixed_cost.py`` (the issue's own-model case), with the
fixed per-call cost, a co-runner burst and the input count as parameters: two models profiled
back to back, the small one at 0.068 ms, the big one at 12 ms (22.2 ms at the smaller quota).
Served one input at a time, every call pays ``fixed`` seconds more (the small model then runs
(0.068 ms + fixed) / 0.068 ms times its profile: ``ratio`` in the table), the big one takes
9.7-14.7 ms (1.5 % of its inputs twice that, past the 20 ms deadline), and during a burst a
co-runner makes the compute (not the fixed cost) 1.9 times slower. Goal: max-accuracy with a
20 ms deadline.

Each case replays the controller input by input and compares it with the best fixed
configuration in hindsight (highest delivered accuracy, then fewest misses). The issue's live bar:
at least that accuracy with no more misses, for every seed. A run *locks on* when, over its last
100 inputs (after every burst of the default grid), it serves the big model for less than half
of them while the big model is the best fixed configuration: the failure the issue reports.

    python benchmarks/own_model_stress.py                           # robust and paper, the default grid
    python benchmarks/own_model_stress.py --fixed-ms 0.07,0.32 --bursts none,20-35 --seeds 0,1
    python benchmarks/own_model_stress.py --json stress.json        # the table as JSON too
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from typing import Any

import numpy as np

from alert import Controller, ControllerConfig, MaximizeAccuracy, Profile
from alert.estimators.robust import ProfileDepartureWarning

DEADLINE = 0.020
SMALL, BIG = 0, 1
Q = np.array([0.80, 0.87])
Q_FAIL = 0.1
T_SMALL = 0.068e-3


def profile(t_small: float = T_SMALL) -> Profile:
    """The back-to-back profile of the two models at one and two cores (the small one at ``t_small``)."""
    return Profile.from_dict({"format": "alert-profile", "version": 1, "q_fail": Q_FAIL, "models": [
        {"name": "small", "kind": "traditional", "accuracy": float(Q[SMALL]), "latency": [t_small, t_small],
         "power": [1.0, 2.0]},
        {"name": "big", "kind": "traditional", "accuracy": float(Q[BIG]), "latency": [22.2e-3, 12e-3],
         "power": [1.0, 2.0]}],
        "settings": [{"name": "1c", "value": 1.0, "unit": "cores", "idle_power": 1.0},
                     {"name": "2c", "value": 2.0, "unit": "cores", "idle_power": 2.0}]})


def live_latencies(n: int, seed: int, burst: tuple[int, int] | None = None, fixed: float = 0.32e-3,
                   t_small: float = T_SMALL) -> np.ndarray:
    """Per input, the latency every (model, setting) would take: (n, 2, 2). ``burst``: the inputs
    during which a co-runner makes the compute 1.9 times slower (the fixed per-call cost stays)."""
    rng = np.random.default_rng(seed)
    slow = np.ones(n)
    if burst:
        slow[burst[0]:burst[1]] = 1.9
    big = rng.uniform(9.7e-3, 14.7e-3, n) * np.where(rng.random(n) < 0.015, 2.0, 1.0)
    lat = np.empty((n, 2, 2))
    lat[:, SMALL, :] = (t_small * rng.lognormal(0.0, 0.1, n) * slow + fixed)[:, None]
    lat[:, BIG, 1] = big * slow + fixed
    lat[:, BIG, 0] = 1.85 * big * slow + fixed
    return lat


def serve(cfg: ControllerConfig, lat: np.ndarray, t_small: float = T_SMALL
          ) -> tuple[float, float, np.ndarray, Controller]:
    """Run the controller input by input: (delivered accuracy, miss rate, candidate per input, controller)."""
    ctl = Controller(profile(t_small), MaximizeAccuracy(deadline=DEADLINE), cfg)
    acc, miss, chosen = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProfileDepartureWarning)
        for n in range(lat.shape[0]):
            d = ctl.decide()
            t = float(lat[n, d.candidate, d.setting])
            ok = t <= DEADLINE
            acc.append(Q[d.candidate] if ok else Q_FAIL)
            miss.append(not ok)
            chosen.append(d.candidate)
            ctl.observe(latency=t)
    return float(np.mean(acc)), float(np.mean(miss)), np.array(chosen), ctl


def best_fixed(lat: np.ndarray) -> tuple[float, float]:
    """The best fixed configuration in hindsight: (delivered accuracy, miss rate), highest accuracy
    first, then fewest misses."""
    out = []
    for c in (SMALL, BIG):
        for j in (0, 1):
            ok = lat[:, c, j] <= DEADLINE
            out.append((float(np.mean(np.where(ok, Q[c], Q_FAIL))), float(np.mean(~ok))))
    return max(out, key=lambda am: (am[0], -am[1]))


def case(estimator: str, fixed: float, burst: tuple[int, int] | None, seeds: list[int], inputs: int,
         t_small: float = T_SMALL) -> dict[str, Any]:
    """One (estimator, fixed cost, burst) case over the seeds."""
    runs = []
    for seed in seeds:
        lat = live_latencies(inputs, seed, burst, fixed, t_small)
        acc, miss = best_fixed(lat)
        got, got_miss, chosen, _ = serve(ControllerConfig(estimator=estimator, overhead=0.0), lat, t_small)
        big_best = float(np.mean(np.where(lat[:, BIG, 1] <= DEADLINE, Q[BIG], Q_FAIL))) >= acc - 1e-12
        runs.append({"seed": seed, "accuracy_gain": got - acc, "miss_change": got_miss - miss,
                     "big_share": float(np.mean(chosen == BIG)),
                     "meets": got >= acc - 1e-9 and got_miss <= miss + 1e-9,
                     "locked": big_best and float(np.mean(chosen[-100:] == BIG)) < 0.5})
    return {"estimator": estimator, "fixed_ms": fixed * 1e3, "small_ms": t_small * 1e3, "ratio": (t_small + fixed) / t_small,
            "burst": None if burst is None else list(burst), "inputs": inputs, "runs": runs,
            "meets": all(r["meets"] for r in runs), "locked": sum(r["locked"] for r in runs)}


def _floats(text: str) -> list[float]:
    try:
        out = [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not out or any(not (0 <= v < 1e3) for v in out):
        raise argparse.ArgumentTypeError(f"expected numbers of milliseconds in [0, 1000), got {text!r}")
    return out


def _bursts(text: str) -> list[tuple[int, int] | None]:
    out: list[tuple[int, int] | None] = []
    for t in (t.strip() for t in text.split(",") if t.strip()):
        if t == "none":
            out.append(None)
            continue
        a, sep, b = t.partition("-")
        if not (sep and a.isdigit() and b.isdigit() and int(a) < int(b)):
            raise argparse.ArgumentTypeError(f"a burst is none or FIRST-END (input indices, FIRST < END), got {t!r}")
        out.append((int(a), int(b)))
    if not out:
        raise argparse.ArgumentTypeError("expected at least one burst (none or FIRST-END)")
    return out


def _ints(text: str) -> list[int]:
    if not all(t.strip().isdigit() for t in text.split(",")):
        raise argparse.ArgumentTypeError(f"expected comma-separated integers >= 0, got {text!r}")
    return [int(t) for t in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--estimator", default="robust,paper", help="comma-separated registered estimators")
    ap.add_argument("--fixed-ms", type=_floats, default=_floats("0,0.03,0.07,0.13,0.2,0.32,1"),
                    help="fixed per-call costs in ms (the small model runs (0.068 + fixed) / 0.068 x its profile)")
    ap.add_argument("--bursts", type=_bursts, default=_bursts("none,20-35,20-80,100-160"),
                    help="co-runner bursts: none or FIRST-END input indices")
    ap.add_argument("--small-ms", type=float, default=T_SMALL * 1e3,
                    help="the small model's profiled latency in ms (default: the issue's %(default)s; from about "
                         "0.12 ms on it is no longer tiny beside the big model, alert.estimators.robust)")
    ap.add_argument("--seeds", type=_ints, default=[0, 1, 2], help="comma-separated seeds")
    ap.add_argument("--inputs", type=int, default=300, help="inputs per run")
    ap.add_argument("--json", default=None, metavar="PATH", help="also write the cases as JSON")
    args = ap.parse_args(argv)
    from alert.estimators import ESTIMATORS

    names = [e.strip() for e in args.estimator.split(",") if e.strip()]
    unknown = [e for e in names if e not in ESTIMATORS]
    if unknown or not names:
        ap.error(f"--estimator: unknown {unknown}; registered: {sorted(ESTIMATORS)}")
    if not 0.001 <= args.small_ms <= 5.0:
        ap.error("--small-ms must be in [0.001, 5] (under the big model's 12 ms)")
    if not 150 <= args.inputs <= 100_000 or any(b is not None and b[1] > args.inputs for b in args.bursts):
        ap.error("--inputs must be in [150, 100000] and cover every burst")
    cases = [case(e, f * 1e-3, b, args.seeds, args.inputs, args.small_ms * 1e-3)
             for e in names for f in args.fixed_ms for b in args.bursts]
    print(f"{'estimator':>9} {'fixed ms':>8} {'ratio':>6} {'burst':>8}  per seed: accuracy vs best fixed / misses vs "
          "best fixed / share on the big model")
    for c in cases:
        burst = "none" if c["burst"] is None else "{}-{}".format(*c["burst"])
        runs = "  ".join(f"{r['accuracy_gain']:+.3f}/{r['miss_change']:+.3f}/{r['big_share']:.2f}" for r in c["runs"])
        print(f"{c['estimator']:>9} {c['fixed_ms']:8.2f} {c['ratio']:6.1f} {burst:>8}  {runs}"
              f"{'' if c['meets'] else '  *'}{'  L' * bool(c['locked'])}")
    for e in names:
        mine = [c for c in cases if c["estimator"] == e]
        print(f"{e}: {sum(c['meets'] for c in mine)} of {len(mine)} cases meet the live bar for every seed; "
              f"{sum(c['locked'] for c in mine)} of {sum(len(c['runs']) for c in mine)} runs lock on")
    print("('*': a seed delivers less accuracy or more misses than the best fixed configuration; 'L': a seed "
          "locks on, serving the small model for most of its last 100 inputs)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"deadline": DEADLINE, "small_ms": args.small_ms, "seeds": args.seeds, "cases": cases}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
