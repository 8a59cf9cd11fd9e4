"""report.md's layout: a summary of at most 40 lines on top (ALERT against Static_profile and
OracleStatic per platform, as "x of y cells"), no table wider than 12 columns, claims with counts."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from eval_helpers import tiny_profile, tiny_trace

from alert.evaluation import measured, report, sentence, suite


def _platform(folder, name, meter):
    folder.mkdir()
    prof = dataclasses.replace(tiny_profile(), name=name)
    prof.save(folder / "profile.json")
    rng = np.random.default_rng(len(name))
    lat = prof.t_prof[None] * rng.uniform(0.9, 1.6, size=(40, 1, 1))
    tr = tiny_trace(lat, state=(np.arange(40) // 10) % 2)
    tr.metadata["meter"] = meter
    tr.save(folder / "memory.npz")
    return measured.load_platform(folder)


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    """Every group the summary has: two simulated variants, three recorded platforms, the sentence task."""
    tmp = tmp_path_factory.mktemp("rep")
    cfg = suite.SuiteConfig(variants=("paper", "noisy"), workloads=("default", "memory"),
                            cells=(("gpu", "image"), ("cpu1", "nlp")), n_inputs=40, n_deadlines=2, n_goals=2)
    rows = [{**r, "measured": False} for r in suite.run_suite(cfg)]
    plats = [_platform(tmp / n, n, m) for n, m in (("rec-cpu", "cpu-time (model)"), ("rec-gpu", "nvml:samples"),
                                                    ("rec-cpu-drift", "cpu-time (model)"))]
    for p in plats:
        rows += measured.reproduce_rows(p, 2, 2)
    scfg = sentence.SentenceSuiteConfig(n_deadlines=2, n_goals=1, max_sentences=6)
    sent = [{**r, "measured": True} for r in sentence.reproduce_rows(cfg=scfg)]
    meta = {"mode": "test", "n_inputs": 40, "settings_per_cell": 4, "seconds": 0.0}
    text = report.markdown(rows, meta, [], [(p, None) for p in plats], sent)
    return text, rows, sent


def _tables(text):
    """Every markdown table row: its number of columns, counted from the pipes."""
    return [(line, line.strip().count("|") - 1) for line in text.splitlines() if line.lstrip().startswith("|")]


def test_summary_fits_in_40_lines_and_comes_first(full_report):
    text, _, _ = full_report
    lines = text.splitlines()
    end = next(i for i, x in enumerate(lines) if x.startswith("## Details") or x.startswith("## Appendix"))
    assert end <= 40, "\n".join(lines[:end])
    top = "\n".join(lines[:end])
    assert "## Summary" in top and "Static_profile" in top and "OracleStatic" in top
    for label in ("Simulated, `paper`", "Simulated, `noisy`", "Recorded CPU `rec-cpu`", "Recorded GPU `rec-gpu`",
                  "Recorded CPU `rec-cpu-drift`", "Sentence task"):
        assert label in top, label
    # no bare verdict: every claim line says in how many cells it holds
    claims = [x for x in top.splitlines() if x.startswith("- ") and "cells" in x and "holds" in x]
    assert len(claims) == 7 and all(re.search(r"holds in (all \d+|\d+ of \d+) cells", x) for x in claims)
    assert "FAILS" not in text


def test_no_table_is_wider_than_12_columns(full_report):
    text, _, _ = full_report
    widths = [n for _, n in _tables(text)]
    assert widths and max(widths) <= 12
    # the wide tables are still there, split: every scheme of the Table 4 layout has a column
    for name in report.table_schemes("table4") + report.table_schemes("extra"):
        assert f"| {name} |" in text or f" {name} |" in text, name


def test_summary_counts_match_the_rows(full_report):
    """'x of y cells' of the simulated `paper` group, recomputed from the rows."""
    text, rows, _ = full_report
    sub = [r for r in rows if not r["measured"] and r["variant"] == "paper"]
    cells = {}
    for r in sub:
        cells.setdefault((r["platform"], r["task"], r["workload"], r["goal"]), {})[r["scheme"]] = r
    both = [c for c in cells.values() if "ALERT" in c and "Static_profile" in c]
    viol = sum(c["ALERT"]["violated_all"] <= c["Static_profile"]["violated_all"] for c in both)
    miss = sum(c["ALERT"]["mean_miss_rate"] <= c["Static_profile"]["mean_miss_rate"] + 1e-12 for c in both)
    va = sum(c["ALERT"]["violated_all"] for c in both)
    vb = sum(c["Static_profile"]["violated_all"] for c in both)
    n = sum(c["ALERT"]["settings"] for c in both)
    line = next(x for x in text.splitlines() if x.startswith("| Simulated, `paper` traces | Static_profile |"))
    cols = [x.strip() for x in line.strip().strip("|").split("|")]
    assert cols[4] == f"{viol} of {len(both)}" and cols[6] == f"{miss} of {len(both)}"
    assert cols[5] == f"{va} / {vb} of {n}"


def test_chunks_split_evenly():
    assert report.chunks(list("abcdefghi"), 7) == [list("abcde"), list("fghi")]
    assert report.chunks(list("abc"), 7) == [list("abc")]
    assert [len(c) for c in report.chunks([str(i) for i in range(15)], 7)] == [5, 5, 5]


def test_claim_verdicts_say_how_much():
    c = report.Claim("X behind Y", 28, 30, "not behind in a, b")
    assert c.verdict() == "X behind Y: holds in 28 of 30 cells; not behind in a, b" and not c.holds
    assert report.Claim("X", 3, 3, "").verdict() == "X: holds in all 3 cells"


def test_most_setting_changes_picks_the_run_with_most_changes():
    from alert.evaluation import figures, metrics, scenarios

    trs = [scenarios.generate("cpu1", "image", "memory", "paper", 40, 0),
           scenarios.generate("gpu", "image", "compute", "paper", 40, 1)]
    grids = [metrics.grid(t.profile, "min-energy", 2, 2) for t in trs]
    ti, ci, k = figures.most_setting_changes(trs, grids)
    counts = {}
    for i, (t, grid) in enumerate(zip(trs, grids, strict=True)):
        for j, c in enumerate(grid):
            s = suite.timeline(t, c, "ALERT").setting
            counts[(i, j)] = sum(int(a != b) for a, b in zip(s[:-1], s[1:], strict=True))
    assert k == max(counts.values()) and (ti, ci) == min(key for key, v in counts.items() if v == k)


def test_recorded_run_figure_draws_a_platform_with_contention(tmp_path):
    pytest.importorskip("matplotlib")
    from alert.evaluation import figures, runplot

    p = _platform(tmp_path / "plat", "rec", "cpu-time (model)")
    out = tmp_path / "fig12.png"
    assert figures.recorded_run_figure([p], out) == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 1000
    # the series it draws: one per scheme, the trace's inputs and contention states in order
    tr = p.traces["memory"]
    c = figures._search_grid(tr, "trace")[0]
    s = runplot.from_timeline(suite.timeline(tr, c, "ALERT"), tr)
    assert len(s.x) == tr.n_inputs and s.state == tuple(tr.state_names[i] for i in tr.states())
    assert np.allclose(s.deadline, c.deadline) and set(s.setting) <= set(tr.profile.setting_values)
