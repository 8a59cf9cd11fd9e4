"""Run schemes over constraint grids and traces: one cell, or the whole paper-shaped suite.

A *cell* is (platform, task, workload) for one goal kind; its result per scheme is a
``metrics.CellSummary`` (normalised to OracleStatic, violations counted). ``run_suite`` walks
every cell of ``scenarios.cells()`` × workloads × variants and returns ``results.json`` rows.
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


@dataclass(frozen=True)
class SuiteConfig:
    """What ``alert reproduce`` runs. ``quick()`` is the reduced suite (shorter traces, smaller grids)."""

    variants: tuple[str, ...] = ("paper", "noisy")
    workloads: tuple[str, ...] = scenarios.WORKLOADS
    cells: tuple[tuple[str, str], ...] = field(default_factory=lambda: tuple(scenarios.cells()))
    schemes: tuple[str, ...] = schemes.ALL_SCHEMES
    n_inputs: int = 300
    n_deadlines: int = 8
    n_goals: int = 5
    seed: int = 0

    @classmethod
    def quick(cls) -> SuiteConfig:
        return cls(n_inputs=150, n_deadlines=4, n_goals=3)

    def to_dict(self) -> dict[str, Any]:
        return {"variants": list(self.variants), "workloads": list(self.workloads),
                "cells": [list(c) for c in self.cells], "schemes": list(self.schemes),
                "n_inputs": self.n_inputs, "n_deadlines": self.n_deadlines, "n_goals": self.n_goals,
                "seed": self.seed}


def run_settings(trace: Trace, constraints: Sequence[Constraint], scheme_names: Iterable[str],
                 profile: Profile | None = None) -> dict[str, list[SettingResult]]:
    """Every scheme on every constraint setting of one trace (outcomes computed once per deadline)."""
    names = list(scheme_names)
    if BASELINE not in names:
        names.append(BASELINE)
    prof = profile or trace.profile
    res: dict[str, list[SettingResult | None]] = {n: [None] * len(constraints) for n in names}
    by_deadline: dict[float, list[int]] = {}
    for i, c in enumerate(constraints):
        by_deadline.setdefault(c.deadline, []).append(i)
    for T, idx in by_deadline.items():
        out = outcomes(trace, T)
        for i in idx:
            ctx = schemes.SchemeContext(trace, out, constraints[i], prof)
            for n in names:
                ch = schemes.get(n)(ctx)
                res[n][i] = metrics.evaluate(deliver(out, ch.candidate, ch.setting), constraints[i])
    return {n: [r for r in v if r is not None] for n, v in res.items()}


def summarise_cell(results: dict[str, list[SettingResult]]) -> dict[str, metrics.CellSummary]:
    base = results[BASELINE]
    return {n: metrics.summarise(r, base) for n, r in results.items()}


def run_suite(cfg: SuiteConfig, progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None
              ) -> list[dict[str, Any]]:
    """All rows for ``results.json``: one per (variant, platform, task, workload, goal, scheme)."""
    units = [(v, p, t, w) for v in cfg.variants for (p, t) in cfg.cells for w in cfg.workloads]
    it: Iterable[Any] = progress(units) if progress else units
    rows: list[dict[str, Any]] = []
    for v, p, t, w in it:
        trace = scenarios.generate(p, t, w, v, cfg.n_inputs, cfg.seed)
        names = [s for s in cfg.schemes if schemes.needs(s, trace.profile) is None]
        for task in metrics.TASKS:
            grid = metrics.grid(trace.profile, task, cfg.n_deadlines, cfg.n_goals)  # type: ignore[arg-type]
            summ = summarise_cell(run_settings(trace, grid, names))
            for name, s in summ.items():
                rows.append({"variant": v, "platform": p, "task": t, "workload": w, "goal": task,
                             "scheme": name, "normalized": _num(s.normalized), "violated": s.violated,
                             "settings": s.settings, "baseline_violated": s.baseline_violated,
                             "per_setting": [_num(x) for x in s.per_setting],
                             "per_setting_all": [_num(x) for x in s.raw]})
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
    out = outcomes(trace, constraint.deadline, preempt=scheme not in schemes.STAGE_GRANULAR)
    ch = schemes.get(scheme)(schemes.SchemeContext(trace, out, constraint, profile or trace.profile))
    d = deliver(out, ch.candidate, ch.setting)
    return Timeline(scheme, constraint, d.candidate, d.setting, d.run_time, d.accuracy, d.energy, d.late, ch.xi)
