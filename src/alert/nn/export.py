"""Measure trained networks and write an ALERT profile (``alert export-profile``).

Accuracy: per-stage accuracy on the Fashion-MNIST test set (q_i; per stage for the anytime
model). Latency: batch-1 inference on this machine at each setting, where a setting is the
number of intra-op threads (unit ``threads``); the anytime model's entries are the cumulative
stage end times of :meth:`AnytimeNet.anytime`. This machine has no power meter, so power is
nominal (given per setting, or 10 W per thread) and the profile metadata says so.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ..profile import ModelKind, Profile, Setting, build_profile, measured_model
from .anytime import AnytimeNet
from .data import DEFAULT_ROOT, load_split
from .families import NESTED
from .train import evaluate, load_weights, to_tensors

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "data" / "weights"


@dataclass(frozen=True)
class ExportConfig:
    """What to measure. ``anytime``/``traditional`` are weight names (looked up in ``weights_dir``)
    or paths; an empty ``traditional`` means the independent family of the anytime model."""

    anytime: str = "depth-nested-osgd"
    traditional: tuple[str, ...] = ()
    weights_dir: str = str(WEIGHTS_DIR)
    data: str = str(DEFAULT_ROOT)
    threads: tuple[int, ...] = (1, 2)
    power: tuple[float, ...] = ()
    idle_power: tuple[float, ...] = ()
    repeats: int = 200
    warmup: int = 20
    name: str = "fashion-mnist-cpu"
    limit_test: int | None = None
    statistic: Literal["mean", "median"] = "mean"  # t_prof: "mean" (the paper's) or "median" (robust on a busy machine)

    def __post_init__(self) -> None:
        if self.statistic not in ("mean", "median"):
            raise ValueError(f"ExportConfig.statistic must be 'mean' or 'median', got {self.statistic!r}")
        if not self.threads or any(t < 1 for t in self.threads):
            raise ValueError(f"ExportConfig.threads: need thread counts >= 1, got {self.threads}")
        for f in ("power", "idle_power"):
            v = getattr(self, f)
            if v and len(v) != len(self.threads):
                raise ValueError(f"ExportConfig.{f}: {len(v)} values for {len(self.threads)} settings; "
                                 "give one per --threads value")
            if any(x <= 0 if f == "power" else x < 0 for x in v):
                raise ValueError(f"ExportConfig.{f}: values must be positive watts, got {v}")
        if self.repeats < 1 or self.warmup < 0:
            raise ValueError("ExportConfig.repeats must be >= 1 and warmup >= 0")


def is_explicit_path(name_or_path: str) -> bool:
    """A user's weights file must be named as a path: with a ``/`` or ending in ``.pt``."""
    return "/" in name_or_path or name_or_path.endswith(".pt")


def resolve_weights(name_or_path: str, weights_dir: str | Path) -> Path:
    """``weights_dir/NAME.pt`` for a bare name (never a file of that name in the working
    directory); an explicit path (with a ``/`` or ending in ``.pt``) as given. The error lists
    what is there."""
    if is_explicit_path(name_or_path):
        p = Path(name_or_path)
        if p.is_file():
            return p
        raise FileNotFoundError(f"{p}: weights file not found. Fix: check the path, or use a shipped name")
    q = Path(weights_dir) / f"{name_or_path}.pt"
    if q.is_file():
        return q
    have = sorted(x.stem for x in Path(weights_dir).glob("*.pt")) if Path(weights_dir).is_dir() else []
    raise FileNotFoundError(f"{q}: weights not found. Fix: use one of {have or '(none shipped)'}, "
                            "a path to a .pt file, or train it with `alert train --export`")


@torch.inference_mode()
def stage_latency(model: AnytimeNet, x: torch.Tensor, threads: int, repeats: int, warmup: int) -> np.ndarray:
    """Cumulative stage end times (repeats, n_stages) of batch-1 ``anytime`` runs on ``threads`` threads.

    The previous thread count is restored afterwards, also on errors.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model.eval()
        for _ in range(warmup):
            model.anytime(x)
        return np.array([model.anytime(x).stage_ends for _ in range(repeats)], dtype=float)
    finally:
        torch.set_num_threads(before)


def export_profile(cfg: ExportConfig) -> tuple[Profile, str]:
    """Measure the models of ``cfg`` and return the profile and a printable table."""
    any_model, any_info = load_weights(resolve_weights(cfg.anytime, cfg.weights_dir))
    trad_names = cfg.traditional or tuple(NESTED.get(any_info["model"], ()))
    trad = [(n, *load_weights(resolve_weights(n, cfg.weights_dir))) for n in trad_names]
    test = load_split(cfg.data, "test", check_count=cfg.limit_test is None)
    x, y = to_tensors(test, torch.device("cpu"), cfg.limit_test)
    one = x[:1]
    L = len(cfg.threads)
    power = list(cfg.power) or [10.0 * t for t in cfg.threads]
    idle = list(cfg.idle_power) or [2.0] * L
    models = []
    entries: list[tuple[str, AnytimeNet, ModelKind]] = [(n, m, "traditional") for n, m, _ in trad]
    entries.append((Path(cfg.anytime).stem, any_model, "anytime"))
    for name, model, kind in entries:
        acc = evaluate(model, x, y)
        lat = np.stack([stage_latency(model, one, t, cfg.repeats, cfg.warmup) for t in cfg.threads], axis=2)
        if kind == "traditional":  # a traditional network is run whole: its last output counts
            acc, lat = acc[-1:], lat[:, -1:, :]
        models.append(measured_model(name, acc, lat, power, centre=cfg.statistic, kind=kind))
    settings = [Setting(f"{t}thr", float(t), "threads", idle[j]) for j, t in enumerate(cfg.threads)]
    meta = {
        "platform": f"{platform.machine()} {platform.processor() or platform.system()}, torch {torch.__version__}",
        "method": f"alert export-profile: batch-1 latency, {cfg.statistic} of {cfg.repeats} runs after {cfg.warmup} warm-up; "
                  f"accuracy on {len(y)} Fashion-MNIST test images",
        "power": "nominal (no power meter on the measuring machine)" if not cfg.power else "given by the user",
        "task": "image classification", "classes": 10, "dataset": "fashion-mnist",
    }
    profile = build_profile(models, settings, 0.1, cfg.name, meta, source=f"export-profile({cfg.name})")
    rows = [f"{c.label:<24}{profile.q[c.index]:>9.4f}" + "".join(f"{profile.t_prof[c.index, j] * 1e3:>12.3f}"
                                                                  for j in range(L)) for c in profile.candidates]
    head = f"{'candidate':<24}{'accuracy':>9}" + "".join(f"{f'{t} thr (ms)':>12}" for t in cfg.threads)
    return profile, "\n".join([head, *rows])
