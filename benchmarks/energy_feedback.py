"""Prototype: the image replay feeds the controller each input's period energy, as the live runtime does.

``alert.live.runtime`` calls ``ctl.observe(latency, energy=..., stage=..., period=...)``; the image
replay (``schemes.run_controller``) calls ``ctl.observe(latency, idle_power=..., stage=...)``
without the energy. The default controller's ACI counts an input as a miss when it was late, fell
below the accuracy goal or passed the energy budget (``Controller._missed``), and it can only
see the last of these when it is given the energy. In the replay, a min-error goal's budget
misses are therefore invisible to ACI, which then believes the miss rate is low and raises the
allowed miss probability α (up to ``aci_range``'s 0.5), and ``chance_energy="quantile"`` then
reads the energy at a lower quantile: more budget misses.

This script registers ``ALERT_energy``: the default ``ControllerConfig()`` replayed exactly like
``ALERT`` but observing ``energy=`` the input's period energy from the outcome table (what the
runtime's meter measures), and runs it on the simulated suite (``--sim``) and on the recorded
platforms (``--measured DIR``, repeatable), writing ``results.json``-shaped rows for
``benchmarks/bar_check.py``:

    PYTHONPATH=src python benchmarks/energy_feedback.py --sim --out /tmp/efb-sim.json
    PYTHONPATH=src python benchmarks/energy_feedback.py --measured examples/measured-cpu --out /tmp/efb-cpu.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alert import outcome  # noqa: E402
from alert.controller import Controller, ControllerConfig  # noqa: E402
from alert.evaluation import measured, schemes, suite  # noqa: E402

NAME = "ALERT_energy"


def run_with_energy(ctx: schemes.SchemeContext) -> schemes.Choices:
    """``schemes.run_controller`` for ``ControllerConfig()`` (overhead 0), observing the energy too."""
    ctl = Controller(ctx.profile, ctx.constraint.goal(None), ControllerConfig(overhead=0.0))
    tp = ctx.trace.profile
    index = {c.label: c.index for c in tp.candidates}
    rowmap = [index[c.label] for c in ctl.profile.candidates]
    out, T = ctx.out, ctx.out.deadline
    N = ctx.trace.n_inputs
    cand, sett, xi = np.empty(N, dtype=np.intp), np.empty(N, dtype=np.intp), np.empty(N)
    for n in range(N):
        d = ctl.decide()
        c, j = rowmap[d.candidate], d.setting
        cand[n], sett[n] = c, j
        lat, row, stage = outcome.observation(tp, c, int(out.observed_cand[n, c, j]), float(out.observed[n, c, j]), T)
        idle = float(ctx.trace.idle_power[n, j]) if out.run_time[n, c, j] < T else None
        ctl.observe(lat, energy=float(out.energy[n, c, j]), idle_power=idle, stage=stage)
        xi[n] = lat / tp.t_prof[row, j]
    return schemes.Choices(cand, sett, xi)


def register() -> None:
    schemes.register(schemes.Scheme(NAME, "ALERT observing each input's period energy (prototype)",
                                    image=run_with_energy, suite=False), replace=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", action="store_true", help="the simulated suite (SuiteConfig(): 300 inputs, 8 x 5)")
    ap.add_argument("--measured", action="append", default=[], metavar="DIR", help="a recorded platform folder")
    ap.add_argument("--schemes", default=f"{NAME},ALERT,Oracle_State,Static_profile",
                    help="schemes to run (OracleStatic is always added)")
    ap.add_argument("--out", required=True, help="rows as JSON (results.json shape)")
    args = ap.parse_args(argv)
    register()
    warnings.simplefilter("ignore")
    names = tuple(s for s in args.schemes.split(",") if s)
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    if args.sim:
        for r in suite.run_suite(suite.SuiteConfig(schemes=names)):
            rows.append({**r, "measured": False})
    for d in args.measured:
        plat = measured.load_platform(d)
        if plat is None:
            ap.error(f"--measured {d}: no recorded platform there (profile.json and <workload>.npz)")
        rows += measured.reproduce_rows(plat, scheme_names=names)
    Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
    print(f"{len(rows)} rows in {args.out} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
