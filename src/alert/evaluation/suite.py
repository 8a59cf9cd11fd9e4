"""Run schemes over constraint grids and traces: one cell, or the whole paper-shaped suite.

A *cell* is (platform, task, workload) for one goal kind; its result per scheme is a
``metrics.CellSummary`` (normalised to OracleStatic, violations counted) and a
``metrics.FairSummary`` (the fair metrics). ``run_suite`` walks every cell of
``scenarios.cells()`` × workloads × variants and returns ``results.json`` rows
(:func:`cell_rows` builds the fields every row has; the measured platforms and the sentence task
use it too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alert.evaluation import metrics, scenarios, schemes
from alert.evaluation.metrics import Constraint, SettingResult
from alert.evaluation.replay import deliver, outcomes
from alert.evaluation.traces import Trace
from alert.profile import Profile

BASELINE = "OracleStatic"
#: the second normaliser: the best fixed configuration in hindsight that meets every input
STRICT_BASELINE = "OracleStatic_strict"


def suite_schemes() -> tuple[str, ...]:
    """The registered schemes ``alert reproduce`` runs by default (image replay, in the suite)."""
    return schemes.names("image", suite=True)


def fair_schemes() -> tuple[str, ...]:
    """The schemes whose common settings define the fair mean (registry table ``fair``)."""
    return schemes.names(report="fair")


@dataclass(frozen=True)
class SuiteConfig:
    """What ``alert reproduce`` runs. ``quick()`` is the reduced suite (shorter traces, smaller grids)."""

    variants: tuple[str, ...] = ("paper", "noisy")
    workloads: tuple[str, ...] = scenarios.WORKLOADS
    cells: tuple[tuple[str, str], ...] = field(default_factory=lambda: tuple(scenarios.cells()))
    schemes: tuple[str, ...] = field(default_factory=suite_schemes)
    n_inputs: int = 300
    n_deadlines: int = 8
    n_goals: int = 5
    seed: int = 0
    budgets: metrics.BudgetGrid = "profile"   # power budgets of min-error cells: see metrics.trace_grid

    @classmethod
    def quick(cls) -> SuiteConfig:
        return cls(n_inputs=150, n_deadlines=4, n_goals=3)

    def to_dict(self) -> dict[str, Any]:
        return {"variants": list(self.variants), "workloads": list(self.workloads),
                "cells": [list(c) for c in self.cells], "schemes": list(self.schemes),
                "n_inputs": self.n_inputs, "n_deadlines": self.n_deadlines, "n_goals": self.n_goals,
                "seed": self.seed, "budgets": self.budgets}


def run_settings(trace: Trace, constraints: Sequence[Constraint], scheme_names: Iterable[str],
                 profile: Profile | None = None) -> dict[str, list[SettingResult]]:
    """Every scheme on every constraint setting of one trace (outcomes computed once per deadline).
    The normalisers OracleStatic and OracleStatic_strict are always run."""
    names = list(scheme_names)
    for b in (BASELINE, STRICT_BASELINE):
        if b not in names:
            names.append(b)
    prof = profile or trace.profile
    runs = {n: schemes.get(n) for n in names}
    res: dict[str, list[SettingResult | None]] = {n: [None] * len(constraints) for n in names}
    by_deadline: dict[float, list[int]] = {}
    for i, c in enumerate(constraints):
        by_deadline.setdefault(c.deadline, []).append(i)
    for T, idx in by_deadline.items():
        outs = {True: outcomes(trace, T)}
        for i in idx:
            for n in names:
                pre = runs[n].preempt
                if pre not in outs:
                    outs[pre] = outcomes(trace, T, preempt=pre)
                ctx = schemes.SchemeContext(trace, outs[pre], constraints[i], prof)
                ch = runs[n](ctx)
                res[n][i] = metrics.evaluate(deliver(outs[pre], ch.candidate, ch.setting), constraints[i])
    return {n: [r for r in v if r is not None] for n, v in res.items()}


def summarise_cell(results: dict[str, list[SettingResult]]) -> dict[str, metrics.CellSummary]:
    base = results[BASELINE]
    return {n: metrics.summarise(r, base) for n, r in results.items()}


def cell_rows(results: dict[str, list[SettingResult]], compared: Sequence[str] | None = None
              ) -> list[dict[str, Any]]:
    """The fields of one cell's ``results.json`` rows, one per scheme: the paper's metric
    (``normalized``, ``violated``, ``settings``, ``baseline_violated``, ``per_setting``,
    ``per_setting_all``), every setting's ``objective`` and ``miss_rate``, ``violated_all``
    (including the settings OracleStatic violates) and the fair metrics (``common_normalized``,
    ``common_settings``, ``met_settings``, ``met_share``, ``mean_miss_rate``,
    ``normalized_strict``, ``strict_settings``). ``compared``: the schemes whose common settings
    define the fair mean (default: the registry's ``fair`` table)."""
    summ = summarise_cell(results)
    fair = metrics.fair_summaries(results, BASELINE, fair_schemes() if compared is None else compared,
                                  STRICT_BASELINE)
    rows = []
    for name, s in summ.items():
        f = fair[name]
        rows.append({"scheme": name, "normalized": _num(s.normalized), "violated": s.violated,
                     "settings": s.settings, "baseline_violated": s.baseline_violated,
                     "per_setting": [_num(x) for x in s.per_setting],
                     "per_setting_all": [_num(x) for x in s.raw],
                     "violated_all": int(sum(r.violated for r in results[name])),
                     "objective": [round(r.objective, 6) for r in results[name]],
                     "miss_rate": [round(r.miss_rate, 4) for r in results[name]],
                     "common_normalized": _num(f.common_normalized), "common_settings": f.common_settings,
                     "met_settings": f.met, "met_share": round(f.met_share, 6),
                     "mean_miss_rate": round(f.mean_miss_rate, 6),
                     "normalized_strict": _num(f.strict_normalized), "strict_settings": f.strict_settings})
    return rows


def run_suite(cfg: SuiteConfig, progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
              skipped: Callable[[str, str, str], None] | None = None) -> list[dict[str, Any]]:
    """All rows for ``results.json``: one per (variant, platform, task, workload, goal, scheme).
    Schemes a trace cannot support are left out (``skipped(trace name, scheme, why)`` hears of each)."""
    units = [(v, p, t, w) for v in cfg.variants for (p, t) in cfg.cells for w in cfg.workloads]
    it: Iterable[Any] = progress(units) if progress else units
    rows: list[dict[str, Any]] = []
    for v, p, t, w in it:
        trace = scenarios.generate(p, t, w, v, cfg.n_inputs, cfg.seed)  # type: ignore[arg-type]
        names, left_out = schemes.split_supported(cfg.schemes, trace.profile, "image")
        for n, why in left_out:
            if skipped is not None:
                skipped(trace.name, n, why)
        for task in metrics.TASKS:
            grid = metrics.trace_grid(trace, task, cfg.n_deadlines, cfg.n_goals,  # type: ignore[arg-type]
                                      budgets=cfg.budgets)
            for r in cell_rows(run_settings(trace, grid, names)):
                rows.append({"variant": v, "platform": p, "task": t, "workload": w, "goal": task, **r})
    return rows


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 6)


@dataclass(frozen=True)
class Timeline:
    """Per-input record of one scheme on one setting (Figure 9, Figure 11)."""

    scheme: str
    constraint: Constraint
    candidate: np.ndarray
    setting: np.ndarray
    latency: np.ndarray      # time the DNN ran (s)
    accuracy: np.ndarray
    energy: np.ndarray
    late: np.ndarray
    xi: np.ndarray | None


def timeline(trace: Trace, constraint: Constraint, scheme: str, profile: Profile | None = None) -> Timeline:
    """Run one scheme on one setting and keep everything per input."""
    sch = schemes.get(scheme)
    out = outcomes(trace, constraint.deadline, preempt=sch.preempt)
    ch = sch(schemes.SchemeContext(trace, out, constraint, profile or trace.profile))
    d = deliver(out, ch.candidate, ch.setting)
    return Timeline(scheme, constraint, d.candidate, d.setting, d.run_time, d.accuracy, d.energy, d.late, ch.xi)
