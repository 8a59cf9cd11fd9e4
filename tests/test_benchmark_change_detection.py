"""``benchmarks/change_detection.py`` measures how fast change points follow a shift and how often
they fire on noise, for values of the robust estimator's ``confirm_h``."""

from __future__ import annotations

import json

import numpy as np
import pytest


def test_follow_finds_the_change_where_the_sums_say(benchmark_script):
    # the quiet sequence and the sums of tests/test_robust_estimator.py: +0.7 every 2nd input sums to
    # 3.5, 2.33, 5.83 (> h = 5: a change at once with confirm_h 1; refused with 2), 4.67, 8.17
    # (refused), 7.0, 10.5 > 2h: a change at the fourth slow input, 6 inputs after the shift
    bench = benchmark_script("change_detection")
    values = np.array([0.02 * (-1) ** k for k in range(30)] + [0.7 if i % 2 == 0 else 0.0 for i in range(20)])
    assert bench.follow(values, 1.0, 30)[0] == 2
    assert bench.follow(values, 2.0, 30)[0] == 6


def test_the_table_and_its_json(tmp_path, capsys, benchmark_script):
    out = tmp_path / "c.json"
    assert benchmark_script("change_detection").main(["--confirm-h", "1,2", "--seeds", "2", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["seeds"] == 2
    rows = data["cases"]
    assert {r["confirm_h"] for r in rows} == {1.0, 2.0}
    assert sum(r["case"] == "steady" for r in rows) == 8 and sum(r["case"] == "noise" for r in rows) == 6
    for r in rows:
        if r["case"] == "steady" and abs(r["shift"]) == 0.1:  # a shift of 2 sd on every input is found
            assert r["to_change"]["median"] is not None and r["to_change"]["never"] == 0
    assert "change points per 1000 inputs" in text and "2x slow, 1 input in 2" in text


@pytest.mark.parametrize("args", [["--confirm-h", "0.5"], ["--confirm-h", "x"], ["--seeds", "0"]])
def test_bad_options_name_the_option(args, refuses_option):
    refuses_option("change_detection", args)
