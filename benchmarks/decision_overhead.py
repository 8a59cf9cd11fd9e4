"""Decision overhead of the controller: time of decide() + observe() per input.

Wall-clock time is what the deadline sees; CPU time of the thread is printed beside it because on
a busy machine the wall time also counts waiting for a core.

Cases: 10x10, 42x31 (the paper's scale: 42 DNNs, 31 power settings) and 100x100 configurations,
each with one 5-stage anytime model among the models (so 42 models give 46 candidates).

    python benchmarks/decision_overhead.py                          # table, the paper's estimator
    python benchmarks/decision_overhead.py --estimator paper,robust  # both, one after the other
    python benchmarks/decision_overhead.py --goal energy,accuracy    # both goals of the paper
    python benchmarks/decision_overhead.py --json     # {"cases": [{"models", "settings", "median_us", "p99_us", ...}]}

Goals: ``energy`` (the default) is MinimizeEnergy(deadline=0.1, accuracy=0.85), ``accuracy`` is
MaximizeAccuracy(deadline=0.1, power=60): the latter's objective q̂ needs Pr over every cell.

Each estimator runs with its preset's selection options (``alert.controller.PRESETS``):
``paper`` is ``ControllerConfig(estimator="paper")``, the paper's ALERT; ``robust`` is
``ControllerConfig()``, the project's default (chance constraint, ACI, safe fallback). Each case
names its ``estimator``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings

import numpy as np

from alert import Controller, ControllerConfig, MaximizeAccuracy, MinimizeEnergy, Profile
from alert.estimators import ESTIMATORS

STAGES = 5


def synthetic_profile(n_models: int, n_settings: int, seed: int = 0) -> Profile:
    rng = np.random.default_rng(seed)
    caps = np.linspace(20, 100, n_settings)
    speed = (caps / caps.max()) ** 0.6
    models = []
    for i in range(n_models - 1):
        work = rng.uniform(0.005, 0.2)
        models.append({"name": f"m{i}", "kind": "traditional", "accuracy": float(rng.uniform(0.6, 0.95)),
                       "latency": (work / speed).tolist()})
    ends = np.cumsum(rng.uniform(0.01, 0.05, STAGES))
    models.append({"name": "anytime", "kind": "anytime", "accuracy": np.linspace(0.7, 0.93, STAGES).tolist(),
                   "latency": (ends[:, None] / speed[None, :]).tolist()})
    return Profile.from_dict({"format": "alert-profile", "version": 1, "q_fail": 0.1, "models": models,
                              "settings": [{"name": f"{c:.1f}W", "value": float(c), "unit": "W",
                                            "idle_power": 5.0} for c in caps]})


def config_for(estimator: str) -> ControllerConfig:
    """The controller configuration benchmarked for ``estimator``."""
    return ControllerConfig(estimator=estimator, overhead="measured")


GOALS = {"energy": lambda: MinimizeEnergy(deadline=0.1, accuracy=0.85),
         "accuracy": lambda: MaximizeAccuracy(deadline=0.1, power=60.0)}


def measure(n_models: int, n_settings: int, inputs: int, warmup: int = 200, estimator: str = "paper",
            goal: str = "energy") -> dict:
    prof = synthetic_profile(n_models, n_settings)
    ctl = Controller(prof, GOALS[goal](), config_for(estimator))
    rng = np.random.default_rng(1)
    xi = np.exp(rng.normal(0.1, 0.2, warmup + inputs))
    wall = np.empty(inputs)
    cpu = np.empty(inputs)
    for n in range(warmup + inputs):
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        d = ctl.decide()
        ctl.observe(latency=float(prof.t_prof[d.candidate, d.setting] * xi[n]), idle_power=4.0)
        t1 = time.perf_counter_ns()
        c1 = time.thread_time_ns()
        if n >= warmup:
            wall[n - warmup] = (t1 - t0) / 1e3
            cpu[n - warmup] = (c1 - c0) / 1e3
    return {"estimator": estimator, "goal": goal, "models": n_models, "settings": n_settings, "candidates": prof.shape[0],
            "configurations": prof.shape[0] * prof.shape[1], "inputs": inputs,
            "median_us": float(np.median(wall)), "p99_us": float(np.percentile(wall, 99)),
            # CPU time of the calling thread: unaffected by waiting for a core on a busy machine
            "cpu_median_us": float(np.median(cpu)), "cpu_p99_us": float(np.percentile(cpu, 99))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", type=int, default=5000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--estimator", default="paper",
                    help=f"comma-separated registered estimators ({', '.join(sorted(ESTIMATORS))}); default paper")
    ap.add_argument("--sizes", default="10x10,42x31,100x100", help="comma-separated MODELSxSETTINGS cases")
    ap.add_argument("--goal", default="energy", help=f"comma-separated goals ({', '.join(GOALS)}); default energy")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.estimator.split(",") if n.strip()]
    unknown = [n for n in names if n not in ESTIMATORS]
    if unknown:
        ap.error(f"--estimator: unknown {unknown}; registered: {', '.join(sorted(ESTIMATORS))}")
    goals = [g.strip() for g in args.goal.split(",") if g.strip()]
    if not goals or any(g not in GOALS for g in goals):
        ap.error(f"--goal: expected a comma-separated list of {', '.join(GOALS)}, got {args.goal!r}")
    try:
        sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",")]
    except ValueError:
        ap.error(f"--sizes: expected e.g. 42x31, got {args.sizes!r}")
    warnings.simplefilter("ignore")  # profile-departure warnings of the synthetic profile
    cases = [measure(k, n_set, args.inputs, estimator=name, goal=g) for name in names for g in goals for k, n_set in sizes]
    if args.json:
        print(json.dumps({"cases": cases, "python": sys.version.split()[0], "numpy": np.__version__,
                          "machine": platform.machine()}))
        return 0
    print(f"{'estimator':>14}{'goal':>9}{'models':>7}{'settings':>9}{'configs':>9}{'median us':>11}{'p99 us':>9}"
          f"{'cpu median us':>15}{'cpu p99 us':>12}")
    for c in cases:
        print(f"{c['estimator']:>14}{c['goal']:>9}{c['models']:>7}{c['settings']:>9}{c['configurations']:>9}{c['median_us']:>11.1f}{c['p99_us']:>9.1f}"
              f"{c['cpu_median_us']:>15.1f}{c['cpu_p99_us']:>12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
