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
    assert main(["check", str(bad)]) == 2
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
    assert main(["decide", str(EXAMPLES / "laptop-cpu.json"), "--goal", "min-energy:deadline=-1,accuracy=0.9"]) == 2
    assert "deadline" in capsys.readouterr().err


def test_decide_names_the_option_value_and_fix(capsys):
    prof = str(EXAMPLES / "laptop-cpu.json")
    assert main(["decide", prof, "--goal", "min-energy:deadline=nan,accuracy=0.9"]) == 2
    err = capsys.readouterr().err
    assert "goal 'min-energy:deadline=nan,accuracy=0.9': deadline must be a finite number" in err and "Fix:" in err
    for argv, said in ((["--priority", "bogus"], "argument --priority: must list latency, accuracy and energy"),
                       (["--priority", "latency,latency,energy"], "argument --priority"),
                       (["--slowdown", "1000"], "argument --slowdown: must be >= 0.02 and <= 50")):
        with pytest.raises(SystemExit) as e:
            main(["decide", prof, "--goal", "max-accuracy:deadline=0.1", *argv])
        assert e.value.code == 2
        assert said in capsys.readouterr().err
    assert main(["decide", prof, "--goal", "max-accuracy:deadline=0.1", "--priority", "energy, latency,accuracy"]) == 0


def test_demo_subprocess_exits_zero():
    r = subprocess.run([*ALERT, "demo", "--inputs", "45", "--json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(summary) == {"calm", "episode", "calm again"}
    # ALERT adapts during the slowdown episode: it misses no more inputs than the static choice
    assert summary["episode"]["alert_miss_rate"] <= summary["episode"]["static_miss_rate"]


def test_trace_outputs_are_named_for_their_format(tmp_path, capsys):
    for argv in (["trace", "generate", "--out", str(tmp_path / "g.txt")], ["trace", "generate", "--out", str(tmp_path / "g.CSV")],
                 ["trace", "generate", "--out", str(tmp_path / "nodir" / "g.npz")],
                 ["trace", "convert", str(tmp_path / "a.npz"), str(tmp_path / "b")]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2, argv
        assert "argument" in capsys.readouterr().err
    assert main(["trace", "generate", "--inputs", "3", "--out", str(tmp_path / "g.csv")]) == 0
    assert (tmp_path / "g.csv").read_text().startswith("# alert-trace")


def test_options_that_do_nothing_in_context_are_refused(tmp_path, capsys):
    prof = str(EXAMPLES / "laptop-cpu.json")
    assert main(["decide", prof, "--goal", "max-accuracy:deadline=0.1", "--mean-only", "--sigma", "0.5"]) == 2
    assert "--sigma: ALERT* (--mean-only) ignores" in capsys.readouterr().err
    trace = tmp_path / "t.npz"
    assert main(["trace", "generate", "--inputs", "3", "--out", str(trace)]) == 0
    for extra in (["--goal", "min-energy:deadline=0.1,accuracy=0.8"], ["--grid", "min-energy"]):
        assert main(["evaluate", "--trace", str(trace), *extra, "--budgets", "trace"]) == 2
        assert "--budgets chooses the power budgets of --grid min-error" in capsys.readouterr().err


def test_train_refuses_a_method_for_a_one_stage_model(tmp_path, capsys):
    pytest.importorskip("torch")
    assert main(["train", "--model", "depth-1", "--method", "sum", "--epochs", "1", "--out", str(tmp_path / "x.ckpt")]) == 2
    assert "--method: depth-1 has one stage" in capsys.readouterr().err
    assert not (tmp_path / "x.ckpt").exists()


def test_a_folder_given_as_a_profile_says_so(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 2
    assert "is a folder, not a profile file" in capsys.readouterr().err


def test_output_names_pick_the_format_and_are_checked(tmp_path, capsys):
    from alert.evaluation.traces import Trace
    for argv, said in ((["run", "--log", str(tmp_path / "o.json")], "argument --log: must end in .csv"),
                       (["profile", "--trace", str(tmp_path / "pt.txt")], "argument --trace: must end in .npz or .csv")):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
        assert said in capsys.readouterr().err
    assert main(["trace", "generate", "--inputs", "2", "--out", str(tmp_path / "g.npz")]) == 0
    with pytest.raises(ValueError, match="named .npz or .csv"):
        Trace.load(tmp_path / "g.npz").save(tmp_path / "g.CSV")
    assert not (tmp_path / "g.CSV").exists()
