"""Estimators and selection options side by side, scored with the paper's rules.

For every trace and task (min-energy, min-error; ``metrics.trace_grid(..., n_deadlines=8, n_goals=5)``)
each variant replays ``alert.Controller`` (``schemes.run_controller``) and is scored like the suite:
the mean over the settings neither it nor OracleStatic violates of its objective normalised to
OracleStatic's (``normalized``), the settings it violates (``violated``: all of them, including
those OracleStatic violates, as ``measured.bar_checks`` counts) and OracleStatic's own violated
count. Oracle_State is added on the simulated traces (the issue's bar there).

Trace sets (``--sets``):

* ``tune``: ``examples/measured-cpu`` default and memory, costs energy and cpu-share: the only
  data the defaults were tuned on;
* ``measured``: ``examples/measured-cpu`` compute (both costs), ``examples/measured-gpu``
  default, memory, compute and ``examples/measured-cpu-drift`` default, drift-memory,
  drift-compute (both costs): reported, never tuned on;
* ``sim``: the simulated paper-shaped suite (``scenarios.cells()`` × workloads × variants, 300
  inputs, seed 0, as ``alert reproduce`` generates it).

    python benchmarks/estimator_eval.py --sets tune --json tune.json
    python benchmarks/estimator_eval.py --sets measured,sim --variants paper,robust
    python benchmarks/estimator_eval.py --variant 'mine={"estimator": "robust", "chance": 0.05}'

Power budgets of the min-error cells (``--budgets``): ``auto`` (the default) takes them as
``alert reproduce`` does, from what each recorded trace's configurations reach
(``metrics.reachable_power_budgets``) and from the profile's power range for the simulated traces,
so that a variant is scored on the grid the report's bar is judged on; ``profile`` takes the
profile's range everywhere (``metrics.grid``, Table 3), ``trace`` the trace's everywhere. The
min-energy cells are the same under all three.

A variant is a JSON object of ``ControllerConfig`` fields (``estimator``, ``estimator_params``,
``chance``, ``aci_step``, ``fallback``, ...) plus ``pr_th`` (the goal's Pr_th, as ALERT_Pr90).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alert.controller import DEFAULT_OPTIONS  # noqa: E402
from alert.estimators.robust import ProfileDepartureWarning  # noqa: E402
from alert.evaluation import measured, metrics, report, scenarios, schemes  # noqa: E402
from alert.evaluation.replay import deliver, outcomes  # noqa: E402
from alert.evaluation.traces import Trace  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {
    "paper": {"estimator": "paper"},                                   # ControllerConfig(estimator="paper")
    "paper_Pr90": {"estimator": "paper", "pr_th": 0.9},                # the suite's ALERT_Pr90
    "paper+options": {**DEFAULT_OPTIONS, "estimator": "paper"},        # the selection options, paper's filter
    "robust": dict(DEFAULT_OPTIONS),                                   # the measured default
    "robust-config": {**DEFAULT_OPTIONS, "estimator": "robust-config"},
    "robust-noaci": {**DEFAULT_OPTIONS, "aci_step": 0.0},
    "robust-expect": {"estimator": "robust"},                          # paper's selection rules
    "robust-always": {**DEFAULT_OPTIONS, "estimator_params": {"apply": "always"}},
    "robust-chance10": {**DEFAULT_OPTIONS, "chance": 0.1},
}
DEFAULT_VARIANTS = ("paper", "paper_Pr90", "robust", "robust-config")


def measured_traces(sets: Iterable[str]) -> list[tuple[str, Trace]]:
    """(label, trace) of the recorded platforms in the requested sets, costs applied."""
    out = []
    want = set(sets)
    cpu = measured.load_platform(ROOT / "examples" / "measured-cpu")
    gpu = measured.load_platform(ROOT / "examples" / "measured-gpu")
    drift = measured.load_platform(ROOT / "examples" / "measured-cpu-drift")
    for plat, name in ((cpu, "cpu"), (gpu, "gpu"), (drift, "drift")):
        if plat is None:
            continue
        for w, tr in plat.traces.items():
            tune = name == "cpu" and w in ("default", "memory")
            if ("tune" in want and tune) or ("measured" in want and not tune):
                for cost in plat.costs:
                    out.append((f"{name}/{w}/{cost}", measured.with_cost(tr, cost)))
    return out


def sim_traces(n_inputs: int = 300, seed: int = 0) -> list[tuple[str, Trace]]:
    return [(f"sim/{v}/{p}-{t}/{w}", scenarios.generate(p, t, w, v, n_inputs, seed))  # type: ignore[arg-type]
            for v in scenarios.VARIANTS for (p, t) in scenarios.cells() for w in scenarios.WORKLOADS]


def run_variant(ctx: schemes.SchemeContext, spec: dict[str, Any]) -> schemes.Choices:
    opts = dict(spec)
    if "estimator_params" in opts:
        opts["estimator_params"] = dict(opts["estimator_params"])
    return schemes.run_controller(ctx, **opts)


def budget_grid(label: str, budgets: str) -> str:
    """The budget grid of a trace (``metrics.resolve_budget_grid``, as ``alert reproduce``): ``auto``
    is ``trace`` for a recorded trace and ``profile`` for a simulated one (``sim/...``)."""
    return metrics.resolve_budget_grid(budgets, recorded=not label.startswith("sim/"))


def evaluate_trace(label: str, trace: Trace, variants: dict[str, dict[str, Any]], n_deadlines: int = 8,
                   n_goals: int = 5, budgets: str = "auto") -> list[dict[str, Any]]:
    """Rows (one per task and variant, plus OracleStatic and, on simulated traces, Oracle_State);
    ``budgets``: the min-error power budgets (:func:`budget_grid`)."""
    warnings.simplefilter("ignore", ProfileDepartureWarning)
    sim = label.startswith("sim/")
    refs = ["OracleStatic"] + (["Oracle_State"] if sim else [])
    rows = []
    grid_name = budget_grid(label, budgets)
    for task in metrics.TASKS:
        grid = metrics.trace_grid(trace, task, n_deadlines, n_goals, budgets=grid_name)  # type: ignore[arg-type]
        res: dict[str, list[metrics.SettingResult]] = {n: [] for n in [*refs, *variants]}
        secs = {n: 0.0 for n in variants}
        cache: dict[float, Any] = {}
        for c in grid:
            out = cache.get(c.deadline)
            if out is None:
                out = cache[c.deadline] = outcomes(trace, c.deadline)
            ctx = schemes.SchemeContext(trace, out, c, trace.profile)
            for r in refs:
                ch = schemes.get(r)(ctx)
                res[r].append(metrics.evaluate(deliver(out, ch.candidate, ch.setting), c))
            for name, spec in variants.items():
                t0 = time.perf_counter()
                ch = run_variant(ctx, spec)
                secs[name] += time.perf_counter() - t0
                res[name].append(metrics.evaluate(deliver(out, ch.candidate, ch.setting), c))
        base = res["OracleStatic"]
        for name, r in res.items():
            s = metrics.summarise(r, base)
            rows.append({"trace": label, "task": task, "scheme": name, "budgets": grid_name,
                         "normalized": None if not np.isfinite(s.normalized) else round(s.normalized, 6),
                         "violated": int(sum(x.violated for x in r)), "violated_usable": s.violated,
                         "baseline_violated": s.baseline_violated, "settings": s.settings,
                         "miss_rate": round(float(np.mean([x.miss_rate for x in r])), 5),
                         "seconds": round(secs.get(name, 0.0), 3)})
    return rows


def _job(args: tuple[str, Trace, dict[str, dict[str, Any]], int, int, str]) -> list[dict[str, Any]]:
    return evaluate_trace(*args)


def bar(row: dict[str, Any], label: str) -> float:
    """The issue's bar for a recorded cell (``report.bar_limit``): quiet (``default``) 1.02,
    contended min-energy 1.00, contended min-error 1.03."""
    return report.bar_limit(label.split("/")[1], row["task"])


def harmonic(rows: list[dict[str, Any]]) -> float:
    return metrics.harmonic_mean([r["normalized"] for r in rows if r["normalized"] is not None])


def print_table(rows: list[dict[str, Any]], names: list[str]) -> None:
    idx = {(r["trace"], r["task"], r["scheme"]): r for r in rows}
    traces = list(dict.fromkeys(r["trace"] for r in rows))
    cols = names + [n for n in ("Oracle_State",) if any(r["scheme"] == n for r in rows)]
    head = f"{'trace':<34}{'task':<11}" + "".join(f"{n[:16]:>17}" for n in cols) + f"{'OS viol':>9}"
    print(head)
    for tr in traces:
        if tr.startswith("sim/"):
            continue
        for task in metrics.TASKS:
            base = idx.get((tr, task, "OracleStatic"))
            if base is None:
                continue
            cells = []
            for n in cols:
                r = idx.get((tr, task, n))
                if r is None:
                    cells.append(f"{'-':>17}")
                    continue
                v = "n/a" if r["normalized"] is None else f"{r['normalized']:.3f}"
                ok = (r["normalized"] is not None and r["normalized"] <= bar(r, tr) + 1e-9
                      and r["violated"] <= base["baseline_violated"] + 1)
                cells.append(f"{v + ' (' + str(r['violated']) + ')' + ('' if ok else '*'):>17}")
            print(f"{tr:<34}{task:<11}" + "".join(cells) + f"{base['baseline_violated']:>9}")
    sims = [r for r in rows if r["trace"].startswith("sim/")]
    if sims:
        print("\nsimulated suite: harmonic mean normalised to OracleStatic (total violated settings, "
              "OracleStatic's own)")
        for task in metrics.TASKS:
            parts = []
            for n in cols:
                sub = [r for r in sims if r["task"] == task and r["scheme"] == n]
                if sub:
                    parts.append(f"{n}: {harmonic(sub):.3f} ({sum(r['violated'] for r in sub)})")
            base_v = sum(r["baseline_violated"] for r in sims if r["task"] == task and r["scheme"] == "OracleStatic")
            print(f"  {task:<11} " + "; ".join(parts) + f"; OracleStatic violates {base_v}")
    print("\n'*': misses the issue's bar (quiet <= 1.02, contended min-energy <= 1.00, min-error <= 1.03, "
          "violated <= OracleStatic's + 1); (n): settings violated")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="tune", help="comma-separated: tune, measured, sim (default tune)")
    ap.add_argument("--variants", default=",".join(DEFAULT_VARIANTS),
                    help=f"comma-separated built-in variants: {', '.join(VARIANTS)}")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                    help="an extra variant: ControllerConfig fields as JSON (repeatable)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (one trace each)")
    ap.add_argument("--sim-inputs", type=int, default=300)
    ap.add_argument("--grid", default="8x5", help="DEADLINESxGOALS of metrics.grid (default 8x5, the suite's)")
    ap.add_argument("--budgets", default="auto", choices=("auto", *metrics.BUDGET_GRIDS),
                    help="power budgets of the min-error cells: auto (default; as alert reproduce: the trace's "
                         "reach for recorded traces, the profile's range for simulated ones), profile or trace")
    ap.add_argument("--only", default="", help="comma-separated substrings: keep the traces whose label has one")
    ap.add_argument("--progress", action="store_true", help="print each trace's rows to stderr as it finishes")
    ap.add_argument("--json", metavar="PATH", help="write every row as JSON")
    args = ap.parse_args(argv)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    bad = [s for s in sets if s not in ("tune", "measured", "sim")]
    if bad:
        ap.error(f"--sets: unknown set(s) {bad}; use tune, measured, sim")
    variants: dict[str, dict[str, Any]] = {}
    for n in filter(None, (v.strip() for v in args.variants.split(","))):
        if n not in VARIANTS:
            ap.error(f"--variants: unknown variant {n!r}; built-in: {', '.join(VARIANTS)}")
        variants[n] = VARIANTS[n]
    for v in args.variant:
        name, eq, spec = v.partition("=")
        try:
            variants[name] = json.loads(spec) if eq else {}
        except json.JSONDecodeError as e:
            ap.error(f"--variant {name}: not JSON ({e})")
    traces = measured_traces(sets)
    if "sim" in sets:
        traces += sim_traces(args.sim_inputs)
    only = [o for o in args.only.split(",") if o]
    try:
        nd, ng = (int(v) for v in args.grid.lower().split("x"))
    except ValueError:
        ap.error(f"--grid: expected e.g. 8x5, got {args.grid!r}")
    jobs = [(label, tr, variants, nd, ng, args.budgets) for label, tr in traces if not only or any(o in label for o in only)]
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    def progress(r: list[dict[str, Any]]) -> None:
        if args.progress:
            for x in r:
                print(f"  {x['trace']} {x['task']} {x['scheme']}: {x['normalized']} ({x['violated']}; "
                      f"OracleStatic {x['baseline_violated']})", file=sys.stderr, flush=True)

    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as ex:
            for r in ex.map(_job, jobs):
                progress(r)
                rows += r
    else:
        for j in jobs:
            r = _job(j)
            progress(r)
            rows += r
    print_table(rows, list(variants))
    print(f"({time.perf_counter() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"variants": variants, "sets": sets, "budgets": args.budgets,
                                                "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
