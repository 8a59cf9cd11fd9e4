"""The run log: the goal column is the goal string, and the JSON-lines log holds every estimate."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from test_system_runtime import make

from alert import strictjson
from alert.goals import MaximizeAccuracy, MinimizeEnergy, parse_goal
from alert.live.runtime import JSONL_FORMAT, LOG_COLUMNS


def test_csv_goal_column_is_the_goal_string(tmp_path: Path) -> None:
    goal = MaximizeAccuracy(deadline=0.05, power=12.5, pr_th=0.9)
    rt, _, _ = make(goal)
    rt.serve(((None, 3) for _ in range(5)), log=tmp_path / "log.csv")
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert {r["goal"] for r in rows} == {"max-accuracy:deadline=0.05,power=12.5,pr_th=0.9"}
    assert parse_goal(rows[0]["goal"]) == goal


@pytest.mark.parametrize("policy", ["alert", "static"])
def test_jsonl_log_holds_the_goal_and_every_estimate(tmp_path: Path, policy: str) -> None:
    goal = MinimizeEnergy(deadline=0.05, accuracy=0.85)
    rt, world, _ = make(goal, policy)
    log = tmp_path / "run.jsonl"
    inputs = iter(range(12))

    def stream():
        for i in inputs:
            world.slowdown = 1.0 if i < 6 else 1.8  # the estimates must move with the slowdown
            yield (None, 3)

    recs = rt.serve(stream(), log=log)
    lines = [strictjson.loads(line) for line in log.read_text().splitlines()]
    head, rows = lines[0], lines[1:]
    assert head["kind"] == "header" and head["format"] == JSONL_FORMAT
    assert parse_goal(head["goal"]) == goal and head["goal"] == "min-energy:deadline=0.05,accuracy=0.85"
    assert head["candidates"] == ["small", "big", "any@1", "any@2", "any@3"]
    assert head["settings"] == ["0.5c", "1.0c", "2.0c"] and head["columns"] == list(LOG_COLUMNS)
    assert len(rows) == len(recs) == 12
    for row, rec in zip(rows, recs, strict=True):
        assert row["kind"] == "input" and row["goal"] == head["goal"]
        assert set(LOG_COLUMNS) <= set(row)
        est = row["estimates"]
        c = head["candidates"].index(rec.model if rec.stage is None else f"{rec.model}@{rec.stage}")
        j = head["settings"].index(rec.setting)
        for key in ("latency_s", "pr", "accuracy", "energy_j"):
            assert len(est[key]) == 5 and all(len(r) == 3 for r in est[key])
        # the matrices are those the decision was made from: the chosen cell is the record's
        assert est["latency_s"][c][j] == pytest.approx(rec.expected_latency_s, rel=1e-12)
        assert est["pr"][c][j] == pytest.approx(rec.pr, rel=1e-12)
        assert est["energy_j"][c][j] == pytest.approx(rec.expected_energy_j, rel=1e-12)
        assert est["slowdown"]["mean"] > 0 and 0 <= est["idle_ratio"]
    # the state before an input is the state after the one before it
    for prev, row in zip(rows, rows[1:], strict=False):
        assert row["estimates"]["slowdown"] == prev["estimator_after"]["slowdown"]
        assert row["estimates"]["idle_ratio"] == prev["estimator_after"]["idle_ratio"]
    means = [r["estimator_after"]["slowdown"]["mean"] for r in rows]
    if policy == "alert":  # it follows the slowdown: a higher mean once the machine is 1.8x slower
        assert means[-1] > means[3] + 0.3
    else:  # a static policy feeds nothing back
        assert means == [1.0] * 12
