"""The paper-style report: Table 4 / Table 5 layouts in markdown, the claim checks, and figures.

Figures use matplotlib with the Agg backend, imported inside the functions that draw.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def table(rows: Sequence[dict[str, Any]], variant: str, scheme_names: Sequence[str], task: str | None = None) -> str:
    """A Table-4-like markdown table: normalised energy (min-energy) | error (min-error) per cell."""
    idx = _index(rows, variant)
    keys = _keys(rows, variant, task)
    head = ["Platform", "Task", "Workload"] + [f"E: {s}" for s in scheme_names] + [f"Err: {s}" for s in scheme_names] \
        + ["settings", "static-infeasible (E/Err)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in keys:
        cells = [_fmt(idx.get((*k, g, s))) for g in GOALS for s in scheme_names]
        base = [idx.get((*k, g, "OracleStatic")) for g in GOALS]
        n = base[0]["settings"] if base[0] else "-"
        bv = "/".join(str(b["baseline_violated"]) if b else "-" for b in base)
        lines.append("| " + " | ".join([*k, *cells, str(n), bv]) + " |")
    hm = []
    for g in GOALS:
        for s in scheme_names:
            h, v = _hmean(idx, keys, g, s)
            hm.append(("n/a" if not np.isfinite(h) else f"{h:.2f}") + (f"<sup>{v}</sup>" if v else ""))
    lines.append("| **Harmonic mean** | | | " + " | ".join(hm) + " | | |")
    return "\n".join(lines)


# ============================================================================ claim checks
def checks(rows: Sequence[dict[str, Any]], variant: str = "paper") -> list[tuple[str, bool, str]]:
    """The issue's claims, evaluated on the rows: (claim, holds, evidence)."""
    idx = _index(rows, variant)
    keys = _keys(rows, variant)
    out: list[tuple[str, bool, str]] = []

    def val(k, g, s):
        r = idx.get((*k, g, s))
        return None if r is None else r["normalized"]

    bad = []
    for k in keys:
        for g in GOALS:
            a, o = val(k, g, "ALERT"), val(k, g, "Oracle")
            if a is None or o is None or a > 1.05 * o:
                bad.append(f"{'/'.join(k)} {g}: ALERT {a} vs Oracle {o}")
    out.append(("ALERT within 5 % of Oracle on every cell", not bad, "; ".join(bad[:6]) + (" ..." if len(bad) > 6 else "")))
    bad = [f"{'/'.join(k)} {g}: {idx[k + (g, 'ALERT')]['violated']}" for k in keys for g in GOALS
           if (*k, g, "ALERT") in idx and idx[k + (g, "ALERT")]["violated"] > 1]
    out.append(("ALERT violates at most 1 setting per cell", not bad, "; ".join(bad[:6]) + (" ..." if len(bad) > 6 else "")))
    bad = [f"{'/'.join(k)} {g}: {val(k, g, 'ALERT')}" for k in keys if k[2] in CONTENTION for g in GOALS
           if val(k, g, "ALERT") is None or val(k, g, "ALERT") >= 1.0]
    out.append(("ALERT below OracleStatic under contention", not bad, "; ".join(bad[:6]) + (" ..." if len(bad) > 6 else "")))
    for other in ("Sys-only", "App-only", "No-coord"):
        worse = 0
        total = 0
        for k in keys:
            for g in GOALS:
                a, b = idx.get((*k, g, "ALERT_Any")), idx.get((*k, g, other))
                if a is None or b is None:
                    continue
                total += 1
                an = a["normalized"] if a["normalized"] is not None else np.inf
                bn = b["normalized"] if b["normalized"] is not None else np.inf
                if b["violated"] > a["violated"] or bn > an:
                    worse += 1
        out.append((f"{other} behind ALERT_Any (more energy, error or violations)", worse == total,
                    f"behind in {worse} of {total} cells"))
    bad = []
    for k in keys:
        if k[2] not in CONTENTION:
            continue
        for g in GOALS:
            a, s = idx.get((*k, g, "ALERT_paper")), idx.get((*k, g, "ALERT*"))
            if a is None or s is None:
                continue
            an = a["normalized"] if a["normalized"] is not None else np.inf
            sn = s["normalized"] if s["normalized"] is not None else np.inf
            if not (s["violated"] > a["violated"] or sn > an):
                bad.append(f"{'/'.join(k)} {g}")
    out.append(("ALERT* behind ALERT_paper under contention", not bad, "not behind in: " + ", ".join(bad) if bad else ""))
    return out


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
    if variants:
        L = ["# ALERT evaluation report", "",
             f"Suite: {meta.get('mode', '')}; {meta.get('n_inputs')} inputs per trace; "
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
        L = ["# ALERT evaluation report: recorded platforms", "",
             f"Only the recorded platforms given ({meta.get('mode', '')}); {meta.get('settings_per_cell')} constraint "
             f"settings per cell; run time {meta.get('seconds', 0):.1f} s." + grid_note, "",
             "Numbers are normalised to OracleStatic (smaller is better): energy (or reserved core-seconds) per "
             "input in the min-energy task (E), error rate in the min-error task (Err).", ""]
    top = headline([*rows, *sentence_rows])
    if top:
        L += [top, ""]
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
        for claim, ok, ev in checks(rows, v):
            L.append(f"- **{'holds' if ok else 'does not hold'}**: {claim}" + (f" ({ev})" if ev else ""))
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

- **ALERT's caution (the σ floor).** Eq. 5 keeps σ² ≥ Q0 = 0.1, so σ ≥ 0.316 even in a quiet
  environment with a few % of real spread. With the default expectation constraint (q̂ ≥ Q_goal)
  a configuration whose accuracy is close to the goal is only accepted when μ·t is far below the
  deadline; ALERT then takes a more accurate model or a higher setting than needed, and spends
  more energy than OracleStatic on quiet traces. The paper reports ALERT at or below
  OracleStatic everywhere; on our traces it is at or above it in many cells. ALERT_Pr90 (the
  chance constraint that matches the 10 % rule, docs/controller.md "Expectation or chance
  constraint") is closer to the oracles.
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fig_summary(rows: Sequence[dict[str, Any]], path: Path, variant: str = "paper") -> None:
    """Figure 7: harmonic-mean normalised result per scheme, with the share of violated settings."""
    plt = _plt()
    idx = _index(rows, variant)
    keys = _keys(rows, variant)
    present = {r["scheme"] for r in rows}
    names = [n for n in schemes.names("image", suite=True)
             if n in present and n not in ("OracleStatic", "OracleStatic_strict")]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, g in zip(axes, GOALS, strict=False):
        hm, vp = [], []
        for s in names:
            h, v = _hmean(idx, keys, g, s)
            n = sum(idx[k + (g, s)]["settings"] for k in keys if (*k, g, s) in idx) or 1
            hm.append(h if np.isfinite(h) else 0.0)
            vp.append(100.0 * v / n)
        x = np.arange(len(names))
        ax.bar(x, hm, color="tab:blue")
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        ax.set_xticks(x, names, rotation=45, ha="right")
        ax.set_ylabel("normalised to OracleStatic")
        ax.set_title(f"{'energy' if g == 'min-energy' else 'error'} ({g})")
        ax2 = ax.twinx()
        ax2.plot(x, vp, "r*", ms=10)
        ax2.set_ylabel("violated settings (%)", color="r")
        ax2.set_ylim(0, 100)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fig_whiskers(rows: Sequence[dict[str, Any]], path: Path, variant: str = "paper", goal: str = "min-energy") -> None:
    """Figure 8: per-setting range (whisker) and mean (circle) for ALERT, Oracle and OracleStatic."""
    plt = _plt()
    idx = _index(rows, variant)
    keys = _keys(rows, variant)
    fig, ax = plt.subplots(figsize=(max(8, len(keys) * 0.8), 4))
    for si, (s, col) in enumerate((("OracleStatic", "tab:gray"), ("ALERT", "tab:blue"), ("Oracle", "tab:green"))):
        for ki, k in enumerate(keys):
            r = idx.get((*k, goal, s))
            if r is None:
                continue
            v = np.array([x for x in r["per_setting"] if x is not None], dtype=float)
            if v.size == 0:
                continue
            x = ki + (si - 1) * 0.25
            ax.plot([x, x], [v.min(), v.max()], color=col)
            ax.plot(x, v.mean(), "o", color=col, label=s if ki == 0 else None)
    ax.set_xticks(range(len(keys)), ["/".join(k) for k in keys], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(f"normalised {'energy' if goal == 'min-energy' else 'error'}")
    ax.legend()
    ax.set_title(f"{goal}: range over settings (whisker) and mean (circle)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fig_timeline(tls: Sequence[Any], trace: Any, path: Path) -> None:
    """Figure 9: latency, accuracy, energy, chosen model and setting per input; constraints in red."""
    plt = _plt()
    c: Constraint = tls[0].constraint
    prof = trace.profile
    n = np.arange(trace.n_inputs)
    st = trace.states()
    fig, axes = plt.subplots(5, 1, figsize=(10, 11), sharex=True)
    for tl, col in zip(tls, ("tab:blue", "tab:orange", "tab:green"), strict=False):
        axes[0].plot(n, tl.latency * 1e3, color=col, label=tl.scheme, lw=1)
        axes[1].plot(n, tl.accuracy, color=col, lw=1)
        axes[2].plot(n, tl.energy, color=col, lw=1)
        axes[3].plot(n, tl.candidate, ".", color=col, ms=3)
        axes[4].plot(n, prof.setting_values[tl.setting], ".", color=col, ms=3)
    axes[0].axhline(c.deadline * 1e3, color="r")
    if c.accuracy is not None:
        axes[1].axhline(c.accuracy, color="r")
    if c.energy_budget is not None:
        axes[2].axhline(c.energy_budget, color="r")
    for ax, lab in zip(axes, ("latency (ms)", "accuracy", "energy (J)", "candidate", f"setting ({prof.unit})"), strict=False):
        ax.set_ylabel(lab)
        on = st > 0
        if on.any():
            ax.fill_between(n, 0, 1, where=on, transform=ax.get_xaxis_transform(), color="0.85", step="mid")
    axes[3].set_yticks(range(prof.shape[0]), [cd.label for cd in prof.candidates], fontsize=6)
    axes[0].legend(loc="upper right")
    axes[-1].set_xlabel("input (grey: contention)")
    fig.suptitle(f"{trace.name}: {c.task}, {c.label()}")
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
    ax.set_title(f"{platform}/{task} min-error: ALERT_paper vs ALERT* (nv: violated settings)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fig_xi(xis: dict[str, np.ndarray], path: Path) -> None:
    """Figure 11: histogram of observed ξ with the fitted normal, per workload."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(xis), figsize=(4 * len(xis), 3.2))
    for ax, (name, x) in zip(np.atleast_1d(axes), xis.items(), strict=False):
        x = x[np.isfinite(x)]
        ax.hist(x, bins=40, density=True, color="tab:red", alpha=0.7)
        mu, sd = float(x.mean()), float(x.std()) or 1e-6
        g = np.linspace(x.min(), x.max(), 200)
        ax.plot(g, np.exp(-0.5 * ((g - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)), color="tab:blue")
        ax.set_title(f"{name}: μ={mu:.2f}, σ={sd:.2f}")
        ax.set_xlabel("observed ξ")
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
