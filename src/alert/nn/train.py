"""Training and evaluation of anytime and traditional networks on Fashion-MNIST.

Nested models are trained either with orthogonalized SGD (``method="osgd"``) or with the plain
sum of the stage losses (``method="sum"``); traditional networks have one output, where both are
the same. A checkpoint is written after every epoch and training resumes from it.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from alert.safeio import load_torch

from .anytime import AnytimeNet
from .data import DEFAULT_ROOT, Split, load_split
from .families import build_model
from .osgd import OrthogonalizedSGD, OSGDConfig, Projection, Rescale

METHODS = ("osgd", "sum")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on (saved in the checkpoint)."""

    model: str = "depth-nested"
    method: str = "osgd"
    epochs: int = 3
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    seed: int = 0
    projection: Projection = "per-tensor"
    rescale: Rescale = "none"
    conflicts_only: bool = False
    data: str = str(DEFAULT_ROOT)
    limit_train: int | None = None  # use only the first N training examples (tests, smoke runs)
    check_count: bool = True  # require the full 60,000 / 10,000 examples (off for small test files)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"TrainConfig.method must be one of {METHODS}, got {self.method!r}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr}")


@dataclass
class TrainResult:
    config: TrainConfig
    epochs_done: int
    history: list[dict[str, Any]] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)


def to_tensors(split: Split, device: torch.device, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = split.normalized(), split.labels.astype(np.int64)
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)


@torch.no_grad()
def evaluate(model: AnytimeNet, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> list[float]:
    """Accuracy of every stage output on (x, y)."""
    model.eval()
    correct = torch.zeros(model.n_stages, dtype=torch.long)
    for i in range(0, x.shape[0], batch_size):
        outs = model(x[i: i + batch_size])
        yb = y[i: i + batch_size]
        correct += torch.stack([(o.argmax(1) == yb).sum().cpu() for o in outs])
    return (correct.double() / max(1, x.shape[0])).tolist()


def _save_atomic(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _progress(total: int, desc: str, enabled: bool) -> Callable[[int, str], None]:
    """A progress callback: tqdm when installed, otherwise a line every ~10 %."""
    if not enabled:
        return lambda n, msg: None
    try:
        from tqdm import tqdm
        bar = tqdm(total=total, desc=desc, leave=False)

        def upd(n: int, msg: str) -> None:
            bar.update(n - bar.n)
            bar.set_postfix_str(msg)
            if n >= total:
                bar.close()
        return upd
    except ImportError:
        step = max(1, total // 10)

        def upd(n: int, msg: str) -> None:
            if n % step == 0 or n == total:
                print(f"  {desc} {n}/{total} {msg}", file=sys.stderr, flush=True)
        return upd


def train(config: TrainConfig, checkpoint: str | Path, device: torch.device, resume: bool = True,
          progress: bool = True, log: Callable[[str], None] = print) -> tuple[AnytimeNet, TrainResult]:
    """Train ``config.model`` and write ``checkpoint`` after every epoch.

    With ``resume`` and an existing checkpoint of the same config, training continues after the
    last finished epoch. Returns the model and the run's history with the test accuracy per stage.
    """
    checkpoint = Path(checkpoint)
    torch.manual_seed(config.seed)
    model = build_model(config.model).to(device)
    train_x, train_y = to_tensors(load_split(config.data, "train", config.check_count), device, config.limit_train)
    test_x, test_y = to_tensors(load_split(config.data, "test", config.check_count), device)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay, nesterov=True)
    steps_per_epoch = math.ceil(train_x.shape[0] / config.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs * steps_per_epoch)
    osgd = OrthogonalizedSGD(opt, OSGDConfig(projection=config.projection, rescale=config.rescale,
                                             conflicts_only=config.conflicts_only))
    result = TrainResult(config, 0)
    if resume and checkpoint.exists():
        ck = load_torch(checkpoint, "a training checkpoint", "pass --no-resume or another --out path",
                        map_location=device)
        if ck.get("config") != asdict(config):
            raise ValueError(f"{checkpoint}: field 'config': the checkpoint was written by a different "
                             f"configuration ({ck.get('config')}). Fix: pass the same options, another "
                             "--out path, or --no-resume to start over")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        result.epochs_done, result.history = ck["epoch"], ck["history"]
        log(f"resumed {checkpoint} after epoch {result.epochs_done}")
    gen = torch.Generator().manual_seed(config.seed)
    for _ in range(result.epochs_done):  # replay the permutations so a resumed run sees the same order
        torch.randperm(train_x.shape[0], generator=gen)
    for epoch in range(result.epochs_done, config.epochs):
        model.train()
        perm = torch.randperm(train_x.shape[0], generator=gen).to(device)
        bar = _progress(steps_per_epoch, f"{config.model} epoch {epoch + 1}/{config.epochs}", progress)
        t0, loss_sum = time.perf_counter(), torch.zeros(model.n_stages, device=device)
        for s in range(steps_per_epoch):
            idx = perm[s * config.batch_size: (s + 1) * config.batch_size]
            outs = model(train_x[idx])
            losses = [F.cross_entropy(o, train_y[idx]) for o in outs]
            opt.zero_grad(set_to_none=True)
            if config.method == "osgd" and len(losses) > 1:
                osgd.step(losses)
            else:
                torch.stack(losses).sum().backward()
                opt.step()
            sched.step()
            loss_sum += torch.stack([loss.detach() for loss in losses])
            if (s + 1) % 20 == 0 or s + 1 == steps_per_epoch:
                bar(s + 1, "loss " + " ".join(f"{v:.3f}" for v in (loss_sum / (s + 1)).tolist()))
        acc = evaluate(model, test_x, test_y)
        rec = {"epoch": epoch + 1, "seconds": time.perf_counter() - t0,
               "train_loss": (loss_sum / steps_per_epoch).tolist(), "test_accuracy": acc}
        result.history.append(rec)
        result.epochs_done = epoch + 1
        _save_atomic({"config": asdict(config), "model": model.state_dict(), "optimizer": opt.state_dict(),
                      "scheduler": sched.state_dict(), "epoch": epoch + 1, "history": result.history},
                     checkpoint)
        tag = f" [{config.method}]" if model.n_stages > 1 else ""
        log(f"{config.model}{tag} epoch {epoch + 1}/{config.epochs} "
            f"{rec['seconds']:.1f}s test accuracy per stage: " + " ".join(f"{a:.4f}" for a in acc))
    result.test_accuracy = result.history[-1]["test_accuracy"] if result.history else []
    return model, result


def export_weights(model: AnytimeNet, config: TrainConfig, test_accuracy: list[float], path: str | Path,
                   half: bool = True) -> None:
    """Write compact shippable weights (float16 by default) with the spec and the measured accuracy."""
    sd = {k: (v.half() if half and v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()}
    _save_atomic({"format": "alert-weights", "version": 1, "model": config.model, "method": config.method,
                  "config": asdict(config), "test_accuracy": list(test_accuracy), "state_dict": sd}, Path(path))


def load_weights(path: str | Path, device: torch.device | str = "cpu") -> tuple[AnytimeNet, dict[str, Any]]:
    """Load weights written by :func:`export_weights` (or a training checkpoint); returns (model, info)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: weights file not found. Fix: train it with `alert train` "
                                "or use a shipped name (see `alert export-profile --help`)")
    ck = load_torch(path, "alert weights", "point at a file written by `alert train`", map_location=device)
    if not isinstance(ck, dict):
        raise ValueError(f"{path}: field 'format': not an alert weights file or training checkpoint. "
                         "Fix: point at a file written by `alert train`")
    if ck.get("format") == "alert-weights":
        info, sd = ck, ck["state_dict"]
        name = ck["model"]
    elif "config" in ck and "model" in ck:
        info, sd, name = ck, ck["model"], ck["config"]["model"]
    else:
        raise ValueError(f"{path}: field 'format': not an alert weights file or training checkpoint. "
                         "Fix: point at a file written by `alert train`")
    model = build_model(name)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
    return model.to(device).eval(), info
