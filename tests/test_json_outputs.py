"""Every ``--json`` output (and every JSON file a command writes) parses with a strict parser that
rejects NaN and Infinity; a missing number is null with a ``<key>_reason``. Exit codes: 0 met,
2 bad input, 3 infeasible. Goal errors name the key and the valid ones. Logging: -q and -v."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alert import strictjson
from alert.cli import main
from alert.evaluation import scenarios
from alert.goals import GoalError, MinimizeLatency, format_goal, parse_goal

ROOT = Path(__file__).resolve().parents[1]


def strict_loads(text: str):
    def reject(const: str):
        raise AssertionError(f"not strict JSON: {const}")

    return json.loads(text, parse_constant=reject)


def walk(doc):
    """Every leaf of a JSON document."""
    if isinstance(doc, dict):
        for v in doc.values():
            yield from walk(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from walk(v)
    else:
        yield doc


# ------------------------------------------------------------------ the strict encoder itself
def test_strict_replaces_every_non_finite_number_and_says_why():
    doc = {"a": 1.5, "b": float("nan"), "c": [1.0, float("inf"), np.float32("nan")], "d": {"e": -math.inf},
           "f": np.array([[1.0, np.nan]]), "g": np.int64(3), "h": np.bool_(True), "s": "NaN"}
    text = strictjson.dumps(doc, {"b": "no data"})
    out = strict_loads(text)
    assert out["a"] == 1.5 and out["b"] is None and out["b_reason"] == "no data (not a number (NaN))"
    assert out["c"] == [1.0, None, None] and "entry 1: +infinity" in out["c_reason"] and "entry 2" in out["c_reason"]
    assert out["d"] == {"e": None, "e_reason": "-infinity"}
    assert out["f"] == [[1.0, None]] and "entry 0" in out["f_reason"]
    assert out["g"] == 3 and out["h"] is True and out["s"] == "NaN"  # strings are left alone
    assert "a_reason" not in out and "g_reason" not in out
    # a value already None gets the caller's reason for its key, and only then
    assert strictjson.strict({"x": None, "y": None}, {"x": "not measured"}) == {
        "x": None, "y": None, "x_reason": "not measured"}
    with pytest.raises(ValueError):
        strictjson.loads('{"x": NaN}')
    assert strictjson.loads(text) == out


# ------------------------------------------------------------------ every --json of the CLI
def run_json(capsys, argv, code=0):
    rc = main(argv)
    captured = capsys.readouterr()
    assert rc == code, (argv, captured.err)
    return captured.out


def test_check_decide_demo_json_are_strict(capsys):
    lines = run_json(capsys, ["check", "laptop-cpu", "gpu-small", "cpu-quota", "--json"]).splitlines()
    assert [strict_loads(x)["name"] for x in lines] == ["laptop-cpu", "gpu-small", "cpu-quota"]
    met = strict_loads(run_json(capsys, ["decide", "laptop-cpu", "--goal", "min-energy:deadline=0.2,accuracy=0.88",
                                         "--json"]))
    assert met["feasible"] is True and all(met["goals_met"].values())
    # min-latency has no deadline: null with the reason, not Infinity
    lat = strict_loads(run_json(capsys, ["decide", "laptop-cpu", "--goal", "min-latency:accuracy=0.9", "--json"]))
    assert lat["deadline"] is None and "no deadline" in lat["deadline_reason"]
    demo = strict_loads(run_json(capsys, ["demo", "--inputs", "30", "--json"]).splitlines()[-1])
    assert all(not isinstance(v, float) or math.isfinite(v) for v in walk(demo))


def test_decide_exit_codes(capsys):
    # 3: infeasible (1 ms is below every model's latency); the fallback decision is still printed
    out = strict_loads(run_json(capsys, ["decide", "laptop-cpu", "--goal", "min-energy:deadline=0.001,accuracy=0.99",
                                         "--json"], code=3))
    assert out["feasible"] is False and out["gave_up"]
    # 2: bad input (goal, profile, assumption)
    assert main(["decide", "laptop-cpu", "--goal", "min-energy:deadline=-1,accuracy=0.9"]) == 2
    assert main(["decide", "no-such-profile", "--goal", "min-energy:deadline=0.1,accuracy=0.9"]) == 2
    with pytest.raises(SystemExit) as e:  # argparse rejects the number itself, with the same code
        main(["decide", "laptop-cpu", "--goal", "min-energy:deadline=0.1,accuracy=0.9", "--slowdown", "-1"])
    assert e.value.code == 2
    assert main(["check", str(ROOT / "pyproject.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("error: ") == 4 and "--slowdown" in err


def test_evaluate_json_is_strict_where_a_cell_has_no_average(tmp_path, capsys):
    t = tmp_path / "t.npz"
    scenarios.generate("gpu", "image", "compute", "paper", 40).save(t)
    # a deadline no configuration meets: every scheme and OracleStatic violate it, nothing to average
    out = strict_loads(run_json(capsys, ["evaluate", "--trace", str(t), "--goal",
                                         "min-energy:deadline=0.0001,accuracy=0.99", "--schemes", "ALERT,Oracle",
                                         "--json"]))
    alert = out["schemes"]["ALERT"]
    assert alert["normalized"] is None and "violates every setting" in alert["normalized_reason"]
    grid = strict_loads(run_json(capsys, ["evaluate", "--trace", str(t), "--grid", "min-energy", "--schemes", "ALERT",
                                          "--json"]))
    assert len(grid["settings"]) == len(grid["schemes"]["ALERT"]["objective"])


def test_doctor_json_is_strict(capsys):
    checks = strict_loads(run_json(capsys, ["doctor", "--json"]))
    assert checks and all("name" in c for c in checks)


@pytest.mark.torch
def test_run_json_and_jsonl_log_are_strict(tmp_path, capsys):
    pytest.importorskip("torch")
    models = tmp_path / "tiny.py"
    models.write_text("import torch\n"
                      "def build():\n"
                      "    torch.manual_seed(0)\n"
                      "    return {'lin': torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))}\n")
    prof = tmp_path / "p.json"
    assert main(["-q", "profile", "--models", f"{models}:build", "--knob", "simulated", "--meter", "simulated",
                 "--settings", "1", "2", "--data", "random", "--accuracy", "lin=0.5", "--repeats", "3", "--warmup",
                 "1", "--settle", "0", "--idle-window", "0.01", "--out", str(prof), "--quiet"]) == 0
    capsys.readouterr()
    log = tmp_path / "run.jsonl"
    goal = "max-accuracy:deadline=0.05"
    out = run_json(capsys, ["run", "--profile", str(prof), "--goal", goal, "--models", f"{models}:build", "--knob",
                            "simulated", "--meter", "simulated", "--data", "random", "--inputs", "4", "--log",
                            str(log), "--json"])
    summary = strict_loads(out.strip().splitlines()[-1])
    # --data random has no labels: the measured accuracy is null, with the reason
    assert summary["accuracy_measured"] is None and "no input had a label" in summary["accuracy_measured_reason"]
    lines = [strict_loads(x) for x in log.read_text().splitlines()]
    assert lines[0]["goal"] == goal and len(lines) == 5 and all(x["goal"] == goal for x in lines[1:])
    # the profile's metadata is portable: the command as `alert ...`, no absolute path, a clean platform
    meta = json.loads(prof.read_text())["metadata"]
    assert meta["command"].startswith("alert -q profile --models .../tiny.py:build --knob simulated")
    assert str(tmp_path) not in meta["command"]
    assert ", " in meta["platform"] and " CPUs" in meta["platform"]


def test_reproduce_writes_strict_json(tmp_path):
    from alert.cli import evaluation as ev

    # the writer of results.json and meta.json is the strict one
    text = strictjson.dumps([{"normalized": float("nan"), "x": 1}], indent=1)
    assert strict_loads(text)[0]["normalized"] is None
    assert ev.strictjson is strictjson


# ------------------------------------------------------------------ goal strings and errors
@pytest.mark.parametrize("text", ["min-energy:deadline=0.1,accuracy=0.9", "max-accuracy:deadline=0.05,power=20",
                                  "max-accuracy:deadline=0.05,energy=1.25,pr_th=0.9", "min-latency:accuracy=0.9",
                                  "min-latency:accuracy=0.9,energy=3", "min-energy:deadline=0.30000000000000004,accuracy=0.9005"])
def test_format_goal_round_trips(text):
    goal = parse_goal(text)
    assert format_goal(goal) == text and parse_goal(format_goal(goal)) == goal


def test_goal_errors_name_the_key_and_the_valid_ones(capsys):
    with pytest.raises(GoalError, match=r"unknown key 'acc' for min-energy; valid keys: deadline, accuracy, pr_th"):
        parse_goal("min-energy:deadline=0.1,acc=0.9")
    with pytest.raises(GoalError, match=r"missing key 'accuracy' for min-energy"):
        parse_goal("min-energy:deadline=0.1")
    with pytest.raises(GoalError, match=r"unknown key 'deadline' for min-latency; valid keys: accuracy, energy"):
        parse_goal("min-latency:deadline=0.1,accuracy=0.9")
    with pytest.raises(GoalError, match="unknown kind 'fast'; use one of max-accuracy, min-energy"):
        parse_goal("fast:deadline=1")
    assert main(["decide", "laptop-cpu", "--goal", "min-energy:deadline=0.1,accuracy=0.9,power=3"]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'power' for min-energy; valid keys: deadline, accuracy, pr_th" in err
    assert "__init__" not in err and "unexpected keyword" not in err
    assert MinimizeLatency(accuracy=0.9).deadline == math.inf


# ------------------------------------------------------------------ logging: -q, -v, stdout for results
def test_quiet_and_verbose_change_stderr_only():
    def alert(*argv):
        return subprocess.run([sys.executable, "-m", "alert", *argv], capture_output=True, text=True, timeout=120,
                              cwd=ROOT)

    goal = ["--goal", "min-energy:deadline=0.001,accuracy=0.99", "--json"]
    loud, quiet = alert("decide", "laptop-cpu", *goal), alert("-qq", "decide", "laptop-cpu", *goal)
    assert loud.returncode == quiet.returncode == 3
    assert loud.stdout == quiet.stdout and strict_loads(loud.stdout)["feasible"] is False
    assert loud.stderr.startswith("warning: goal ") and quiet.stderr == ""


def test_evaluate_all_schemes_on_a_trace_without_an_anytime_model(tmp_path, capsys):
    from alert.evaluation.traces import Trace
    from alert.profile import Profile

    full = scenarios.generate("gpu", "image", "default", "paper", 30)
    keep = [i for i, c in enumerate(full.profile.candidates) if c.stage is None]
    doc = full.profile.to_dict()
    doc["models"] = [m for m in doc["models"] if m["kind"] == "traditional"]
    prof = Profile.from_dict(doc)
    tr = Trace(prof, full.latency[:, keep], full.power[:, keep], full.idle_power, full.state, full.state_names,
               None if full.correct is None else full.correct[:, keep], "trad-only", {})
    t = tmp_path / "trad.npz"
    tr.save(t)
    assert main(["evaluate", "--trace", str(t), "--goal", "min-energy:deadline=0.05,accuracy=0.85", "--json"]) == 0
    cap = capsys.readouterr()
    out = strict_loads(cap.out)
    assert "ALERT" in out["schemes"] and "Sys-only" in out["schemes"]
    assert not {"App-only", "No-coord", "ALERT_Any"} & set(out["schemes"])
    assert "note: skipping scheme 'App-only'" in cap.err and "no anytime model in the profile" in cap.err
    assert out["skipped"]["App-only"] == "no anytime model in the profile"
