"""``benchmarks/estimator_eval.py`` scores a variant on the budget grid ``alert reproduce`` uses."""

from __future__ import annotations

import dataclasses

import numpy as np
from eval_helpers import tiny_profile, tiny_trace

from alert.evaluation import metrics


def _hot_trace():
    """A recording whose every configuration draws 3x its profiled power: the profile's budgets
    (Table 3's range) are out of its reach, as on the H100 recording."""
    prof = tiny_profile()
    rng = np.random.default_rng(0)
    tr = tiny_trace(np.broadcast_to(prof.t_prof, (40, 3, 2)) * rng.uniform(0.95, 1.05, (40, 3, 2)))
    return dataclasses.replace(tr, power=tr.power * 3.0, idle_power=tr.idle_power * 3.0)


def test_auto_budgets_are_the_trace_grid_for_recordings_and_the_profile_grid_for_simulations(benchmark_script):
    ev = benchmark_script("estimator_eval")
    assert ev.budget_grid("cpu/default/energy", "auto") == "trace"
    assert ev.budget_grid("sim/noisy/cpu1-image/default", "auto") == "profile"
    assert ev.budget_grid("sim/noisy/cpu1-image/default", "trace") == "trace"
    tr = _hot_trace()
    rows = {(r["task"], r["budgets"]): r for b in ("auto", "profile")
            for r in ev.evaluate_trace("gpu/default/energy", tr, {}, 3, 2, budgets=b) if r["scheme"] == "OracleStatic"}
    # the profile's budgets: only the loosest (T = 0.08 s, 20 W) is kept by a fixed configuration
    prof_row = rows[("min-error", "profile")]
    assert (prof_row["baseline_violated"], prof_row["settings"]) == (5, 6)
    # the trace's budgets (what alert reproduce scores recordings on): the same deadlines, budgets it
    # reaches, so only the two of T = 0.016 s, where no configuration is on time, stay out of reach
    trace_row = rows[("min-error", "trace")]
    assert trace_row["settings"] == len(metrics.trace_grid(tr, "min-error", 3, 2)) == 6
    assert trace_row["baseline_violated"] == 2
    # the min-energy cells do not depend on the budget grid
    assert rows[("min-energy", "trace")]["settings"] == rows[("min-energy", "profile")]["settings"]


def test_bar_is_the_reports_rule(benchmark_script):
    ev = benchmark_script("estimator_eval")
    row = {"task": "min-error"}
    assert ev.bar(row, "cpu/default/cpu-share") == 1.02          # quiet, either goal
    assert ev.bar(row, "drift/drift-memory/energy") == 1.03       # contended min-error
    assert ev.bar({"task": "min-energy"}, "gpu/memory/energy") == 1.00
