"""MLPerf LoadGen drives the live runtime: SingleStream and Server runs of a few seconds on
sleep-timed fake models (a real LoadGen, real threads and clocks)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from live_fakes import Q_FAIL, AnytimeSleeper, Sleeper, profile, samples

from alert.controller import Controller, ControllerConfig
from alert.goals import MaximizeAccuracy
from alert.live.loadgen import (
    InProcessBackend,
    LoadGenConfig,
    aggregate,
    run_loadgen,
    write_summary,
)
from alert.live.policies import StaticPolicy
from alert.live.runtime import Runtime
from alert.live.serving import QueryServer
from alert.system.meters import SimulatedMeter
from alert.system.simulated import SimulatedKnob

pytestmark = pytest.mark.loadgen
lg = pytest.importorskip("mlperf_loadgen")


def serve(policy, models, data, cfg: LoadGenConfig):
    knob = SimulatedKnob([1.0], unit="level")
    rt = Runtime(policy, knob, SimulatedMeter(lambda: 5.0), {n: m.__alert_runner__ for n, m in models.items()})
    run = run_loadgen(InProcessBackend(data, QueryServer(rt, policy.goal)), len(data), cfg)
    return run, aggregate(run, cfg, "test")


def test_single_stream_valid_one_query_at_a_time_with_the_goals_deadline(tmp_path: Path) -> None:
    models = {"big": Sleeper(0.003), "small": Sleeper(0.001)}
    prof = profile({"big": ([0.9], [0.003]), "small": ([0.7], [0.001])})
    goal = MaximizeAccuracy(deadline=0.030)
    cfg = LoadGenConfig("single-stream", 0.030, min_duration_s=1.5, min_queries=64, outdir=tmp_path,
                        expected_latency=0.001)
    run, s = serve(Controller(prof, goal), models, samples(64), cfg)
    assert run.loadgen["Result is"] == "VALID" and s["loadgen"]["valid"]
    assert run.loadgen["Early stopping satisfied"] == "Yes"
    assert len(run.rows) == s["loadgen"]["query_count"] == s["queries"] and s["errors"] == 0
    q = np.array([r["queue_s"] for r in run.rows])
    assert np.median(q) < 0.002  # LoadGen waits for each answer: nothing queues
    # ALERT picks the most accurate model that fits: the 3 ms one against a 30 ms deadline
    assert s["configurations"].get("big:1", 0) >= 0.9 * len(run.rows)
    assert s["deadline_met_rate"] >= 0.9 and s["goal_met_rate"] == s["deadline_met_rate"]
    # the models predict the label encoded in the input: every delivered output is right
    assert all(r["correct"] == 1.0 for r in run.rows if r["stage_reached"] != 0 and r["goals_met"]["deadline"])
    assert s["delivered_accuracy"] == pytest.approx(  # q of the model if in time, else q_fail
        np.mean([(0.9 if r["model"] == "big" else 0.7) if r["goals_met"]["deadline"] else Q_FAIL for r in run.rows]))
    write_summary(s, tmp_path / "summary.json")
    json.loads((tmp_path / "summary.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


def test_server_gives_the_controller_the_time_left_after_queueing(tmp_path: Path) -> None:
    """Poisson arrivals at 120 QPS against a 6 ms model (utilisation 0.7 if it were always
    picked): queries queue, and each gets its arrival + SLO as deadline. The controller is given
    what remains, so where less than the traditional model's 6 ms remains it picks the anytime
    model (2 stages of 2 ms), and an anytime model that has no stage by the deadline delivers
    q_fail. A fixed 6 ms configuration on the same load misses more."""
    slo = 0.012
    models = {"trad": Sleeper(0.006), "any": AnytimeSleeper([0.002, 0.002])}
    prof = profile({"trad": ([0.9], [0.006]), "any": ([0.6, 0.8], [0.002, 0.002])})
    goal = MaximizeAccuracy(deadline=slo)
    data = samples(64)
    cfg = LoadGenConfig("server", slo, qps=120, min_duration_s=2.0, min_queries=100, outdir=tmp_path / "alert")
    run, s = serve(Controller(prof, goal, ControllerConfig(estimator="paper", overhead=0.0)), models, data, cfg)
    rows = run.rows
    assert len(rows) == s["loadgen"]["query_count"] and s["errors"] == 0 and s["loadgen"]["result"] is not None
    queue = np.array([r["queue_s"] for r in rows])
    given = np.array([r["deadline_s"] for r in rows])
    assert (queue > 0.002).any()  # queueing happened
    reserve = np.array([r["reserve_s"] for r in rows])
    # §3.2: the deadline that remains after queueing, less the time kept for the queries behind
    assert np.all(reserve >= 0) and (reserve > 0).any()
    assert np.allclose(given, np.maximum(np.maximum(slo - queue, 1e-6) - reserve, 1e-9), rtol=0, atol=1e-12)
    short = given < 0.005
    assert short.any() and all(r["model"] == "any" for r, sh in zip(rows, short, strict=True) if sh)
    for r in rows:
        total_ok = r["total_s"] <= slo
        assert r["goals_met"]["deadline"] == (total_ok and r["stage_reached"] != 0)
        if r["model"] == "any":
            reached = r["stage_reached"]
            want = Q_FAIL if reached == 0 or not r["goals_met"]["deadline"] else [0.6, 0.8][reached - 1]
            assert r["delivered_accuracy"] == pytest.approx(want)
    fixed = StaticPolicy(Controller(prof, goal), "trad", None, "1")
    cfg2 = LoadGenConfig("server", slo, qps=120, min_duration_s=2.0, min_queries=100, outdir=tmp_path / "static")
    _, s2 = serve(fixed, models, data, cfg2)
    assert s2["configurations"] == {"trad:1": s2["queries"]}
    assert s["deadline_met_rate"] >= s2["deadline_met_rate"]
    assert math.isfinite(s["p99_s"]) and s["p99_s"] > 0


def _alert(*args: str, cwd: Path | None = None):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root / "src"), str(Path(__file__).parent)]))
    return subprocess.run([sys.executable, "-m", "alert", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=cwd)


def test_help_of_loadgen_and_serve_exits_0() -> None:
    for cmd in ("loadgen", "serve"):
        r = _alert(cmd, "--help")
        assert r.returncode == 0 and f"usage: alert {cmd}" in r.stdout


def test_loadgen_command_writes_loadgen_logs_queries_and_strict_json(tmp_path: Path) -> None:
    prof = profile({"trad": ([0.9], [0.002]), "any": ([0.6, 0.8], [0.001, 0.001])})
    prof.save(tmp_path / "p.json")
    (tmp_path / "m.py").write_text("from live_fakes import AnytimeSleeper, Sleeper\n\n\ndef models():\n"
                                   "    return {'trad': Sleeper(0.002), 'any': AnytimeSleeper([0.001, 0.001])}\n")
    x, y = zip(*samples(32), strict=True)
    np.save(tmp_path / "x.npy", np.concatenate(x))
    np.save(tmp_path / "y.npy", np.concatenate(y))
    out = tmp_path / "out"
    r = _alert("loadgen", "--scenario", "server", "--qps", "50", "--goal", "max-accuracy:deadline=0.02",
               "--profile", str(tmp_path / "p.json"), "--models", f"{tmp_path}/m.py:models", "--knob", "simulated",
               "--meter", "simulated", "--data", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"),
               "--samples", "32", "--duration", "1", "--min-queries", "30", "--policy", "static-best",
               "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "LoadGen: result" in r.stdout and "policy static-best" in r.stdout
    s = json.loads((out / "summary.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    rows = (out / "queries.csv").read_text().splitlines()
    assert len(rows) - 1 == s["queries"] == s["loadgen"]["query_count"] >= 30
    assert s["configurations"] == {"trad:1": s["queries"]}  # the quiet profile's best: 0.9 in 2 ms of 20
    assert s["measured_accuracy"] == pytest.approx(1.0) and (out / "mlperf_log_summary.txt").exists()
    r = _alert("loadgen", "--goal", "max-accuracy:deadline=0.02", "--data", str(tmp_path / "x.npy"),
               "--out", str(out))
    assert r.returncode == 2 and "--profile and --models are needed" in r.stderr
    r = _alert("loadgen", "--goal", "max-accuracy:deadline=0.02", "--profile", str(tmp_path / "p.json"),
               "--models", f"{tmp_path}/m.py:models", "--knob", "simulated", "--policy", "nope:1",
               "--data", str(tmp_path / "x.npy"), "--out", str(out))
    assert r.returncode == 2 and "'nope'" in r.stderr and "Traceback" not in r.stderr
