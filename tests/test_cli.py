"""End-to-end tests of the ``alert`` command (run as a real subprocess where it matters)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from alert.cli import main
from profile_factory import EXAMPLES

ALERT = [sys.executable, "-m", "alert"]


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("check", "decide", "demo"):
        assert cmd in out


def test_check_valid_and_invalid(tmp_path, capsys):
    assert main(["check", str(EXAMPLES / "laptop-cpu.json")]) == 0
    assert "configurations" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    doc = json.loads((EXAMPLES / "laptop-cpu.json").read_text())
    doc["models"][1]["latency"][3] = -1
    bad.write_text(json.dumps(doc))
    assert main(["check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "models[1].latency[3]" in err


def test_decide_json(capsys):
    assert main(["decide", str(EXAMPLES / "laptop-cpu.json"), "--goal", "min-energy:deadline=0.2,accuracy=0.88",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["goals_met"] == {"latency": True, "accuracy": True}
    assert d["expected_accuracy"] >= 0.88 and d["expected_latency"] <= 0.2


def test_decide_slower_environment_picks_faster(capsys):
    args = [str(EXAMPLES / "laptop-cpu.json"), "--goal", "max-accuracy:deadline=0.2", "--json", "--sigma", "0.05"]
    main(["decide", *args])
    calm = json.loads(capsys.readouterr().out)
    main(["decide", *args, "--slowdown", "2"])
    slow = json.loads(capsys.readouterr().out)
    assert slow["expected_latency"] <= 0.2 and slow["expected_accuracy"] < calm["expected_accuracy"]


def test_decide_bad_goal(capsys):
    assert main(["decide", str(EXAMPLES / "laptop-cpu.json"), "--goal", "min-energy:deadline=-1,accuracy=0.9"]) == 1
    assert "deadline" in capsys.readouterr().err


def test_demo_subprocess_exits_zero():
    r = subprocess.run([*ALERT, "demo", "--inputs", "45", "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(summary) == {"calm", "episode", "calm again"}
    # ALERT adapts during the slowdown episode: it misses no more inputs than the static choice
    assert summary["episode"]["alert_miss_rate"] <= summary["episode"]["static_miss_rate"]
