"""The README's "Use ALERT with your own model" section runs as written, and user inputs
(``--data FILE.npy``, ``--labels``) are checked with clear errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Use ALERT with your own model"
EXAMPLE = ROOT / "examples" / "own-model" / "my_models.py"


def section_blocks() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    body = text[start:end if end >= 0 else None]
    return re.findall(r"```(\w+)\n(.*?)```", body, flags=re.S)


def test_readme_includes_the_example_models_verbatim() -> None:
    blocks = section_blocks()
    assert blocks[0] == ("python", EXAMPLE.read_text())
    assert [lang for lang, _ in blocks] == ["python", "bash", "python", "python", "python"]


def _env(tmp_path: Path) -> dict[str, str]:
    """``alert`` and ``python`` on PATH as this interpreter with this checkout's sources."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "alert").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m alert "$@"\n')
    (bindir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    for f in bindir.iterdir():
        f.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@pytest.mark.torch
def test_readme_own_model_section_runs_as_written(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from alert.live import LOG_COLUMNS
    from alert.profile import Profile

    work = tmp_path / "examples" / "own-model"
    work.mkdir(parents=True)
    shutil.copy(EXAMPLE, work / "my_models.py")
    env = _env(tmp_path)
    blocks = section_blocks()
    r = subprocess.run(["bash", "-e", "-c", blocks[1][1]], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    outs = []
    for i, (_, code) in enumerate(blocks[2:]):
        script = work / f"readme_block_{i}.py"
        script.write_text(code)
        r = subprocess.run([sys.executable, script.name], cwd=work, env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        outs.append(r.stdout)
    # the CLI and Python profiles: both models, accuracy measured from the labels on the held-out
    # samples, which we compute here independently
    sys.path.insert(0, str(work))
    try:
        import my_models  # type: ignore[import-not-found]

        nets = my_models.models()
    finally:
        sys.path.remove(str(work))
        sys.modules.pop("my_models", None)
    x, y = np.load(work / "inputs.npy"), np.load(work / "labels.npy")
    with torch.inference_mode():
        acc = {n: float((m(torch.from_numpy(x[-1000:])).argmax(1).numpy() == y[-1000:]).mean())
               for n, m in nets.items()}
    assert acc["big"] > acc["small"] + 0.3
    for name in ("my-profile.json", "my-profile-py.json"):
        p = Profile.load(work / name)
        assert {m.name: float(m.accuracy[0]) for m in p.models} == pytest.approx(acc)
        assert [s.value for s in p.settings] == [1.0, 2.0] and p.unit == "threads"
        assert json.loads((work / name).read_text())["metadata"]["timing"] == "paced every 0.01 s"
    for name in ("my-run.csv", "my-run-py.csv"):
        lines = (work / name).read_text().splitlines()
        assert tuple(lines[0].split(",")) == LOG_COLUMNS and len(lines) == 201
    assert "200 inputs, deadline met on" in outs[2]
    assert "slowdown estimate" in outs[1]


def _alert(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "alert", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_npy_inputs_are_checked_with_clear_errors(tmp_path: Path) -> None:
    from alert.live.inputs import load_npy

    good = tmp_path / "x.npy"
    np.save(good, np.zeros((10, 3), np.float64))
    x, y = load_npy(good)
    assert x.dtype == np.float32 and x.shape == (10, 3) and y is None
    np.save(tmp_path / "ints.npy", np.zeros((10, 3), np.uint8))
    with pytest.raises(ValueError, match=r"ints.npy: inputs have dtype uint8, expected floating point\. Fix"):
        load_npy(tmp_path / "ints.npy")
    np.save(tmp_path / "flat.npy", np.zeros(10, np.float32))
    with pytest.raises(ValueError, match=r"shape \(10,\), expected \(N, \*sample_shape\)"):
        load_npy(tmp_path / "flat.npy")
    with pytest.raises(ValueError, match="fewer than one batch of 16"):
        load_npy(good, batch=16)
    np.save(tmp_path / "short.npy", np.zeros(9, np.int64))
    with pytest.raises(ValueError, match=r"short.npy: labels have shape \(9,\), expected \(10,\)"):
        load_npy(good, tmp_path / "short.npy")
    np.save(tmp_path / "neg.npy", -np.ones(10, np.int64))
    with pytest.raises(ValueError, match=r"neg.npy: label -1 at index 0 is negative; a label is a class index >= 0"):
        load_npy(good, tmp_path / "neg.npy")
    np.save(tmp_path / "fl.npy", np.arange(10, dtype=np.float32))  # whole floats are accepted as classes
    assert load_npy(good, tmp_path / "fl.npy")[1].tolist() == list(range(10))
    with pytest.raises(ValueError, match="cannot read inputs"):
        load_npy(tmp_path / "missing.npy")


@pytest.mark.torch
def test_inputs_cycle_in_batches_with_their_labels(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from alert.live import load_inputs

    np.save(tmp_path / "x.npy", np.arange(5, dtype=np.float32)[:, None])
    np.save(tmp_path / "y.npy", np.arange(5))
    got = list(load_inputs(str(tmp_path / "x.npy"), 4, batch=2, labels=str(tmp_path / "y.npy")))
    # windows start at 0, 2, 4 mod 4 (= 5 - 2 + 1 positions): 0, 2, 0, 2
    assert [x[:, 0].tolist() for x, _ in got] == [[0, 1], [2, 3], [0, 1], [2, 3]]
    assert [list(y) for _, y in got] == [[0, 1], [2, 3], [0, 1], [2, 3]]
    assert got[0][0].dtype.is_floating_point and tuple(got[0][0].shape) == (2, 1)


@pytest.mark.torch
def test_profile_cli_names_the_model_and_input_that_do_not_fit(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    np.save(tmp_path / "x.npy", np.zeros((20, 5), np.float32))
    (tmp_path / "m.py").write_text("import torch\n\ndef models():\n    return {'lin': torch.nn.Linear(7, 2)}\n")
    r = _alert("profile", "--models", f"{tmp_path}/m.py:models", "--data", str(tmp_path / "x.npy"),
               "--knob", "simulated", "--settings", "1", "--accuracy", "lin=0.5", "--repeats", "2",
               "--out", str(tmp_path / "p.json"), "--quiet")
    assert r.returncode == 2
    assert "model 'lin' failed on an input of shape (1, 5) and dtype torch.float32" in r.stderr
    assert "Fix: give inputs the model accepts" in r.stderr and "Traceback" not in r.stderr
    r = _alert("profile", "--models", f"{tmp_path}/m.py:models", "--data", "random", "--labels",
               str(tmp_path / "x.npy"), "--knob", "simulated", "--settings", "1", "--accuracy", "lin=0.5",
               "--out", str(tmp_path / "p.json"))
    assert r.returncode == 2 and "--labels needs --data FILE.npy" in r.stderr
