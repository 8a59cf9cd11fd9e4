"""``benchmarks/decision_overhead.py`` runs every estimator and goal asked for and reports each case."""

from __future__ import annotations

import json
import math

import pytest


def test_reports_each_estimator_and_goal(capsys, benchmark_script):
    bench = benchmark_script("decision_overhead")
    assert bench.main(["--json", "--inputs", "30", "--sizes", "3x2", "--estimator", "paper,robust",
                       "--goal", "energy,accuracy"]) == 0
    cases = json.loads(capsys.readouterr().out)["cases"]
    assert {(c["estimator"], c["goal"]) for c in cases} == {(e, g) for e in ("paper", "robust")
                                                            for g in ("energy", "accuracy")}
    for c in cases:
        assert c["configurations"] == c["candidates"] * 2 and c["inputs"] == 30
        assert all(math.isfinite(c[k]) and c[k] > 0 for k in ("median_us", "p99_us", "cpu_median_us"))


@pytest.mark.parametrize("args", [["--goal", "latency"], ["--estimator", "kalman"], ["--sizes", "3by2"]])
def test_bad_options_name_the_option(args, refuses_option):
    refuses_option("decision_overhead", args)
