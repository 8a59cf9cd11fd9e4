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


def make_knob(kind: str, profile: Profile, via: str | None = None):
    if kind == "cgroup":
        from alert.system.registry import KnobOptions
        from alert.system.registry import make_knob as build

        return build("cgroup", KnobOptions(period_us=4000, via=via))
    return SimulatedKnob([s.value for s in profile.settings], unit=profile.unit)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default=str(ROOT / "examples" / "cpu-quota.json"))
    ap.add_argument("--goal", default=None, help="default: min-energy at 2x the fastest latency, accuracy 0.88")
    ap.add_argument("--knob", choices=["simulated", "cgroup"], default="simulated")
    ap.add_argument("--via", default=None, metavar="SOCKET", help="apply the cgroup knob through alert knobd")
    ap.add_argument("--inputs", type=int, default=2000)
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)

    profile = Profile.load(args.profile)
    fastest = float(profile.t_prof.min())
    goal = parse_goal(args.goal or f"min-energy:deadline={4 * fastest:.6f},accuracy=0.88")
    if args.inputs < 1:
        ap.error("--inputs must be >= 1")
    knob = make_knob(args.knob, profile, args.via)
    meter = CpuTimeMeter(watts_per_core=10.0, idle_power=2.0)
    rows = {}
    with KnobGuard([knob]):
        # ---- bare loop
        ctl = Controller(profile, goal, ControllerConfig(overhead=0.0))
        d = ctl.decide()
        knob.apply(d.setting_value)
        lat = float(profile.t_prof[d.candidate, d.setting])
        times, cpu = np.empty(args.inputs), np.empty(args.inputs)
        for i in range(args.inputs):
            c0, t0 = time.thread_time(), time.perf_counter()
            d = ctl.decide()
            knob.apply(d.setting_value)
            meter.start()
            r = meter.stop()
            ctl.observe(latency=lat, energy=r.energy_j)
            times[i], cpu[i] = time.perf_counter() - t0, time.thread_time() - c0
        rows["loop"] = times
        cpu_rows = {"loop": cpu}
        # ---- the same calls one by one, to show where the time goes
        top2 = sorted(s.value for s in profile.settings)[-2:]
        flip = {"i": 0}

        def change() -> None:
            flip["i"] ^= 1
            knob.apply(top2[flip["i"]])

        parts = {"decide": lambda: ctl.decide(), "apply(same)": lambda: knob.apply(d.setting_value),
                 "apply(change)": change,
                 "meter": lambda: (meter.start(), meter.stop()),
                 "observe": lambda: ctl.observe(latency=lat, energy=0.01)}
        for name, fn in parts.items():
            t, c = np.empty(args.inputs), np.empty(args.inputs)
            for i in range(args.inputs):
                c0, t0 = time.thread_time(), time.perf_counter()
                fn()
                t[i], c[i] = time.perf_counter() - t0, time.thread_time() - c0
            rows[name], cpu_rows[name] = t, c
        # ---- Runtime.step with an instant runner (everything but the model)
        ctl = Controller(profile, goal, ControllerConfig(overhead=0.0))
        instant = {m.name: (lambda x, s, dl, ends=None: RunOutput(None, s, [0])) for m in profile.models}
        rt = Runtime(ctl, knob, meter, instant)
        t, c = np.empty(args.inputs), np.empty(args.inputs)
        for i in range(args.inputs):
            c0 = time.thread_time()
            t[i] = rt.step(None, 0).overhead_s
            c[i] = time.thread_time() - c0
        rows["runtime"], cpu_rows["runtime"] = t, c
    out = {"profile": args.profile, "knob": knob.kind, "via": args.via, "meter": meter.method, "inputs": args.inputs,
           "fastest_model_latency_s": fastest, "goal": str(goal), "results": {}}
    print(f"profile {profile.name}: {profile.shape[0]} candidates x {profile.shape[1]} settings; "
          f"fastest configuration {fastest * 1e3:.3f} ms; knob {knob.kind}{' via ' + args.via if args.via else ''}; "
          f"{args.inputs} inputs")
    print("wall: elapsed time (includes waits for other processes and quota throttling); "
          "cpu: this thread's CPU time")
    print(f"{'path':<12}{'wall med us':>12}{'wall p95 us':>12}{'cpu med us':>11}{'cpu p95 us':>11}"
          f"{'wall med % fastest':>20}{'cpu med %':>10}")
    for name, t in rows.items():
        c = cpu_rows[name]
        med, p95, cmed, cp95 = np.median(t), np.percentile(t, 95), np.median(c), np.percentile(c, 95)
        out["results"][name] = {"wall_median_s": med, "wall_p95_s": p95, "wall_max_s": t.max(), "cpu_median_s": cmed,
                                "cpu_p95_s": cp95, "wall_median_pct_of_fastest": 100 * med / fastest,
                                "cpu_median_pct_of_fastest": 100 * cmed / fastest}
        print(f"{name:<12}{med * 1e6:>12.1f}{p95 * 1e6:>12.1f}{cmed * 1e6:>11.1f}{cp95 * 1e6:>11.1f}"
              f"{100 * med / fastest:>19.2f}%{100 * cmed / fastest:>9.2f}%")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
