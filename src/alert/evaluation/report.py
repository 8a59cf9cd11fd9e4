"""The paper-style report: Table 4 / Table 5 layouts in markdown, the claim checks, and figures.

Figures use matplotlib with the Agg backend, imported inside the functions that draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alert.evaluation import metrics, scenarios, schemes
from alert.evaluation.metrics import Constraint

GOALS = ("min-energy", "min-error")
CONTENTION = ("memory", "compute")
#: the paper's Table 4 harmonic means (OracleStatic = 1), for the second normaliser's reading
PAPER_HMEAN: dict[str, dict[str, float]] = {"min-energy": {"Oracle": 0.62, "ALERT_paper": 0.64},
                                            "min-error": {"Oracle": 0.45, "ALERT_paper": 0.46}}
#: how close (absolute) a harmonic mean must be to the paper's to count as reproducing its magnitude
PAPER_GAP_TOL = 0.10
#: the bar for a recorded platform's cell (normalised objective), by workload and goal
BAR_QUIET, BAR_CONTENDED_ENERGY, BAR_ERROR = 1.02, 1.00, 1.03


def table_schemes(name: str) -> list[str]:
    """The columns of report table ``name`` (``table4``, ``table5``, ``extra``): the registry's."""
    return list(schemes.names(report=name))


def _index(rows: Sequence[dict[str, Any]], variant: str) -> dict[tuple[str, str, str, str, str], dict[str, Any]]:
    return {(r["platform"], r["task"], r["workload"], r["goal"], r["scheme"]): r
            for r in rows if r.get("variant", "paper") == variant}


def _keys(rows: Sequence[dict[str, Any]], variant: str, task: str | None = None) -> list[tuple[str, str, str]]:
    order = {w: i for i, w in enumerate(scenarios.WORKLOADS)}
    ks = {(r["platform"], r["task"], r["workload"]) for r in rows
          if r.get("variant", "paper") == variant and (task is None or r["task"] == task)}
    return sorted(ks, key=lambda k: (k[0], k[1], order.get(k[2], 9)))


def _fmt(r: dict[str, Any] | None) -> str:
    if r is None:
        return "-"
    v = r["normalized"]
    s = "n/a" if v is None else f"{v:.2f}"
    return s + (f"<sup>{r['violated']}</sup>" if r["violated"] else "")


def _hmean(idx: dict, keys: list, goal: str, scheme: str) -> tuple[float, int]:
    vals, viol = [], 0
    for k in keys:
        r = idx.get((*k, goal, scheme))
        if r is not None:
            if r["normalized"] is not None:
                vals.append(r["normalized"])
            viol += r["violated"]
    return metrics.harmonic_mean(vals), viol


#: the widest markdown table of report.md (columns)
MAX_TABLE_COLUMNS = 12
#: the summary at the top of report.md (everything before :data:`DETAILS_HEADING`) fits in this many lines
SUMMARY_MAX_LINES = 40
#: the heading that ends the summary; the tables and notes below it are the details
DETAILS_HEADING = "## Details"
_GOAL_TITLE = {"min-energy": "E (min-energy task: energy per input)", "min-error": "Err (min-error task: error rate)"}


def chunks(names: Sequence[str], width: int) -> list[list[str]]:
    """``names`` in consecutive groups of at most ``width`` (``width`` >= 1), as even as possible."""
    names = list(names)
    if not names:
        return [[]]
    k = -(-len(names) // max(1, width))
    size = -(-len(names) // k)
    return [names[i:i + size] for i in range(0, len(names), size)]


def table(rows: Sequence[dict[str, Any]], variant: str, scheme_names: Sequence[str], task: str | None = None) -> str:
    """Table-4-like markdown tables: one per goal (normalised energy for min-energy, error for
    min-error), the schemes split over several tables where one would be wider than
    :data:`MAX_TABLE_COLUMNS` columns."""
    idx = _index(rows, variant)
    keys = _keys(rows, variant, task)
    fixed = ["Platform", "Task", "Workload"]
    tail = ["settings", "static-infeasible"]
    parts = []
    for g in GOALS:
        groups = chunks(scheme_names, MAX_TABLE_COLUMNS - len(fixed) - len(tail))
        for gi, names in enumerate(groups):
            label = f"**{_GOAL_TITLE[g]}**" + (f", part {gi + 1} of {len(groups)}" if len(groups) > 1 else "")
            head = fixed + list(names) + tail
            lines = [label, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            for k in keys:
                base = idx.get((*k, g, "OracleStatic"))
                n = base["settings"] if base else "-"
                bv = str(base["baseline_violated"]) if base else "-"
                lines.append("| " + " | ".join([*k, *(_fmt(idx.get((*k, g, s))) for s in names), str(n), bv]) + " |")
            hm = []
            for s in names:
                h, v = _hmean(idx, keys, g, s)
                hm.append(("n/a" if not np.isfinite(h) else f"{h:.2f}") + (f"<sup>{v}</sup>" if v else ""))
            lines.append("| **Harmonic mean** | | | " + " | ".join(hm) + " | | |")
            parts.append("\n".join(lines))
    return "\n\n".join(parts)


# ============================================================================ claim checks
@dataclass(frozen=True)
class Claim:
    """One claim evaluated on the cells: it holds in ``held`` of ``total`` cells; ``detail`` says
    where it does not, and by how much."""

    text: str
    held: int
    total: int
    detail: str

    @property
    def holds(self) -> bool:
        return self.total > 0 and self.held == self.total

    def verdict(self) -> str:
        """One line: 'holds in all 30 cells' or 'holds in 28 of 30 cells; ...'."""
        if self.total == 0:
            return f"{self.text}: no cell to check"
        head = f"holds in all {self.total} cells" if self.holds else f"holds in {self.held} of {self.total} cells"
        return f"{self.text}: {head}" + (f"; {self.detail}" if self.detail else "")


def _pct(x: float) -> str:
    """A relative difference: '+1.5 %', '-13 %', '+0 %'."""
    if not np.isfinite(x):
        return "n/a"
    return f"{100 * x:+.1f} %" if abs(x) < 0.1 else f"{100 * x:+.0f} %"


def _cell_name(k: tuple[str, ...], g: str) -> str:
    return "/".join(k) + (" E" if g == "min-energy" else " Err")


def _obj(r: dict[str, Any]) -> float:
    v = r.get("normalized")
    return float("inf") if v is None else float(v)


def claims(rows: Sequence[dict[str, Any]], variant: str = "paper") -> list[Claim]:
    """The paper's claims on one variant's cells, each with the share of cells where it holds and,
    where it does not, what is behind and by how much."""
    idx = _index(rows, variant)
    keys = _keys(rows, variant)
    out: list[Claim] = []

    def pairs(a: str, b: str, only_contention: bool = False):
        for k in keys:
            if only_contention and k[2] not in CONTENTION:
                continue
            for g in GOALS:
                ra, rb = idx.get((*k, g, a)), idx.get((*k, g, b))
                if ra is not None and rb is not None:
                    yield k, g, ra, rb

    def spread(xs: list[float]) -> str:
        xs = [x for x in xs if np.isfinite(x)]
        if not xs:
            return ""
        return f"{_pct(min(xs))} to {_pct(max(xs))} (median {_pct(float(np.median(xs)))})"

    # ALERT within 5 % of Oracle
    ps = list(pairs("ALERT", "Oracle"))
    bad = [(k, g, a, o) for k, g, a, o in ps if not _obj(a) <= 1.05 * _obj(o)]
    worst = max(bad, key=lambda t: _obj(t[2]) / _obj(t[3]), default=None)
    detail = ""
    if bad:
        detail = f"elsewhere ALERT's objective is {spread([_obj(a) / _obj(o) - 1 for _, _, a, o in bad])} of Oracle's"
        if worst is not None and np.isfinite(_obj(worst[2])):
            detail += f", worst {_cell_name(worst[0], worst[1])} ({_obj(worst[2]):.2f} vs {_obj(worst[3]):.2f})"
    out.append(Claim("ALERT within 5 % of Oracle", len(ps) - len(bad), len(ps), detail))
    # at most one violated setting
    rs = [(k, g, idx[k + (g, "ALERT")]) for k in keys for g in GOALS if k + (g, "ALERT") in idx]
    bad2 = [(k, g, r) for k, g, r in rs if r["violated"] > 1]
    detail = ""
    if bad2:
        n = rs[0][2]["settings"]
        lo, hi = min(r['violated'] for *_, r in bad2), max(r['violated'] for *_, r in bad2)
        detail = (f"elsewhere ALERT violates {lo if lo == hi else f'{lo}-{hi}'} of {n} settings "
                  "(beyond those OracleStatic violates)")
    out.append(Claim("ALERT violates at most 1 setting per cell", len(rs) - len(bad2), len(rs), detail))
    # below OracleStatic under contention
    rs = [(k, g, idx[k + (g, "ALERT")]) for k in keys if k[2] in CONTENTION for g in GOALS if k + (g, "ALERT") in idx]
    bad3 = [(k, g, r) for k, g, r in rs if not _obj(r) < 1.0]
    detail = f"elsewhere ALERT is {spread([_obj(r) - 1 for *_, r in bad3])} of OracleStatic" if bad3 else ""
    out.append(Claim("ALERT below OracleStatic under contention", len(rs) - len(bad3), len(rs), detail))

    def behind(other: str, ref: str, only_contention: bool = False) -> Claim:
        ps = list(pairs(ref, other, only_contention))
        worse = [(k, g, a, b) for k, g, a, b in ps if b["violated"] > a["violated"] or _obj(b) > _obj(a)]
        ahead = [(k, g, a, b) for k, g, a, b in ps if (k, g, a, b) not in worse]
        parts = []
        if worse:
            nv = sum(b["violated"] > a["violated"] for *_, a, b in worse)
            hi = [_obj(b) / _obj(a) - 1 for *_, a, b in worse if _obj(b) > _obj(a) and np.isfinite(_obj(a))]
            med = f" (median {_pct(float(np.median([x for x in hi if np.isfinite(x)])))})" \
                if any(np.isfinite(x) for x in hi) else ""
            va, vb = sum(a["violated"] for *_, a, _b in ps), sum(b["violated"] for *_, b in ps)
            parts.append(f"{other} has more violated settings in {nv} cells and a higher objective in {len(hi)}"
                         f"{med}; in all, {other} violates {vb} settings, {ref} {va}")
        if ahead:
            parts.append("not behind in " + ", ".join(
                f"{_cell_name(k, g)} ({_obj(b):.2f}<sup>{b['violated']}</sup> vs {_obj(a):.2f}<sup>{a['violated']}</sup>)"
                for k, g, a, b in ahead[:3]) + (" ..." if len(ahead) > 3 else ""))
        scope = " under contention" if only_contention else ""
        return Claim(f"{other} behind {ref}{scope} (more energy or error, or more violated settings)", len(worse),
                     len(ps), "; ".join(parts))

    for other in ("Sys-only", "App-only", "No-coord"):
        out.append(behind(other, "ALERT_Any"))
    out.append(behind("ALERT*", "ALERT_paper", only_contention=True))
    return out


def checks(rows: Sequence[dict[str, Any]], variant: str = "paper") -> list[tuple[str, bool, str]]:
    """The issue's claims, evaluated on the rows: (claim, holds in every cell, the one-line verdict)."""
    return [(c.text, c.holds, c.verdict()) for c in claims(rows, variant)]


# ============================================================================ headline
CellKey = tuple[str, str, str, str, str, str]   # variant, platform, task, workload, goal, cost


def _cells(rows: Sequence[dict[str, Any]]) -> dict[CellKey, dict[str, dict[str, Any]]]:
    out: dict[CellKey, dict[str, dict[str, Any]]] = {}
    for r in rows:
        k = (str(r.get("variant", "paper")), r["platform"], r["task"], r["workload"], r["goal"], str(r.get("cost", "")))
        out.setdefault(k, {})[r["scheme"]] = r
    return out


def _violated_all(r: dict[str, Any]) -> int:
    return int(r.get("violated_all", r["violated"] + r.get("baseline_violated", 0)))


def at_or_below(r: dict[str, Any], limit: float = 1.0) -> bool:
    """The paper's normalised objective is at or below ``limit`` × OracleStatic."""
    v = r.get("normalized")
    return v is not None and v <= limit + 1e-9


def violations_ok(r: dict[str, Any], base: dict[str, Any]) -> bool:
    """At most one violated setting more than OracleStatic (all settings counted)."""
    return _violated_all(r) <= int(base["baseline_violated"]) + 1


def beats(r: dict[str, Any], other: dict[str, Any]) -> bool:
    """``r`` beats ``other`` on violations (fewer violated settings), or with no more violated
    settings on the objective over the settings both meet with every fair scheme (lower
    ``common_normalized``; the paper's metric where a row has no common mean)."""
    a, b = _violated_all(r), _violated_all(other)
    if a != b:
        return a < b
    key = "common_normalized" if r.get("common_normalized") is not None and other.get("common_normalized") is not None \
        else "normalized"
    x, y = r.get(key), other.get(key)
    return x is not None and (y is None or x < y - 1e-9)


def bar_limit(workload: str, goal: str) -> float:
    """The bar of a recorded platform's cell: a quiet cell (workload ``default``) ≤ 1.02, a
    contended min-energy cell ≤ 1.00, a min-error cell ≤ 1.03 (× OracleStatic)."""
    if workload == "default":
        return BAR_QUIET
    return BAR_CONTENDED_ENERGY if goal == "min-energy" else BAR_ERROR


def meets_bar(r: dict[str, Any], base: dict[str, Any]) -> bool:
    """The recorded platforms' bar for one cell: the objective within :func:`bar_limit` and
    violations at most OracleStatic's + 1."""
    return at_or_below(r, bar_limit(r["workload"], r["goal"])) and violations_ok(r, base)


def headline_table(rows: Sequence[dict[str, Any]], names: Sequence[str], bar: bool = False) -> str:
    """ALERT vs Static_profile vs OracleStatic (and the other ``names``) over the cells of ``rows``:
    objectives (harmonic means over cells, paper's metric / fair mean), violated settings, settings
    met, mean miss rate and cell counts ("x of y cells")."""
    cells = _cells(rows)
    names = [n for n in names if any(n in c for c in cells.values())]
    head = ["", *names]
    L = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def line(label: str, fn: Any) -> None:
        L.append("| " + " | ".join([label, *(fn(n) for n in names)]) + " |")

    def fmt(x: float) -> str:
        return "n/a" if not np.isfinite(x) else f"{x:.3f}"

    for g in GOALS:
        sub = {k: c for k, c in cells.items() if k[4] == g}
        if not sub:
            continue
        tag = "E" if g == "min-energy" else "Err"

        def objective(n: str, sub: dict = sub) -> str:
            p = metrics.harmonic_mean([c[n]["normalized"] for c in sub.values() if n in c and c[n]["normalized"]
                                       is not None])
            f = metrics.harmonic_mean([c[n]["common_normalized"] for c in sub.values()
                                       if n in c and c[n].get("common_normalized") is not None])
            return f"{fmt(p)} / {fmt(f)}"
        line(f"{tag}: objective, paper's metric / fair mean (harmonic mean of {len(sub)} cells)", objective)

    def count(n: str, test: Any) -> str:
        ok = [test(c[n], c) for c in cells.values() if n in c and "OracleStatic" in c]
        return f"{sum(ok)} of {len(ok)}"

    def violated(n: str) -> str:
        rs = [c[n] for c in cells.values() if n in c]
        return f"{sum(_violated_all(r) for r in rs)} of {sum(r['settings'] for r in rs)}"

    def miss(n: str) -> str:
        rs = [c[n] for c in cells.values() if n in c and "mean_miss_rate" in c[n]]
        return "-" if not rs else f"{100 * float(np.mean([r['mean_miss_rate'] for r in rs])):.1f} %"

    line("violated settings (more than 10 % of inputs miss)", violated)
    line("mean miss rate (inputs missing a constraint)", miss)
    line("cells at or below OracleStatic (paper's metric)", lambda n: count(n, lambda r, c: at_or_below(r)))
    line("cells with violated settings <= OracleStatic's + 1",
         lambda n: count(n, lambda r, c: violations_ok(r, c["OracleStatic"])))
    line("cells beating Static_profile (violations, else fair mean)",
         lambda n: "-" if n == "Static_profile" else
         f"{sum(beats(c[n], c['Static_profile']) for c in cells.values() if n in c and 'Static_profile' in c)} of "
         f"{sum(1 for c in cells.values() if n in c and 'Static_profile' in c)}")
    if bar:
        line("cells meeting the bar (quiet <= 1.02, contended E <= 1.00, Err <= 1.03; violations <= "
             "OracleStatic's + 1)", lambda n: count(n, lambda r, c: meets_bar(r, c["OracleStatic"])))
    return "\n".join(L)


def headline(rows: Sequence[dict[str, Any]]) -> str:
    """The report's first section: ALERT vs Static_profile vs OracleStatic on every group of cells
    (each recorded platform, the sentence task, each simulated variant)."""
    names = list(schemes.names(report="fair"))
    groups: list[tuple[str, list[dict[str, Any]], bool]] = []
    for p in dict.fromkeys(r["platform"] for r in rows if r.get("measured") and r["task"] != "sentence"):
        groups.append((f"Recorded platform `{p}` (all costs and workloads)",
                       [r for r in rows if r.get("measured") and r["platform"] == p and r["task"] != "sentence"], True))
    sent = [r for r in rows if r["task"] == "sentence"]
    if sent:
        groups.append(("Sentence task (recorded on this machine)", sent, False))
    for v in scenarios.VARIANTS:
        sub = [r for r in rows if not r.get("measured") and r.get("variant", "paper") == v]
        if sub:
            groups.append((f"Simulated variant `{v}`", sub, False))
    if not groups:
        return ""
    L = ["## Headline: ALERT vs Static_profile vs OracleStatic", "",
         "ALERT is the project's default controller (`ControllerConfig()`), ALERT_paper the paper's, "
         "Static_profile the best fixed configuration by the quiet profile (what a user runs without ALERT), "
         "OracleStatic the best fixed configuration in hindsight (the normaliser, = 1). Objectives are "
         "normalised to OracleStatic (smaller is better): the paper's metric averages over the settings the "
         "scheme itself meets; the fair mean over the settings that every scheme of this table meets "
         f"({', '.join(names)}), the same settings for all. A cell is (platform, task, workload, goal, cost).", ""]
    for title, sub, bar in groups:
        L += [f"### {title}", "", headline_table(sub, names, bar), ""]
    return "\n".join(L)


# ============================================================================ summary
def summary_groups(rows: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The summary's platforms, in order: each simulated variant, each recorded platform (image
    task, all costs and workloads), and the sentence task; (label, its rows)."""
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for v in scenarios.VARIANTS:
        sub = [r for r in rows if not r.get("measured") and r.get("variant", "paper") == v]
        if sub:
            groups.append((f"Simulated, `{v}` traces", sub))
    for p in dict.fromkeys(r["platform"] for r in rows if r.get("measured") and r["task"] != "sentence"):
        sub = [r for r in rows if r.get("measured") and r["platform"] == p and r["task"] != "sentence"]
        method = " ".join(str(r.get("energy_method", "")) for r in sub)
        kind = "GPU " if "nvml" in method else "CPU " if "cpu-time" in method else ""
        groups.append((f"Recorded {kind}`{p}`", sub))
    sent = [r for r in rows if r["task"] == "sentence"]
    if sent:
        groups.append((f"Sentence task, recorded `{sent[0]['platform']}`", sent))
    return groups


@dataclass(frozen=True)
class Comparison:
    """ALERT against one baseline over the cells both have: per-cell counts ("ALERT at or below
    the baseline in x of ``cells``") and the magnitudes behind them."""

    baseline: str
    cells: int
    objective_le: int
    violated_le: int
    miss_le: int
    objective: dict[str, tuple[float, float]]   # goal -> (ALERT, baseline): harmonic means, fair metric
    violated: tuple[int, int]                    # violated settings, all cells (ALERT, baseline)
    settings: int
    miss: tuple[float, float]                    # mean share of inputs missing a constraint


def _fair(r: dict[str, Any], other: dict[str, Any]) -> tuple[float, float]:
    key = "common_normalized" if r.get("common_normalized") is not None and \
        other.get("common_normalized") is not None else "normalized"
    return _obj({"normalized": r.get(key)}), _obj({"normalized": other.get(key)})


def compare(rows: Sequence[dict[str, Any]], baseline: str, scheme: str = "ALERT") -> Comparison | None:
    """``scheme`` against ``baseline`` on every cell of ``rows`` that has both (None when none
    has). The objective of a cell is the fair mean (``common_normalized``: the settings every
    fair scheme meets) where both rows have one, else the paper's metric; a scheme with no
    objective (every setting violated) is behind."""
    pairs = [(c[scheme], c[baseline]) for c in _cells(rows).values() if scheme in c and baseline in c]
    if not pairs:
        return None
    obj: dict[str, tuple[float, float]] = {}
    for g in GOALS:
        sub = [(a, b) for a, b in pairs if a["goal"] == g]
        if sub:
            fa = [_fair(a, b) for a, b in sub]
            obj[g] = (metrics.harmonic_mean([x for x, _ in fa if np.isfinite(x)]),
                      metrics.harmonic_mean([y for _, y in fa if np.isfinite(y)]))
    le = sum(x <= y + 1e-9 for x, y in (_fair(a, b) for a, b in pairs))
    return Comparison(
        baseline, len(pairs), int(le),
        sum(_violated_all(a) <= _violated_all(b) for a, b in pairs),
        sum(float(a.get("mean_miss_rate", 0.0)) <= float(b.get("mean_miss_rate", 0.0)) + 1e-12 for a, b in pairs),
        obj, (sum(_violated_all(a) for a, _ in pairs), sum(_violated_all(b) for _, b in pairs)),
        sum(int(a["settings"]) for a, _ in pairs),
        (float(np.mean([a.get("mean_miss_rate", 0.0) for a, _ in pairs])),
         float(np.mean([b.get("mean_miss_rate", 0.0) for _, b in pairs]))))


def _objective_text(c: Comparison) -> str:
    out = []
    for g, (a, b) in c.objective.items():
        tag = "E" if g == "min-energy" else "Err"
        out.append(f"{tag} n/a" if not (np.isfinite(a) and np.isfinite(b)) else f"{tag} {a:.3f} / {b:.3f}")
    return ", ".join(out)


def _gaps(c: Comparison) -> str:
    """'energy +1 %, error -13 %' (ALERT relative to the baseline)."""
    out = []
    for g, (a, b) in c.objective.items():
        word = "energy" if g == "min-energy" else "error"
        out.append(f"{word} n/a" if not (np.isfinite(a) and np.isfinite(b) and b > 0) else f"{word} {_pct(a / b - 1)}")
    return ", ".join(out)


def verdict(c: Comparison) -> str:
    """One line: better / a trade-off / behind, with the violated settings and the objective gaps."""
    va, vb = c.violated
    worse_obj = [g for g, (a, b) in c.objective.items() if not (np.isfinite(a) and np.isfinite(b) and a <= 1.01 * b)]
    better_obj = [g for g, (a, b) in c.objective.items() if np.isfinite(a) and np.isfinite(b) and a < 0.99 * b]
    if va <= vb and not worse_obj:
        word = "better" if (va < vb or better_obj) else "on par"
    elif va < vb or (va == vb and better_obj):
        word = "a trade-off"
    else:
        word = "behind"
    return (f"vs {c.baseline}: **{word}**: {va} vs {vb} violated settings of {c.settings}, "
            f"{100 * c.miss[0]:.1f} % vs {100 * c.miss[1]:.1f} % of inputs missed, {_gaps(c)}")


def summary(rows: Sequence[dict[str, Any]], meta: dict[str, Any] | None = None) -> str:
    """The report's top: does ALERT (the default controller) work, and against what? Per platform,
    ALERT against Static_profile (the deployable baseline) and OracleStatic (the best fixed
    configuration in hindsight), as "x of y cells", a one-line verdict each, and the paper's
    claims on the first simulated variant. At most :data:`SUMMARY_MAX_LINES` lines with the title."""
    groups = summary_groups(rows)
    L = ["## Summary: does ALERT work, and against what?", "",
         "ALERT = the default controller; Static_profile = the best fixed configuration by the quiet profile (what "
         "you deploy without ALERT); OracleStatic = the best fixed configuration in hindsight (normaliser). A cell is "
         "(platform, task, workload, goal, cost); x of y: cells where ALERT is at or below the baseline. Objective: "
         "harmonic mean over cells of the fair mean, ALERT / baseline (smaller is better). A setting is violated "
         "when over 10 % of its inputs miss a constraint.", ""]
    head = ["Platform", "vs", "objective <=", "objective (ALERT / baseline)", "violated settings <=",
            "violated settings (ALERT / baseline)", "miss rate <=", "inputs missed (ALERT / baseline)"]
    T = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    verdicts = []
    for label, sub in groups:
        comps = [c for c in (compare(sub, b) for b in ("Static_profile", "OracleStatic")) if c is not None]
        for i, c in enumerate(comps):
            T.append("| " + " | ".join([label if i == 0 else "", c.baseline, f"{c.objective_le} of {c.cells}",
                                        _objective_text(c), f"{c.violated_le} of {c.cells}",
                                        f"{c.violated[0]} / {c.violated[1]} of {c.settings}",
                                        f"{c.miss_le} of {c.cells}",
                                        f"{100 * c.miss[0]:.1f} % / {100 * c.miss[1]:.1f} %"]) + " |")
        if comps:
            verdicts.append(f"- **{label}**: " + "; ".join(verdict(c) for c in comps) + ".")
    if len(T) == 2:
        return ""
    L += T + [""] + verdicts
    sim = [r for r in rows if not r.get("measured")]
    if sim:
        v = next(v for v in scenarios.VARIANTS if any(r.get("variant", "paper") == v for r in sim))
        L += ["", f"The paper's claims on the simulated `{v}` cells (details under Claim checks):", ""]
        L += [f"- {c.verdict()}" for c in claims(sim, v)]
    return "\n".join(L)


def paper_gap(rows: Sequence[dict[str, Any]]) -> str:
    """The second normaliser: harmonic means over the simulated cells of Oracle, ALERT_paper and
    ALERT normalised to OracleStatic_strict (the best fixed configuration that meets every input),
    against the paper's Table 4, and whether that reproduces the paper's magnitudes."""
    L = ["## The paper's gap: a second normaliser", "",
         "The paper's Oracle is 0.62 of OracleStatic and its ALERT 0.64 in the energy task (0.45 and 0.46 in "
         "the error task), even with no contention. Hypothesis: the paper's OracleStatic had to meet *every* "
         "input, while ours may miss 10 % of them. OracleStatic_strict is that reading: the best fixed "
         "configuration in hindsight that meets every input. Each scheme's objective is averaged over the "
         "settings it meets where OracleStatic_strict meets every input (`normalized_strict` in results.json). "
         f"The magnitude counts as reproduced when both harmonic means are within {PAPER_GAP_TOL:.2f} of the "
         "paper's.", "",
         "| variant | goal | Oracle (paper) | ALERT_paper (paper ALERT) | ALERT | OracleStatic | settings where "
         "OracleStatic_strict meets every input | reproduces the paper's magnitude? |",
         "|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for v in scenarios.VARIANTS:
        sub = [r for r in rows if not r.get("measured") and r.get("variant", "paper") == v]
        if not sub:
            continue
        for g in GOALS:
            h = {n: metrics.harmonic_mean([r["normalized_strict"] for r in sub if r["scheme"] == n and r["goal"] == g
                                           and r.get("normalized_strict") is not None])
                 for n in ("Oracle", "ALERT_paper", "ALERT", "OracleStatic")}
            strict = [r for r in sub if r["scheme"] == "OracleStatic_strict" and r["goal"] == g]
            usable = sum(int(r.get("strict_settings", 0)) for r in strict)
            total = sum(int(r["settings"]) for r in strict)
            paper = PAPER_HMEAN[g]
            ok = all(np.isfinite(h[n]) and abs(h[n] - paper[n]) <= PAPER_GAP_TOL for n in paper)
            verdicts.append(ok)

            def f(x: float) -> str:
                return "n/a" if not np.isfinite(x) else f"{x:.2f}"
            L.append(f"| {v} | {g} | {f(h['Oracle'])} ({paper['Oracle']:.2f}) | {f(h['ALERT_paper'])} "
                     f"({paper['ALERT_paper']:.2f}) | {f(h['ALERT'])} | {f(h['OracleStatic'])} | {usable} of {total} | "
                     f"{'yes' if ok else 'no'} |")
    if not verdicts:
        return ""
    if all(verdicts):
        verdict = "**The strict normaliser reproduces the paper's magnitudes** in every row above."
    elif any(verdicts):
        verdict = ("**The strict normaliser reproduces the paper's magnitudes only in some rows** (marked yes); "
                   "elsewhere requiring OracleStatic to meet every input does not bring the ratios to the paper's.")
    else:
        verdict = ("**The strict normaliser does not reproduce the paper's magnitudes** in any row: requiring "
                   "OracleStatic to meet every input does not bring the ratios to the paper's 0.62 / 0.64 (energy) "
                   "and 0.45 / 0.46 (error).")
    L += ["", verdict, ""]
    return "\n".join(L)


def markdown(rows: Sequence[dict[str, Any]], meta: dict[str, Any], figures: Sequence[str],
             measured: Sequence[tuple[Any, dict[str, Any] | None]] = (),
             sentence_rows: Sequence[dict[str, Any]] = ()) -> str:
    """The whole report.md: the headline, the simulated variants, one section per measured
    platform (``measured`` holds (platform, its fidelity document or None)), the paper's gap and
    the sentence task (``sentence_rows``)."""
    variants = sorted({r.get("variant", "paper") for r in rows} & set(scenarios.VARIANTS),
                      key=lambda v: scenarios.VARIANTS.index(v))
    budgets = meta.get("budgets", {})
    grid_note = (f" Power budgets of min-error cells: from the {budgets.get('simulated', 'profile')}'s range on the "
                 f"simulated platforms, from the {budgets.get('recorded', 'trace')}'s range on the recorded ones "
                 "(docs/evaluation.md, \"Budget grid\")." if budgets else "")
    title = "# ALERT evaluation report" if variants else "# ALERT evaluation report: recorded platforms"
    top = summary([*rows, *sentence_rows])
    L = [title, ""] + ([top, ""] if top else []) + [f"{DETAILS_HEADING}: how the numbers were made", ""]
    if variants:
        L += [f"Suite: {meta.get('mode', '')}; {meta.get('n_inputs')} inputs per trace; "
             f"{meta.get('settings_per_cell')} constraint settings per cell; run time {meta.get('seconds', 0):.1f} s."
             + grid_note, "",
             "Traces are synthetic and paper-shaped (alert.evaluation.scenarios; every parameter and its source is "
             "listed in docs/evaluation.md). Numbers are normalised to OracleStatic (smaller is better): energy per "
             "input in the min-energy task (E), error rate in the min-error task (Err). A superscript counts the "
             "settings a scheme violates (more than 10 % of inputs miss a constraint); violated settings and "
             "settings that OracleStatic itself violates (last column) are left out of the averages.", "",
             "Which rows are measured: the tables of the variants below are **simulated** (`\"measured\": false` "
             "in results.json; energy = the generator's power model x time). Rows of a recorded platform of a "
             "real machine (`\"measured\": true`) have their own section after them, which says how their "
             "energy was obtained.", ""]
    else:
        L += [f"Only the recorded platforms given ({meta.get('mode', '')}); {meta.get('settings_per_cell')} constraint "
             f"settings per cell; run time {meta.get('seconds', 0):.1f} s." + grid_note, "",
             "Numbers are normalised to OracleStatic (smaller is better): energy (or reserved core-seconds) per "
             "input in the min-energy task (E), error rate in the min-error task (Err).", ""]
    head = headline([*rows, *sentence_rows])
    if head:
        L += [head, ""]
    for v in variants:
        L += [f"## Variant `{v}`", "", "### Table 4 layout: all schemes", "",
              table(rows, v, table_schemes("table4")), "",
              "### Table 5 layout: candidate sets (image classification)", "",
              table(rows, v, table_schemes("table5"), "image"), "",
              "### Beyond the paper: chance constraint, anytime deadline rule, mean-only ablation, deployable "
              "baseline, state oracle", "",
              "ALERT_first / ALERT_Pr90_first: an anytime candidate meets the deadline with its first output "
              "(`ControllerConfig(anytime_deadline=\"first\")`) instead of its stopping stage (the paper's t_ij). "
              "Static_profile: the best fixed configuration by the quiet profile (no hindsight).", "",
              table(rows, v, table_schemes("extra")), "", "### Claim checks", ""]
        for c in claims(rows, v):
            L.append(f"- **{'holds' if c.holds else 'partly'}**: {c.verdict()}")
        L.append("")
    if any(r.get("measured") for r in rows):
        from alert.evaluation.measured import report_section

        for platform, fidelity in measured or [(None, None)]:
            L += [report_section(rows, platform, fidelity), ""]
    gap = paper_gap(rows)
    if gap:
        L += [gap, ""]
    if sentence_rows:
        L += [sentence_section(sentence_rows), ""]
    if variants:
        L += ["## Where our numbers disagree with the paper, and why", "", DISCUSSION, ""]
    if figures:
        L += ["## Figures", ""] + [f"![{Path(f).stem}]({Path(f).name})" for f in figures] + [""]
    return "\n".join(L)


DISCUSSION = """\
These are honest readings of the tables above; the generators were not tuned to agree.

- **The paper's filter is cautious (the σ floor).** In ALERT_paper (the paper's estimator),
  Eq. 5 keeps σ² ≥ Q0 = 0.1, so σ ≥ 0.316 even in a quiet environment with a few % of real
  spread. With the expectation constraint (q̂ ≥ Q_goal) a configuration whose accuracy is close
  to the goal is only accepted when μ·t is far below the deadline; ALERT_paper then takes a more
  accurate model or a higher setting than needed, and spends more energy than OracleStatic on
  quiet traces. The paper reports its ALERT at or below OracleStatic everywhere; on our traces
  ALERT_paper is above it in most cells, and ALERT (the project's default estimator) is at or
  below it in only some (see the summary). ALERT_Pr90 (the chance constraint that matches the
  10 % rule, docs/controller.md "Expectation or chance constraint") is closer to the oracles.
- **Energy budgets are per input.** An input misses an energy budget when its own period
  exceeds P_goal·T. ALERT's energy estimate (Eq. 9) is a mean, so a configuration chosen right at
  the budget exceeds it on about half of the inputs; ALERT_Pr90 uses Eq. 12's quantile and
  violates far less.
- **Idle power model.** Eq. 8 predicts DNN-idle power as φ·p[i, j] (a ratio to the inference
  power). Our platforms, like real CPUs, have an idle power that does not scale with the cap, so
  the ratio learnt at one cap mispredicts another.
- **Anytime latency constraint.** The controller's default latency constraint asks the chosen
  stopping stage to finish by the deadline in expectation; replay counts an anytime input as on
  time when its first stage finishes. So ALERT never chooses to "run the anytime model to the
  deadline", which App-only and No-coord do.
- **Oracle is per input and strict.** It meets every input's constraints when any configuration
  can; OracleStatic may use the 10 % allowance. On noisy traces per-input noise dominates and no
  causal scheme approaches Oracle; compare ALERT with OracleStatic and Oracle_State there.
- **App-only / No-coord energy.** The grid's deadlines go up to 2x the largest anytime model's
  latency; running the anytime model to the deadline at the default setting wastes far more
  energy than in the paper (2-5x OracleStatic rather than 1.1-1.4x).
"""


# ============================================================================ figures
def _plt():
    from alert.evaluation.runplot import pyplot

    return pyplot()


def _task_groups(rows: Sequence[dict[str, Any]], variant: str,
                 sentence_rows: Sequence[dict[str, Any]] = ()) -> list[tuple[str, list[dict[str, Any]]]]:
    """(title, rows) per task: the simulated variant's tasks, then the recorded sentence task."""
    sim = [r for r in rows if not r.get("measured") and r.get("variant", "paper") == variant]
    out = [(f"{t} (simulated, `{variant}`)", [r for r in sim if r["task"] == t])
           for t in dict.fromkeys(r["task"] for r in sim)]
    if sentence_rows:
        out.append(("sentence (recorded)", list(sentence_rows)))
    return out


def _cell_count(rows: Sequence[dict[str, Any]]) -> int:
    return len({(r["platform"], r["task"], r["workload"]) for r in rows})


def fig_summary(rows: Sequence[dict[str, Any]], path: Path, variant: str = "paper",
                sentence_rows: Sequence[dict[str, Any]] = ()) -> None:
    """Figure 7: per task (rows) and goal (columns), each scheme's harmonic mean over the task's
    cells of its normalised objective (the paper's metric: averaged over the settings the scheme
    meets, OracleStatic = 1), labelled with the share of settings it violates."""
    plt = _plt()
    groups = [(t, sub) for t, sub in _task_groups(rows, variant, sentence_rows) if sub]
    order = list(schemes.names(suite=True)) + sorted({r["scheme"] for _, sub in groups for r in sub})
    fig, axes = plt.subplots(len(groups), 2, figsize=(13, 0.28 * 16 * len(groups) + 1.2), squeeze=False)
    for gi, (title, sub) in enumerate(groups):
        present = {r["scheme"] for r in sub}
        names = [n for n in dict.fromkeys(order) if n in present and n not in ("OracleStatic", "OracleStatic_strict")]
        for ax, g in zip(axes[gi], GOALS, strict=True):
            vals, lab = [], []
            for n in names:
                rs = [r for r in sub if r["scheme"] == n and r["goal"] == g]
                h = metrics.harmonic_mean([r["normalized"] for r in rs if r["normalized"] is not None])
                viol = sum(int(r["violated"]) for r in rs)
                tot = sum(int(r["settings"]) for r in rs) or 1
                vals.append(h if np.isfinite(h) else 0.0)
                lab.append(("n/a" if not np.isfinite(h) else f"{h:.2f}") + f", {100 * viol / tot:.0f} % viol.")
            y = np.arange(len(names))
            cols = ["tab:red" if n == "ALERT" else "tab:gray" if n == "Static_profile" else "tab:blue" for n in names]
            ax.barh(y, vals, color=cols)
            ax.axvline(1.0, color="k", lw=0.8, ls="--")
            ax.set_yticks(y, names, fontsize=9)
            ax.invert_yaxis()
            top = max([v for v in vals if np.isfinite(v)] + [1.0])
            ax.set_xlim(0, top * 1.35)
            for yi, (v, t) in enumerate(zip(vals, lab, strict=True)):
                ax.text(v + 0.01 * top, yi, t, va="center", fontsize=8)
            word = "energy" if g == "min-energy" else "error"
            ax.set_title(f"{title}, {g} ({word}): {_cell_count(sub)} cells", fontsize=10)
    fig.suptitle("Figure 7: each bar is a harmonic mean over the task's cells (platform x workload) of the "
                 "scheme's objective,\naveraged over the settings it meets and normalised to OracleStatic "
                 "(dashed line = 1; smaller is better); label: that mean and the share of settings violated",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


#: the schemes of Figure 8, with their colours
FIG8_SCHEMES = (("Static_profile", "tab:gray"), ("ALERT", "tab:red"), ("Oracle", "tab:green"))


def fig_whiskers(rows: Sequence[dict[str, Any]], path: Path, variant: str = "paper",
                 sentence_rows: Sequence[dict[str, Any]] = ()) -> None:
    """Figure 8: per cell (rows: the simulated variant's cells of every task, then the sentence
    task's) and goal (columns), the range over the constraint settings (whisker) and the mean
    (dot) of the normalised objective of Static_profile, ALERT and Oracle; violated settings are
    left out (their count is printed)."""
    plt = _plt()
    groups = [(t, sub) for t, sub in _task_groups(rows, variant, sentence_rows) if sub]
    order = {w: i for i, w in enumerate(scenarios.WORKLOADS)}
    keys = [k for _, sub in groups for k in sorted({(r["platform"], r["task"], r["workload"]) for r in sub},
                                                   key=lambda k: (k[0], k[1], order.get(k[2], 9)))]
    idx = {(r["platform"], r["task"], r["workload"], r["goal"], r["scheme"]): r for _, sub in groups for r in sub}
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.42 * len(keys) + 2.2), sharey=True, squeeze=False)
    for ax, g in zip(axes[0], GOALS, strict=True):
        for si, (s, col) in enumerate(FIG8_SCHEMES):
            for ki, k in enumerate(keys):
                r = idx.get((*k, g, s))
                if r is None:
                    continue
                v = np.array([x for x in r["per_setting"] if x is not None], dtype=float)
                if v.size == 0:
                    continue
                y = ki + (si - 1) * 0.25
                ax.plot([v.min(), v.max()], [y, y], color=col, lw=1.5)
                ax.plot(v.mean(), y, "o", color=col, ms=5, label=s if ki == 0 else None)
        ax.axvline(1.0, color="k", lw=0.8, ls="--")
        ax.set_xlabel(f"{'energy' if g == 'min-energy' else 'error'} / OracleStatic's, per setting")
        ax.set_title(g, fontsize=10)
        ax.grid(axis="x", color="0.9")
    axes[0][0].set_yticks(range(len(keys)), [" ".join(k) for k in keys], fontsize=9)
    axes[0][0].invert_yaxis()
    axes[0][0].legend(loc="upper left", fontsize=9)
    n = sorted({int(r["settings"]) for r in idx.values()})
    fig.suptitle(f"Figure 8: per cell, the normalised objective over its {'/'.join(map(str, n))} constraint "
                 f"settings: range (whisker) and mean (dot),\nsimulated `{variant}` cells and the recorded sentence "
                 "task; OracleStatic = 1 (dashed); settings a scheme violates are left out", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fig_timeline(tls: Sequence[Any], trace: Any, path: Path, note: str = "") -> None:
    """Figure 9: latency, accuracy, energy, chosen model and system setting per input for each
    timeline in ``tls`` (e.g. ALERT and Static_profile); constraints in red, contention in grey."""
    plt = _plt()
    c: Constraint = tls[0].constraint
    prof = trace.profile
    n = np.arange(trace.n_inputs)
    st = trace.states()
    fig, axes = plt.subplots(5, 1, figsize=(11, 12), sharex=True, gridspec_kw={"height_ratios": [2, 1.5, 1.5, 2.2, 1.6]})
    cols = ("tab:blue", "tab:gray", "tab:orange", "tab:green")
    for k, (tl, col) in enumerate(zip(tls, cols, strict=False)):
        changes = int(np.count_nonzero(np.diff(tl.setting)))
        axes[0].plot(n, tl.latency * 1e3, color=col, lw=1,
                     label=f"{tl.scheme}: {100 * float(np.mean(tl.late)):.0f} % late, {changes} setting changes")
        axes[1].plot(n, tl.accuracy, color=col, lw=1)
        axes[2].plot(n, tl.energy, color=col, lw=1)
        off = (k - (len(tls) - 1) / 2) * 0.2
        axes[3].plot(n, tl.candidate + off, ".", color=col, ms=4)
        axes[4].step(n, prof.setting_values[tl.setting], where="post", color=col, lw=1.6 if k == 0 else 2.5,
                     alpha=1.0 if k == 0 else 0.6, label=tl.scheme)
    axes[0].axhline(c.deadline * 1e3, color="r", lw=1.2, label="deadline")
    if c.accuracy is not None:
        axes[1].axhline(c.accuracy, color="r")
    if c.energy_budget is not None:
        axes[2].axhline(c.energy_budget, color="r")
    labels = ("latency (ms)", "accuracy", "energy (J)", "model", f"setting ({prof.unit})")
    for ax, lab in zip(axes, labels, strict=True):
        ax.set_ylabel(lab)
        on = st > 0
        if on.any():
            ax.fill_between(n, 0, 1, where=on, transform=ax.get_xaxis_transform(), color="0.88", step="mid")
    axes[3].set_yticks(range(prof.shape[0]), [cd.label for cd in prof.candidates], fontsize=9)
    axes[0].legend(loc="upper right", fontsize=9)
    axes[4].legend(loc="upper right", fontsize=9)
    axes[-1].set_xlabel("input (grey: contention on)")
    fig.suptitle(f"Figure 9: {trace.name}, {c.task}, {c.label()}" + (f"\n{note}" if note else ""), fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fig_alert_vs_star(rows: Sequence[dict[str, Any]], path: Path, platform: str = "cpu1", task: str = "nlp",
                      variant: str = "paper") -> None:
    """Figure 10: the paper's ALERT (ALERT_paper) vs ALERT* on the min-error task, per workload (all
    settings, violated ones included): the paper's ablation, both with the paper's estimator."""
    plt = _plt()
    idx = _index(rows, variant)
    fig, ax = plt.subplots(figsize=(7, 4))
    for wi, w in enumerate(scenarios.WORKLOADS):
        for si, (s, col) in enumerate((("ALERT_paper", "tab:blue"), ("ALERT*", "tab:red"))):
            r = idx.get((platform, task, w, "min-error", s))
            if r is None:
                continue
            v = np.array([x for x in r.get("per_setting_all", []) if x is not None], dtype=float)
            v = v[np.isfinite(v)]
            if v.size == 0:
                continue
            x = wi + (si - 0.5) * 0.3
            ax.plot([x, x], [v.min(), v.max()], color=col)
            ax.plot(x, v.mean(), "o", color=col, label=f"{s}" if wi == 0 else None)
            ax.annotate(f"{r['violated']}v", (x, v.max()), fontsize=7, ha="center", va="bottom")
    ax.set_xticks(range(len(scenarios.WORKLOADS)), scenarios.WORKLOADS)
    ax.set_ylabel("normalised error (all settings)")
    ax.set_title(f"Figure 10: simulated {platform}/{task}, `{variant}` traces, min-error:\n"
                 "ALERT_paper vs ALERT*, range over settings and mean (nv: violated settings)", fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fig_xi(xis: dict[str, np.ndarray], path: Path, where: str = "") -> None:
    """Figure 11: histogram of observed ξ with the fitted normal, per workload; ``where`` names the
    platform, task and scheme in the title."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(xis), figsize=(4 * len(xis), 3.6))
    for ax, (name, x) in zip(np.atleast_1d(axes), xis.items(), strict=False):
        x = x[np.isfinite(x)]
        ax.hist(x, bins=40, density=True, color="tab:red", alpha=0.7)
        mu, sd = float(x.mean()), float(x.std()) or 1e-6
        g = np.linspace(x.min(), x.max(), 200)
        ax.plot(g, np.exp(-0.5 * ((g - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)), color="tab:blue")
        ax.set_title(f"{name}: μ={mu:.2f}, σ={sd:.2f}")
        ax.set_xlabel("observed ξ")
    if where:
        fig.suptitle(f"Figure 11: {where}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def sentence_section(rows: Sequence[dict[str, Any]]) -> str:
    """The sentence task (Table 3 "Sentence Pred."): rows of ``alert.evaluation.sentence``."""
    from alert.evaluation.sentence import sentence_schemes

    variant = rows[0].get("variant", "recorded") if rows else "recorded"
    return "\n".join([
        "## Sentence prediction (measured on this machine)", "",
        "Per-word traces of the Penn Treebank family (traditional LSTMs and the width-nested LSTM) recorded "
        "on this machine under the three workloads (`alert sentence trace`); every sentence shares one "
        "deadline. Power is nominal (CPU-time model: 10 W per busy core, 2 W idle; this machine has no energy "
        "counter). ALERT shares the remaining time evenly over the words left; ALERT_greedy gives each word "
        "all of it, ALERT_reserve all but the fastest configuration's time for each later word. "
        "Rows carry `\"task\": \"sentence\"` and `\"measured\": true` in results.json; see docs/sentence.md.",
        "", table(rows, variant, list(sentence_schemes()), task="sentence"), "", sentence_met(rows), ""])


def sentence_met(rows: Sequence[dict[str, Any]], names: Sequence[str] = ("ALERT_paper", "ALERT")) -> str:
    """The share of sentence tests (setting, sentence) whose constraints are all met, per cell and
    over all cells (weighted by tests), for ``names`` (the paper reports 98.5 % for its ALERT)."""
    sent = [r for r in rows if r["task"] == "sentence" and "sentences_met" in r]
    names = [n for n in names if any(r["scheme"] == n for r in sent)]
    if not names:
        return ""

    def share(rs: list[dict[str, Any]]) -> str:
        if not rs:
            return "-"
        w = [r["settings"] * r["sentences"] for r in rs]
        return f"{100 * float(np.average([r['sentences_met'] for r in rs], weights=w)):.1f} %"

    keys = list(dict.fromkeys((r["workload"], r["goal"]) for r in sent))
    L = ["Share of sentence tests (setting, sentence) meeting every constraint:", "",
         "| Workload | Goal | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for w, g in keys:
        L.append(f"| {w} | {g} | " + " | ".join(
            share([r for r in sent if r["scheme"] == n and (r["workload"], r["goal"]) == (w, g)]) for n in names) + " |")
    L.append("| **all** | | " + " | ".join(share([r for r in sent if r["scheme"] == n]) for n in names) + " |")
    return "\n".join(L)
