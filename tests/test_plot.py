"""`alert plot LOG --out PNG`: the run figure of an `alert run` log (CSV and JSON lines); a
malformed log is a clear error (exit 2, the file and the column), never a traceback."""

from __future__ import annotations

import csv
import json
import struct
import sys

import numpy as np
import pytest

from alert.cli import main
from alert.evaluation import runplot


def png_size(path):
    """(width, height) from the PNG signature and IHDR chunk, read by hand."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def run_logs(tmp_path_factory):
    """A CSV and a JSON-lines log of a short `alert run` (simulated knob and meter, a tiny model)."""
    pytest.importorskip("torch")
    tmp = tmp_path_factory.mktemp("run")
    models = tmp / "tiny.py"
    models.write_text("import torch\n"
                      "def build():\n"
                      "    torch.manual_seed(0)\n"
                      "    return {'lin': torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)),\n"
                      "            'big': torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256),\n"
                      "                                       torch.nn.Linear(256, 10))}\n")
    prof = tmp / "p.json"
    assert main(["-q", "profile", "--models", f"{models}:build", "--knob", "simulated", "--meter", "simulated",
                 "--settings", "1", "2", "--data", "random", "--accuracy", "lin=0.5", "--accuracy", "big=0.6", "--repeats", "3",
                 "--warmup", "1", "--settle", "0", "--idle-window", "0.01", "--out", str(prof), "--quiet"]) == 0
    logs = {}
    for ext in ("csv", "jsonl"):
        log = tmp / f"run.{ext}"
        assert main(["-q", "run", "--profile", str(prof), "--goal", "max-accuracy:deadline=0.05", "--models",
                     f"{models}:build", "--knob", "simulated", "--meter", "simulated", "--data", "random",
                     "--inputs", "12", "--log", str(log)]) == 0
        logs[ext] = log
    return logs


@pytest.mark.torch
@pytest.mark.parametrize("ext", ["csv", "jsonl"])
def test_plot_draws_a_png_of_an_alert_run_log(run_logs, tmp_path, ext, capsys):
    pytest.importorskip("matplotlib")
    log = run_logs[ext]
    out = tmp_path / "run.png"
    assert main(["plot", str(log), "--out", str(out)]) == 0
    w, h = png_size(out)
    assert w > 100 and h > 100 and out.stat().st_size > 1000
    # the series drawn is the log's, read independently
    s = runplot.load_run_log(log)
    if ext == "csv":
        rows = list(csv.DictReader(log.open()))
    else:
        rows = [json.loads(x) for x in log.read_text().splitlines()[1:]]
    assert len(s.x) == len(rows) == 12
    assert np.allclose(s.latency, [float(r["response_s"]) for r in rows])
    # the deadline drawn is the goal's (deadline_s is the controller's, less its overhead reserve)
    assert np.allclose(s.deadline, 0.05) and np.allclose(s.setting, [float(r["setting_value"]) for r in rows])
    assert list(s.late) == [str(r["met_deadline"]).lower() not in ("true", "1") for r in rows]
    assert [m.split("@")[0] for m in s.model] == [r["model"] for r in rows]
    changes = sum(a != b for a, b in zip([r["setting_value"] for r in rows][:-1], [r["setting_value"] for r in rows][1:],
                                         strict=True))
    assert s.setting_changes == changes


@pytest.mark.torch
def test_plot_default_out_is_next_to_the_log(run_logs, tmp_path):
    pytest.importorskip("matplotlib")
    log = tmp_path / "copy.csv"
    log.write_text(run_logs["csv"].read_text())
    assert main(["plot", str(log)]) == 0
    assert png_size(tmp_path / "copy.png")[0] > 0


def test_a_log_without_a_column_is_a_clear_error(tmp_path, capsys):
    log = tmp_path / "bad.csv"
    log.write_text("input,time_s,model,stage,setting,setting_value,response_s,met_deadline\n"
                   "0,0.0,a,,1,1.0,0.01,True\n")
    assert main(["plot", str(log), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert str(log) in err and "deadline_s" in err and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()
    # a header only, without the column, and a number that is not one
    log.write_text("input,time_s\n")
    assert main(["plot", str(log)]) == 2
    assert "deadline_s" in capsys.readouterr().err
    log.write_text("time_s,deadline_s,model,stage,setting,setting_value,response_s,met_deadline\n"
                   "0.0,soon,a,,1,1.0,0.01,True\n")
    assert main(["plot", str(log)]) == 2
    err = capsys.readouterr().err
    assert "deadline_s" in err and "'soon'" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "header"}\n{"kind": "input", "time_s": 0}\n')
    assert main(["plot", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err


def test_without_matplotlib_the_error_names_the_extra(tmp_path, capsys, monkeypatch):
    log = tmp_path / "ok.csv"
    log.write_text("time_s,deadline_s,model,stage,setting,setting_value,response_s,met_deadline,state\n"
                   "0.0,0.05,a,,1,1.0,0.01,True,off\n0.1,0.05,a,,2,2.0,0.06,False,on\n")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", str(log), "--out", str(tmp_path / "x.png")]) == 2
    assert "alert-atc[eval]" in capsys.readouterr().err


def test_contention_states_order_and_quiet():
    assert runplot.state_order(["memory-0.8", "memory-0", "memory-0.4"]) == ["memory-0", "memory-0.4", "memory-0.8"]
    assert runplot.state_order(["on", "off"]) == ["off", "on"]
    assert runplot.is_quiet("off") and runplot.is_quiet("compute-0") and runplot.is_quiet("")
    assert not runplot.is_quiet("on") and not runplot.is_quiet("compute-0.4")


def test_report_figure_13_draws_the_packaged_live_runs(tmp_path, monkeypatch):
    """Figure 13 draws every packaged live-run log (the source tree has them) and is left out,
    returning None, when none is packaged."""
    import alert.resources as res
    from alert.evaluation.figures import live_run_figure
    from alert.evaluation.runplot import load_run_log

    logs = res.live_run_logs()
    assert [label for label, _ in logs][:1] == ["ALERT"] and len(logs) >= 2
    assert all(len(load_run_log(p).x) == 400 for _, p in logs)
    out = tmp_path / "fig13.png"
    assert live_run_figure(out) == str(out) and png_size(out)[0] > 0
    monkeypatch.setattr(res, "live_run_logs", lambda: [])
    assert live_run_figure(tmp_path / "none.png") is None and not (tmp_path / "none.png").exists()
