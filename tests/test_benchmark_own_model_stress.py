"""``benchmarks/own_model_stress.py`` replays the own-model case over fixed costs, bursts and seeds."""

from __future__ import annotations

import json

import pytest


def test_the_issue_case_locks_the_paper_filter_on_and_not_the_default(tmp_path, capsys, benchmark_script):
    bench = benchmark_script("own_model_stress")
    out = tmp_path / "s.json"
    assert bench.main(["--fixed-ms", "0.32", "--bursts", "none", "--seeds", "0,1", "--inputs", "200",
                       "--json", str(out)]) == 0
    text = capsys.readouterr().out
    cases = {c["estimator"]: c for c in json.loads(out.read_text())["cases"]}
    assert set(cases) == {"robust", "paper"}
    assert cases["robust"]["meets"] and cases["robust"]["locked"] == 0
    assert all(r["big_share"] > 0.97 for r in cases["robust"]["runs"])
    assert cases["paper"]["locked"] == 2 and not cases["paper"]["meets"]  # the lock-on the issue reports
    assert cases["paper"]["ratio"] == pytest.approx((0.068 + 0.32) / 0.068)
    assert "robust: 1 of 1 cases meet the live bar for every seed; 0 of 2 runs lock on" in text


@pytest.mark.parametrize("args", [["--bursts", "30-20"], ["--fixed-ms", "x"], ["--estimator", "kalman"],
                                  ["--inputs", "100", "--bursts", "100-160"]])
def test_bad_options_name_the_option(args, refuses_option):
    refuses_option("own_model_stress", args)
