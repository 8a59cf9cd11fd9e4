"""``benchmarks/decision_overhead.py`` runs every estimator and goal asked for and reports each case."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "decision_overhead.py"


def _bench():
    spec = importlib.util.spec_from_file_location("decision_overhead", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_reports_each_estimator_and_goal(capsys):
    assert _bench().main(["--json", "--inputs", "30", "--sizes", "3x2", "--estimator", "paper,robust",
                          "--goal", "energy,accuracy"]) == 0
    cases = json.loads(capsys.readouterr().out)["cases"]
    assert {(c["estimator"], c["goal"]) for c in cases} == {(e, g) for e in ("paper", "robust")
                                                            for g in ("energy", "accuracy")}
    for c in cases:
        assert c["configurations"] == c["candidates"] * 2 and c["inputs"] == 30
        assert all(math.isfinite(c[k]) and c[k] > 0 for k in ("median_us", "p99_us", "cpu_median_us"))


@pytest.mark.parametrize("args", [["--goal", "latency"], ["--estimator", "kalman"], ["--sizes", "3by2"]])
def test_bad_options_name_the_option(args, capsys):
    with pytest.raises(SystemExit) as e:
        _bench().main(args)
    assert e.value.code == 2
    assert args[0] in capsys.readouterr().err
