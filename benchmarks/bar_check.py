"""The estimator issue's acceptance numbers, from ``results.json`` files of ``alert reproduce``.

Three checks, each printed as a table and written as JSON (``--json``):

* **Recorded platforms** (rows with ``"measured": true``, task not ``sentence``), per cell
  (platform, cost, workload, goal): the default ``ALERT``'s objective normalised to OracleStatic
  against the bar (``report.bar_limit``: quiet ``default`` workload ≤ 1.02, contended min-energy
  ≤ 1.00, min-error ≤ 1.03), its violated settings (all of them) against OracleStatic's + 1
  (``report.meets_bar``), and against Static_profile: ``report.beats`` (fewer violated settings,
  else a lower fair mean) in every contended cell. ALERT_paper and ALERT_Pr90 are shown beside
  it, and OracleStatic_split where the rows have it (OracleStatic chosen on the other half of the
  inputs: how much of OracleStatic's edge is the noise of the inputs it is scored on); a cell
  ALERT misses counts as *within the split floor* when ALERT's objective and violated settings
  are both at or below OracleStatic_split's. Cells of the tuning data (``--tune``, default: the first ``--measured`` platform of
  ``alert reproduce``, ``this-cpu``, workloads ``default`` and ``memory``, both costs, as
  ``benchmarks/estimator_eval.py --sets tune``) are marked in-sample; every other is out-of-sample.
* **Simulated suite** (rows with ``"measured": false``, task not ``sentence``), per variant and
  goal: the harmonic mean over cells of ALERT's and Oracle_State's normalised objective (ALERT
  within 3 %: ALERT ≤ 1.03 × Oracle_State; beside it, where the rows have it, ALERT over
  Oracle_State_split, Oracle_State chosen on the other half of each state's inputs) and ALERT's violated settings against a third of
  ALERT_paper's. Violated settings here are those OracleStatic meets (the rows' ``violated``,
  the count the issue's table quotes: 27 / 47 for the paper's ALERT); all violated settings
  (``violated_all``) are shown beside them.
* **Sentence task** (task ``sentence``): the share of (setting, sentence) tests whose constraints
  are met (``sentences_met``), ALERT_paper vs ALERT, per cell and over all cells.

    PYTHONPATH=src python benchmarks/bar_check.py /tmp/r13m/results.json --json bar.json
    PYTHONPATH=src python benchmarks/bar_check.py OUT/results.json OUT/results-noisy.json
    PYTHONPATH=src python benchmarks/bar_check.py --suite sim.json   # run the simulated suite first

``--suite OUT`` runs the simulated suite of ``alert reproduce`` (``suite.SuiteConfig()``: both
variants, 300 inputs, 8 x 5 settings per cell, seed 0) with only the schemes these checks read,
writes its rows to OUT and checks them (``--quick`` for ``SuiteConfig.quick()``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alert.evaluation import metrics, report, suite  # noqa: E402

SHOWN = ("ALERT", "ALERT_paper", "ALERT_Pr90")
SUITE_SCHEMES = ("ALERT", "ALERT_paper", "ALERT_Pr90", "Static_profile", "Oracle_State", "Oracle_State_split", "Oracle",
                 "OracleStatic")
DEFAULT_TUNE = ("this-cpu:default", "this-cpu:memory")
SIM_LIMIT, SIM_VIOLATION_SHARE = 1.03, 1 / 3


def _viol(r: dict[str, Any]) -> int:
    return report._violated_all(r)


def _num(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def measured_cells(rows: Sequence[dict[str, Any]], tune: Sequence[str] = DEFAULT_TUNE) -> list[dict[str, Any]]:
    """One record per recorded cell: ALERT (and the shown variants) against the bar and Static_profile."""
    cells: dict[tuple[str, str, str, str], dict[str, dict[str, Any]]] = {}
    for r in rows:
        if r.get("measured") and r["task"] != "sentence":
            cells.setdefault((r["platform"], str(r.get("cost", "")), r["workload"], r["goal"]), {})[r["scheme"]] = r
    out = []
    for (plat, cost, w, g), c in cells.items():
        base, alert, sp = c.get("OracleStatic"), c.get("ALERT"), c.get("Static_profile")
        if base is None or alert is None:
            continue
        rec: dict[str, Any] = {
            "platform": plat, "cost": cost, "workload": w, "goal": g,
            "sample": "in" if f"{plat}:{w}" in tune else "out",
            "contended": w != "default", "bar": report.bar_limit(w, g), "settings": base["settings"],
            "oracle_static_violated": int(base["baseline_violated"]),
        }
        for n in SHOWN:
            if n in c:
                rec[n] = {"normalized": _num(c[n]["normalized"]), "violated": _viol(c[n]),
                          "fair": _num(c[n].get("common_normalized")),
                          "objective_ok": report.at_or_below(c[n], rec["bar"]),
                          "violations_ok": report.violations_ok(c[n], base),
                          "meets_bar": report.meets_bar(c[n], base)}
        split = c.get("OracleStatic_split")
        if split is not None:
            rec["OracleStatic_split"] = {"normalized": _num(split["normalized"]), "violated": _viol(split)}
            a, b = rec["ALERT"], rec["OracleStatic_split"]
            rec["within_split_floor"] = (not a["meets_bar"] and a["violated"] <= b["violated"]
                                         and (a["normalized"] is None or b["normalized"] is None
                                              or a["normalized"] <= b["normalized"]))
        if sp is not None:
            rec["Static_profile"] = {"normalized": _num(sp["normalized"]), "violated": _viol(sp),
                                     "fair": _num(sp.get("common_normalized"))}
            rec["beats_static_profile"] = report.beats(alert, sp)
        out.append(rec)
    return out


def measured_table(cells: Sequence[dict[str, Any]]) -> str:
    def f(x: dict[str, Any] | None, mark: bool = True) -> str:
        if x is None:
            return "-"
        v = "n/a" if x["normalized"] is None else f"{x['normalized']:.3f}"
        return f"{v} ({x['violated']})" + ("" if not mark or x["meets_bar"] else "*")

    head = ["platform", "cost", "workload", "goal", "sample", "bar", "ALERT", "ALERT_paper", "ALERT_Pr90",
            "Static_profile", "OS_split", "OS viol", "beats SP"]
    L = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in cells:
        sp = c.get("Static_profile")
        spv = "-" if sp is None else ("n/a" if sp["normalized"] is None else f"{sp['normalized']:.3f}") + \
            f" ({sp['violated']})"
        beat = "-" if sp is None else ("yes" if c["beats_static_profile"] else "no")
        split = c.get("OracleStatic_split")
        spl = "-" if split is None else ("n/a" if split["normalized"] is None else f"{split['normalized']:.3f}") + \
            f" ({split['violated']})" + ("" if split is None or not c["within_split_floor"] else " ≥")
        L.append("| " + " | ".join([c["platform"], c["cost"], c["workload"], c["goal"], c["sample"],
                                     f"{c['bar']:.2f}", f(c.get("ALERT")), f(c.get("ALERT_paper")),
                                     f(c.get("ALERT_Pr90")), spv, spl, str(c["oracle_static_violated"]), beat])
                 + " |")
    return "\n".join(L)


def measured_summary(cells: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sample in ("in", "out", "all"):
        sub = [c for c in cells if sample == "all" or c["sample"] == sample]
        cont = [c for c in sub if c["contended"] and "beats_static_profile" in c]
        out[sample] = {
            "cells": len(sub),
            **{f"{n}_meets_bar": sum(bool(c.get(n, {}).get("meets_bar")) for c in sub) for n in SHOWN},
            "ALERT_objective_ok": sum(c["ALERT"]["objective_ok"] for c in sub),
            "ALERT_violations_ok": sum(c["ALERT"]["violations_ok"] for c in sub),
            "contended_cells": len(cont),
            "ALERT_beats_static_profile_contended": sum(c["beats_static_profile"] for c in cont),
            "ALERT_misses_within_split_floor": sum(bool(c.get("within_split_floor")) for c in sub),
        }
    return out


def simulated(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per simulated variant and goal: harmonic means and violated settings of the schemes."""
    sims = [r for r in rows if not r.get("measured") and r["task"] != "sentence"]
    out = []
    for v in dict.fromkeys(r.get("variant", "paper") for r in sims):
        for g in report.GOALS:
            sub = [r for r in sims if r.get("variant", "paper") == v and r["goal"] == g]
            rec: dict[str, Any] = {"variant": v, "goal": g, "cells": len({(r["platform"], r["task"], r["workload"])
                                                                        for r in sub})}
            for n in SUITE_SCHEMES:
                rs = [r for r in sub if r["scheme"] == n]
                if rs:
                    rec[n] = {"hmean": _num(metrics.harmonic_mean([r["normalized"] for r in rs
                                                                   if r["normalized"] is not None])),
                              "fair_hmean": _num(metrics.harmonic_mean([r["common_normalized"] for r in rs
                                                                        if r.get("common_normalized") is not None])),
                              "violated": sum(int(r["violated"]) for r in rs),
                              "violated_all": sum(_viol(r) for r in rs), "settings": sum(r["settings"] for r in rs)}
            a, s, p = rec.get("ALERT"), rec.get("Oracle_State"), rec.get("ALERT_paper")
            if a and s and a["hmean"] is not None and s["hmean"] is not None:
                rec["ALERT_over_Oracle_State"] = round(a["hmean"] / s["hmean"], 4)
                rec["within_3pct"] = rec["ALERT_over_Oracle_State"] <= SIM_LIMIT + 1e-9
            split = rec.get("Oracle_State_split")
            if a and split and a["hmean"] is not None and split["hmean"] is not None:
                rec["ALERT_over_Oracle_State_split"] = round(a["hmean"] / split["hmean"], 4)
            if a and p:
                rec["violations_ok"] = a["violated"] <= SIM_VIOLATION_SHARE * p["violated"] + 1e-9
            out.append(rec)
    return out


def simulated_table(recs: Sequence[dict[str, Any]]) -> str:
    names = [n for n in SUITE_SCHEMES if any(n in r for r in recs)]
    split = any("ALERT_over_Oracle_State_split" in r for r in recs)
    head = ["variant", "goal", "cells", *names, "ALERT / Oracle_State", *(["ALERT / Oracle_State_split"] if split else []),
            "ALERT viol <= paper's / 3"]
    L = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in recs:
        cols = ["-" if n not in r else f"{r[n]['hmean']:.3f} ({r[n]['violated']}; {r[n]['violated_all']})"
                for n in names]
        ratio = r.get("ALERT_over_Oracle_State")
        rs = r.get("ALERT_over_Oracle_State_split")
        L.append("| " + " | ".join([r["variant"], r["goal"], str(r["cells"]), *cols,
                                     "-" if ratio is None else f"{ratio:.3f}" + ("" if r["within_3pct"] else "*"),
                                     *([] if not split else ["-" if rs is None else f"{rs:.3f}"]),
                                     "-" if "violations_ok" not in r else ("yes" if r["violations_ok"] else "no")])
                 + " |")
    return "\n".join(L)


def sentence(rows: Sequence[dict[str, Any]], names: Sequence[str] = ("ALERT_paper", "ALERT")) -> list[dict[str, Any]]:
    """Share of (setting, sentence) tests met per cell, and over all cells, for ``names``."""
    sent = [r for r in rows if r["task"] == "sentence" and "sentences_met" in r]
    out = []
    keys = list(dict.fromkeys((r["workload"], r["goal"]) for r in sent))
    for w, g in [*keys, ("all", "all")]:
        rec: dict[str, Any] = {"workload": w, "goal": g}
        for n in names:
            rs = [r for r in sent if r["scheme"] == n and (w == "all" or (r["workload"], r["goal"]) == (w, g))]
            if rs:
                tests = [r["settings"] * r["sentences"] for r in rs]
                rec[n] = {"met": round(float(np.average([r["sentences_met"] for r in rs], weights=tests)), 4),
                          "violated": sum(_viol(r) for r in rs), "settings": sum(r["settings"] for r in rs)}
        if len(rec) > 2:
            out.append(rec)
    return out


def sentence_table(recs: Sequence[dict[str, Any]], names: Sequence[str] = ("ALERT_paper", "ALERT")) -> str:
    head = ["workload", "goal", *(f"{n}: met % (violated)" for n in names)]
    L = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in recs:
        L.append("| " + " | ".join([r["workload"], r["goal"], *("-" if n not in r else
                                    f"{100 * r[n]['met']:.1f} ({r[n]['violated']})" for n in names)]) + " |")
    return "\n".join(L)


def run_suite(out: Path, quick: bool) -> list[dict[str, Any]]:
    cfg = suite.SuiteConfig.quick() if quick else suite.SuiteConfig()
    cfg = suite.SuiteConfig(**{**cfg.__dict__, "schemes": SUITE_SCHEMES})
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    rows = suite.run_suite(cfg)
    secs = time.perf_counter() - t0
    for r in rows:
        r["measured"] = False
    out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"simulated suite ({'quick' if quick else 'full'} config, schemes {', '.join(SUITE_SCHEMES)}): "
          f"{secs:.0f} s, rows in {out}")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="*", help="results.json files of alert reproduce (rows are concatenated)")
    ap.add_argument("--tune", default=",".join(DEFAULT_TUNE),
                    help="comma-separated PLATFORM:WORKLOAD cells the estimator was tuned on (in-sample)")
    ap.add_argument("--suite", metavar="OUT", help="run the simulated suite (only the schemes checked) into OUT")
    ap.add_argument("--quick", action="store_true", help="with --suite: SuiteConfig.quick()")
    ap.add_argument("--as-alert", metavar="SCHEME",
                    help="check SCHEME's rows in place of ALERT's (a prototype registered under its own scheme name)")
    ap.add_argument("--json", metavar="PATH", help="write every check as JSON")
    args = ap.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for p in args.results:
        try:
            doc = json.loads(Path(p).read_text())
        except (OSError, json.JSONDecodeError) as e:
            ap.error(f"{p}: cannot read a results.json ({e}); give the file alert reproduce wrote")
        rows += doc if isinstance(doc, list) else doc.get("rows", [])
    if args.suite:
        rows += run_suite(Path(args.suite), args.quick)
    if not rows:
        ap.error("no rows: give results.json files or --suite OUT")
    if args.as_alert:
        if not any(r["scheme"] == args.as_alert for r in rows):
            ap.error(f"--as-alert {args.as_alert}: no rows of that scheme in the files given")
        rows = [{**r, "scheme": "ALERT"} if r["scheme"] == args.as_alert else r for r in rows
                if r["scheme"] != "ALERT"]
    # one row per cell and scheme: a later file's row replaces an earlier one (merge runs)
    rows = list({(r.get("variant"), r["platform"], r["task"], r["workload"], r["goal"], r.get("cost"),
                  r["scheme"]): r for r in rows}.values())
    tune = [t for t in args.tune.split(",") if t]
    doc: dict[str, Any] = {}
    cells = measured_cells(rows, tune)
    if cells:
        doc["measured"] = {"cells": cells, "summary": measured_summary(cells)}
        print("Recorded platforms: normalised objective (violated settings, all); '*' misses the bar\n")
        print(measured_table(cells))
        for k, s in doc["measured"]["summary"].items():
            print(f"\n{k}-sample: {s['cells']} cells; meet the bar: ALERT {s['ALERT_meets_bar']}, "
                  f"ALERT_paper {s.get('ALERT_paper_meets_bar')}, ALERT_Pr90 {s.get('ALERT_Pr90_meets_bar')}; "
                  f"ALERT objective ok {s['ALERT_objective_ok']}, violations ok {s['ALERT_violations_ok']}; "
                  f"ALERT beats Static_profile in {s['ALERT_beats_static_profile_contended']} of "
                  f"{s['contended_cells']} contended cells; of the cells ALERT misses, "
                  f"{s['ALERT_misses_within_split_floor']} within the split floor", end="")
        print()
        if any("OracleStatic_split" in c for c in cells):
            print("\nOS_split: OracleStatic chosen on the other half of the inputs; ' ≥': ALERT misses the bar "
                  "but its objective and violated settings are at or below OS_split's")
    sims = simulated(rows)
    if sims:
        doc["simulated"] = sims
        print("\nSimulated suite: harmonic mean normalised to OracleStatic (violated settings that OracleStatic "
              "meets; all violated settings)\n")
        print(simulated_table(sims))
    sent = sentence(rows)
    if sent:
        doc["sentence"] = sent
        print("\nSentence task: share of (setting, sentence) tests meeting every constraint\n")
        print(sentence_table(sent))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
