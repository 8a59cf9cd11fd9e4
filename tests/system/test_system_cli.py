"""The system-layer subcommands through ``alert``'s parser."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from _system_fakes import make_rapl

from alert.cli import main


def test_doctor_json_lists_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json"]) == 0
    checks = json.loads(capsys.readouterr().out)
    names = {c["name"] for c in checks}
    assert {"cpufreq cap", "torch threads", "cpu-time model", "simulated"} <= names
    assert all(c["ok"] or c["fix"] for c in checks)  # every failure says how to fix it


def test_contend_stops_after_duration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contend", "compute", "--on", "0.1", "--off", "0.1", "--duration", "0.3", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 worker(s), on 0.1 s / off 0.1 s, for 0.3 s" in out and "M arithmetic iterations" in out
    assert main(["contend", "memory", "--on", "0", "--off", "1", "--duration", "1"]) == 2


def test_restore_command(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from alert.system import restore
    from alert.system.roots import SystemRoots

    monkeypatch.setattr(restore, "ROOTS", SystemRoots(powercap=tmp_path / "pc"))
    z = make_rapl(tmp_path / "pc")
    (z / "constraint_0_power_limit_uw").write_text("5000000\n")
    state = tmp_path / "state"
    state.mkdir()
    doc = {"pid": 2**22 + 12345, "knobs": [{"kind": "rapl", "zone": str(z),
                                            "files": {"constraint_0_power_limit_uw": 15_000_000}}]}
    (state / f"state-{2**22 + 12345}.json").write_text(json.dumps(doc))
    assert main(["restore", "--state-dir", str(state)]) == 0
    assert "restored" in capsys.readouterr().out
    assert (z / "constraint_0_power_limit_uw").read_text().strip() == "15000000"
    assert main(["restore", "--state-dir", str(state)]) == 0
    assert "nothing to restore" in capsys.readouterr().out


@pytest.mark.torch
def test_profile_command_with_simulated_knob(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    models = tmp_path / "tiny-models.py"
    models.write_text("import torch\n"
                      "def build():\n"
                      "    torch.manual_seed(0)\n"
                      "    return {'lin': torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))}\n")
    out = tmp_path / "p.json"
    rc = main(["profile", "--models", f"{models}:build", "--knob", "simulated", "--meter", "simulated",
               "--settings", "1", "2", "--data", "random", "--accuracy", "lin=0.5", "--repeats", "3",
               "--warmup", "1", "--settle", "0", "--idle-window", "0.01", "--out", str(out), "--quiet",
               "--trace", str(tmp_path / "t.npz")])
    assert rc == 0
    from alert.evaluation.traces import Trace
    from alert.profile import Profile

    p = Profile.load(out)
    assert [s.value for s in p.settings] == [1.0, 2.0] and p.models[0].accuracy.tolist() == [0.5]
    assert p.idle_power == pytest.approx([1.0, 2.0])  # simulated meter: power = setting
    assert Trace.load(tmp_path / "t.npz").shape == (3, 1, 2)
    assert not Path(f"{out}.partial.json").exists()
    log = tmp_path / "run.csv"
    rc = main(["run", "--profile", str(out), "--goal", "max-accuracy:deadline=0.05", "--models", f"{models}:build",
               "--knob", "simulated", "--meter", "simulated", "--data", "random", "--inputs", "5",
               "--log", str(log), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["inputs"] == 5 and summary["deadline_miss_rate"] == 0.0
    assert len(log.read_text().strip().splitlines()) == 6
    for start in ("off", "on"):  # the contention schedule starts in the phase asked for
        rc = main(["run", "--profile", str(out), "--goal", "max-accuracy:deadline=0.05", "--models",
                   f"{models}:build", "--knob", "simulated", "--meter", "simulated", "--data", "random",
                   "--inputs", "3", "--contend", "compute", "--contend-workers", "1", "--on", "60", "--off", "60",
                   "--contend-start", start, "--log", str(log), "--json"])
        assert rc == 0
        with open(log, newline="") as f:
            assert {r["state"] for r in csv.DictReader(f)} == {start}
