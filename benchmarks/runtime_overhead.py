"""The live runtime's own cost per input: decide + apply (unchanged) + meter start/stop + observe.

The issue asks for under 2 % of the fastest model's latency. Two measurements:

* ``loop``: the bare per-input calls (``ctl.decide``, ``knob.apply``, ``meter.start/stop``,
  ``ctl.observe``), timed together;
* ``decide``, ``apply(same)``, ``meter``, ``observe``: each call alone;
* ``runtime``: :meth:`alert.runtime.Runtime.step` with a runner that returns at once, whose
  record's ``overhead_s`` is everything but the model (this includes building the log record).

    PYTHONPATH=src python3 benchmarks/runtime_overhead.py [--profile examples/cpu-quota.json]
        [--knob simulated|cgroup] [--inputs 2000] [--json out.json]

``--knob cgroup`` uses the real cgroup quota knob (root; the process moves into a cgroup for the
duration and is moved back). The meter is the CPU-time model (this machine has no counter).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from alert.controller import Controller, ControllerConfig
from alert.goals import parse_goal
from alert.profile import Profile
from alert.runtime import RunOutput, Runtime
from alert.system.guard import KnobGuard
from alert.system.meters import CpuTimeMeter
from alert.system.simulated import SimulatedKnob

ROOT = Path(__file__).resolve().parent.parent


def make_knob(kind: str, profile: Profile):
    if kind == "cgroup":
        from alert.system.cgroup import CgroupConfig, CgroupCpuQuota

        return CgroupCpuQuota(CgroupConfig(period_us=4000))
    return SimulatedKnob([s.value for s in profile.settings], unit=profile.unit)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default=str(ROOT / "examples" / "cpu-quota.json"))
    ap.add_argument("--goal", default=None, help="default: min-energy at 2x the fastest latency, accuracy 0.88")
    ap.add_argument("--knob", choices=["simulated", "cgroup"], default="simulated")
    ap.add_argument("--inputs", type=int, default=2000)
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)

    profile = Profile.load(args.profile)
    fastest = float(profile.t_prof.min())
    goal = parse_goal(args.goal or f"min-energy:deadline={4 * fastest:.6f},accuracy=0.88")
    knob = make_knob(args.knob, profile)
    meter = CpuTimeMeter(watts_per_core=10.0, idle_power=2.0)
    rows = {}
    with KnobGuard([knob]):
        # ---- bare loop
        ctl = Controller(profile, goal, ControllerConfig(overhead=0.0))
        d = ctl.decide()
        knob.apply(d.setting_value)
        lat = float(profile.t_prof[d.candidate, d.setting])
        times = np.empty(args.inputs)
        for i in range(args.inputs):
            t0 = time.perf_counter()
            d = ctl.decide()
            knob.apply(d.setting_value)
            meter.start()
            r = meter.stop()
            ctl.observe(latency=lat, energy=r.energy_j)
            times[i] = time.perf_counter() - t0
        rows["loop"] = times
        # ---- the same calls one by one, to show where the time goes
        parts = {"decide": lambda: ctl.decide(), "apply(same)": lambda: knob.apply(d.setting_value),
                 "meter": lambda: (meter.start(), meter.stop()),
                 "observe": lambda: ctl.observe(latency=lat, energy=0.01)}
        for name, fn in parts.items():
            t = np.empty(args.inputs)
            for i in range(args.inputs):
                t0 = time.perf_counter()
                fn()
                t[i] = time.perf_counter() - t0
            rows[name] = t
        # ---- Runtime.step with an instant runner (everything but the model)
        ctl = Controller(profile, goal, ControllerConfig(overhead=0.0))
        instant = {m.name: (lambda x, s, dl, ends=None: RunOutput(None, s, [0])) for m in profile.models}
        rt = Runtime(ctl, knob, meter, instant)
        rows["runtime"] = np.array([rt.step(None, 0).overhead_s for _ in range(args.inputs)])
    out = {"profile": args.profile, "knob": knob.kind, "meter": meter.method, "inputs": args.inputs,
           "fastest_model_latency_s": fastest, "goal": str(goal), "results": {}}
    print(f"profile {profile.name}: {profile.shape[0]} candidates x {profile.shape[1]} settings; "
          f"fastest configuration {fastest * 1e3:.3f} ms; knob {knob.kind}; {args.inputs} inputs")
    print(f"{'path':<10}{'median us':>12}{'p95 us':>10}{'max us':>10}{'median % of fastest':>22}{'p95 %':>8}")
    for name, t in rows.items():
        med, p95, mx = np.median(t), np.percentile(t, 95), t.max()
        out["results"][name] = {"median_s": med, "p95_s": p95, "max_s": mx, "median_pct_of_fastest": 100 * med / fastest,
                                "p95_pct_of_fastest": 100 * p95 / fastest}
        print(f"{name:<10}{med * 1e6:>12.1f}{p95 * 1e6:>10.1f}{mx * 1e6:>10.1f}{100 * med / fastest:>21.2f}%"
              f"{100 * p95 / fastest:>7.2f}%")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
