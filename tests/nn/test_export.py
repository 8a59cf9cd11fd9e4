"""export-profile: a valid ALERT profile with the family and the anytime model."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from alert.cli import nn as cli  # noqa: E402
from alert.nn.export import ExportConfig, export_profile, resolve_weights, stage_latency  # noqa: E402
from alert.nn.families import build_model  # noqa: E402
from alert.nn.train import TrainConfig, export_weights  # noqa: E402
from alert.profile import Profile  # noqa: E402


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    d = tmp_path / "w"
    torch.manual_seed(0)
    for name, file in [("depth-nested", "depth-nested-osgd"), ("depth-1", "depth-1"), ("depth-2", "depth-2"),
                       ("depth-4", "depth-4")]:
        export_weights(build_model(name), TrainConfig(model=name), [0.5], d / f"{file}.pt")
    return d


def test_export_profile_is_valid_and_measured(weights: Path, fake_data: Path, tmp_path: Path) -> None:
    cfg = ExportConfig(weights_dir=str(weights), data=str(fake_data), threads=(1, 2), repeats=3, warmup=1,
                       limit_test=32, power=(5.0, 9.0))
    profile, table = export_profile(cfg)
    assert [m.name for m in profile.models] == ["depth-1", "depth-2", "depth-4", "depth-nested-osgd"]
    any_m = profile.models[-1]
    assert any_m.kind == "anytime" and any_m.n_stages == 3
    assert (profile.unit, profile.shape) == ("threads", (6, 2))
    assert (profile.t_prof > 0).all() and (profile.t_prof < 5).all()
    assert (profile.power[:, 1] == 9.0).all() and profile.q_fail == 0.1
    # cumulative stage end times strictly increase (Profile validation would reject otherwise)
    assert (any_m.latency[1:] > any_m.latency[:-1]).all()
    assert "depth-nested-osgd@3" in table
    p = tmp_path / "p.json"
    profile.save(p)
    assert Profile.load(p).shape == (6, 2)


def test_stage_latency_restores_thread_count() -> None:
    torch.set_num_threads(1)
    lat = stage_latency(build_model("width-nested").eval(), torch.zeros(1, 1, 28, 28), threads=2, repeats=2, warmup=0)
    assert lat.shape == (2, 3) and (lat > 0).all()
    assert torch.get_num_threads() == 1


def test_missing_weights_list_what_is_there(weights: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope.pt: weights not found.*depth-1"):
        resolve_weights("nope", weights)


def test_config_checks() -> None:
    with pytest.raises(ValueError, match="1 values for 2 settings"):
        ExportConfig(threads=(1, 2), power=(3.0,))
    with pytest.raises(ValueError, match="statistic must be 'mean' or 'median'"):
        ExportConfig(statistic="max")
    with pytest.raises(ValueError, match="thread counts >= 1"):
        ExportConfig(threads=(0,))


def test_cli_export_profile(weights: Path, fake_data: Path, tmp_path: Path, capsys) -> None:
    ap = argparse.ArgumentParser("alert")
    cli.register(ap.add_subparsers(required=True))
    out = tmp_path / "prof.json"
    a = ap.parse_args(["export-profile", "--weights", str(weights), "--data", str(fake_data), "--threads", "1",
                       "--repeats", "2", "--warmup", "0", "--limit-test", "32", "--out", str(out)])
    assert a.func(a) == 0
    assert Profile.load(out).metadata["power"].startswith("nominal")
    a = ap.parse_args(["export-profile", "--weights", str(weights), "--anytime", "missing", "--out", str(out)])
    assert a.func(a) == 2
    assert "weights not found" in capsys.readouterr().err
