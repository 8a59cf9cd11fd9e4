"""Training loop, checkpoint/resume, shippable weights and the CLI, on tiny generated data."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from alert.cli import nn as cli  # noqa: E402
from alert.nn.train import TrainConfig, export_weights, load_weights, train  # noqa: E402


def _cfg(data: Path, **kw) -> TrainConfig:
    return TrainConfig(**{"model": "depth-nested", "epochs": 2, "batch_size": 16, "lr": 0.05,
                          "data": str(data), "check_count": False, **kw})


def test_interrupted_run_resumes_where_it_stopped(fake_data: Path, tmp_path: Path, monkeypatch) -> None:
    cfg = _cfg(fake_data, method="sum")
    full, _ = train(cfg, tmp_path / "full.ckpt", torch.device("cpu"), progress=False, log=lambda s: None)
    import alert.nn.train as tr
    real_save, calls = tr._save_atomic, []

    def save_then_stop(obj, path):  # interrupt right after the first epoch's checkpoint
        real_save(obj, path)
        calls.append(1)
        raise KeyboardInterrupt

    monkeypatch.setattr(tr, "_save_atomic", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "part.ckpt", torch.device("cpu"), progress=False, log=lambda s: None)
    monkeypatch.setattr(tr, "_save_atomic", real_save)
    msgs: list[str] = []
    resumed, res = train(cfg, tmp_path / "part.ckpt", torch.device("cpu"), progress=False, log=msgs.append)
    assert calls == [1] and any("resumed" in m and "after epoch 1" in m for m in msgs)
    assert [h["epoch"] for h in res.history] == [1, 2]
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values(), strict=False):
        torch.testing.assert_close(a, b)


def test_resume_refuses_a_different_config(fake_data: Path, tmp_path: Path) -> None:
    train(_cfg(fake_data, epochs=1), tmp_path / "x.ckpt", torch.device("cpu"), progress=False, log=lambda s: None)
    with pytest.raises(ValueError, match="field 'config'.*--no-resume"):
        train(_cfg(fake_data, epochs=1, lr=0.01), tmp_path / "x.ckpt", torch.device("cpu"), progress=False,
              log=lambda s: None)


def test_weights_round_trip_half_precision(fake_data: Path, tmp_path: Path) -> None:
    cfg = _cfg(fake_data, epochs=1, model="width-nested")
    model, res = train(cfg, tmp_path / "w.ckpt", torch.device("cpu"), progress=False, log=lambda s: None)
    export_weights(model, cfg, res.test_accuracy, tmp_path / "w.pt")
    loaded, info = load_weights(tmp_path / "w.pt")
    assert info["model"] == "width-nested" and info["test_accuracy"] == res.test_accuracy
    x = torch.randn(2, 1, 28, 28)
    model.eval()
    for a, b in zip(model(x), loaded(x), strict=False):
        torch.testing.assert_close(a, b, atol=2e-2, rtol=2e-2)  # float16 storage


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        TrainConfig(method="adam")
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        TrainConfig(epochs=0)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser("alert")
    cli.register(ap.add_subparsers(required=True))
    return ap


def test_cli_train_and_missing_data(fake_data: Path, tmp_path: Path, capsys) -> None:
    a = _parser().parse_args(["train", "--model", "width-8", "--epochs", "1", "--device", "cpu", "--quiet",
                              "--data", str(tmp_path / "none"), "--out", str(tmp_path / "c.ckpt")])
    assert a.func(a) == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err
    a = _parser().parse_args(["train", "--model", "nope", "--device", "cpu", "--data", str(fake_data)])
    assert a.func(a) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
