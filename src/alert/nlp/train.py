"""Training and evaluation of the recurrent language models on a :class:`~alert.nlp.data.Corpus`.

Nested models are trained with orthogonalized SGD (``method="osgd"``, the wrapper of
``alert.nn.osgd`` around Adam) or with the sum of the stage losses (``method="sum"``).
Training uses a sampled softmax (``samples`` negatives drawn from the unigram^0.75 distribution,
with the log-expected-count correction; Jean et al. 2015), which cuts the cost of the 10k-word
output layer on a CPU about tenfold; evaluation always uses the full softmax. A checkpoint is
written every ``checkpoint_every`` steps and training resumes from it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from alert.nn.osgd import OrthogonalizedSGD
from alert.safeio import load_torch

from .data import Corpus, batchify, bptt_batches
from .models import LMState, NestedLSTMLM

METHODS = ("osgd", "sum")
Tensor = torch.Tensor


@dataclass(frozen=True)
class LMTrainConfig:
    """Everything a training run depends on (saved with the checkpoint and the weights)."""

    widths: tuple[int, ...] = (32, 64, 128)
    method: str = "osgd"
    epochs: float = 1.0          # fractions allowed: the run stops after ceil(epochs * steps) steps
    batch_size: int = 64
    bptt: int = 35
    lr: float = 3e-3
    clip: float = 1.0
    dropout: float = 0.1
    samples: int = 1024          # sampled-softmax negatives (0: full softmax)
    seed: int = 0
    checkpoint_every: int = 100

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if self.method not in METHODS:
            raise ValueError(f"LMTrainConfig.method must be one of {METHODS}, got {self.method!r}")
        if not self.epochs > 0:
            raise ValueError(f"LMTrainConfig.epochs must be > 0, got {self.epochs}")
        for name in ("batch_size", "bptt", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"LMTrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.samples < 0:
            raise ValueError(f"LMTrainConfig.samples must be >= 0, got {self.samples}")


@dataclass
class LMTrainResult:
    config: LMTrainConfig
    steps_done: int
    seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)


def sampled_losses(model: NestedLSTMLM, hidden: Tensor, target: Tensor, neg: Tensor, log_q: Tensor) -> list[Tensor]:
    """Sampled-softmax loss of every stage: classes = [true word, shared negatives], logits
    corrected by -log(expected count); negatives equal to the true word are masked out."""
    h = hidden.reshape(-1, hidden.shape[-1])
    y = target.reshape(-1)
    corr_true, corr_neg = log_q[y], log_q[neg]
    hit = y[:, None] == neg[None, :]
    losses = []
    for k, w in enumerate(model.widths):
        z = model.proj[k](h[:, :w])
        e = model.embedding.weight[:, :w]
        true = (z * e[y]).sum(1) + model.bias[k][y] - corr_true
        negl = z @ e[neg].t() + model.bias[k][neg] - corr_neg
        logits = torch.cat([true[:, None], negl.masked_fill(hit, -math.inf)], 1)
        losses.append(F.cross_entropy(logits, torch.zeros_like(y)))
    return losses


@torch.no_grad()
def evaluate(model: NestedLSTMLM, ids: np.ndarray, batch_size: int = 10, bptt: int = 70) -> dict[str, list[float]]:
    """Full-softmax next-word cross-entropy, perplexity and top-1 accuracy of every stage on a stream
    (state carried across sentences, as in the standard PTB evaluation)."""
    model.eval()
    data = torch.from_numpy(batchify(ids, batch_size))
    nll = torch.zeros(model.n_stages, dtype=torch.float64)
    correct = torch.zeros(model.n_stages, dtype=torch.float64)
    n = 0
    state = model.init_state(batch_size)
    for x, y in bptt_batches(data.numpy(), bptt):
        xt, yt = torch.from_numpy(x), torch.from_numpy(y).reshape(-1)
        outs, state = model(xt, state)
        for k, o in enumerate(outs):
            o = o.reshape(-1, o.shape[-1])
            nll[k] += F.cross_entropy(o, yt, reduction="sum").double()
            correct[k] += (o.argmax(1) == yt).sum().double()
        n += yt.numel()
    ce = (nll / n).tolist()
    return {"cross_entropy": ce, "perplexity": [math.exp(c) for c in ce], "accuracy": (correct / n).tolist(),
            "tokens": [n]}


def _save_atomic(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train_lm(config: LMTrainConfig, corpus: Corpus, checkpoint: str | Path, resume: bool = True,
             log: Callable[[str], None] = print) -> tuple[NestedLSTMLM, LMTrainResult]:
    """Train ``NestedLSTMLM(len(vocab), config.widths)`` on ``corpus`` (CPU or wherever the caller put
    torch's default device) and checkpoint along the way; returns the model and its history."""
    checkpoint = Path(checkpoint)
    torch.manual_seed(config.seed)
    V = len(corpus.vocab)
    model = NestedLSTMLM(V, config.widths, config.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    osgd = OrthogonalizedSGD(opt)
    data = batchify(corpus.ids["train"], config.batch_size)
    windows = list(range(0, data.shape[0] - 1, config.bptt))
    total = max(1, math.ceil(config.epochs * len(windows)))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    counts = np.bincount(corpus.ids["train"], minlength=V).astype(np.float64) + 1.0
    q = torch.from_numpy(counts ** 0.75 / (counts ** 0.75).sum()).float()
    S = config.samples
    log_q = torch.log(q * S) if S else q
    res = LMTrainResult(config, 0)
    if resume and checkpoint.exists():
        ck = load_torch(checkpoint, "a training checkpoint", "pass --no-resume or another --out path")
        if ck.get("config") != asdict(config):
            raise ValueError(f"{checkpoint}: field 'config': written by a different configuration "
                             f"({ck.get('config')}). Fix: pass the same options, another --out path, or --no-resume")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        res.steps_done, res.seconds, res.history = ck["steps"], ck["seconds"], ck["history"]
        log(f"resumed {checkpoint} after step {res.steps_done}")
    gen = torch.Generator().manual_seed(config.seed)
    state: LMState | None = None
    t0 = time.perf_counter()
    loss_sum, loss_n = torch.zeros(model.n_stages), 0

    def save() -> None:
        _save_atomic({"config": asdict(config), "model": model.state_dict(), "optimizer": opt.state_dict(),
                      "scheduler": sched.state_dict(), "steps": res.steps_done, "history": res.history,
                      "seconds": res.seconds + time.perf_counter() - t0}, checkpoint)

    model.train()
    step = 0
    while res.steps_done < total:
        for i in windows:
            if step < res.steps_done:  # skip windows done before a resume (the state restarts at zero)
                step += 1
                continue
            if res.steps_done >= total:
                break
            n = min(config.bptt, data.shape[0] - 1 - i)
            x = torch.from_numpy(data[i: i + n])
            y = torch.from_numpy(data[i + 1: i + 1 + n])
            if state is not None:
                state = LMState(state.h.detach(), state.c.detach())
            emb = model.drop(model.embedding(x))
            st = state or model.init_state(x.shape[1])
            out, (h, c) = model.lstm(emb, (st.h[None], st.c[None]))
            state = LMState(h[0], c[0])
            out = model.drop(out)
            if S:
                neg = torch.multinomial(q, S, replacement=True, generator=gen)
                losses = sampled_losses(model, out, y, neg, log_q)
            else:
                losses = [F.cross_entropy(model.head(k, out).reshape(-1, V), y.reshape(-1))
                          for k in range(model.n_stages)]
            opt.zero_grad(set_to_none=True)
            if config.method == "osgd" and len(losses) > 1:
                osgd.backward(losses)
            else:
                torch.stack(losses).sum().backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            opt.step()
            sched.step()
            step += 1
            res.steps_done += 1
            loss_sum += torch.stack([loss.detach() for loss in losses])
            loss_n += 1
            if res.steps_done % config.checkpoint_every == 0 or res.steps_done == total:
                train_loss: list[float] = (loss_sum / loss_n).tolist()
                seconds = res.seconds + time.perf_counter() - t0
                res.history.append({"step": res.steps_done, "train_loss": train_loss, "seconds": seconds})
                log(f"widths {list(config.widths)} [{config.method}] step {res.steps_done}/{total} "
                    f"{seconds:.0f}s sampled loss " + " ".join(f"{v:.3f}" for v in train_loss))
                loss_sum, loss_n = torch.zeros(model.n_stages), 0
                save()
    res.seconds += time.perf_counter() - t0
    model.eval()
    return model, res


def export_weights(model: NestedLSTMLM, config: LMTrainConfig, metrics: dict[str, Any], path: str | Path,
                   vocab_size: int) -> None:
    """Shippable weights: the embedding (the largest tensor) as int8 with one float scale per row,
    everything else float16, plus the config and the measured test metrics."""
    sd = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        if k == "embedding.weight":
            scale = v.abs().amax(1, keepdim=True).clamp_min(1e-12) / 127.0
            sd[k] = {"int8": torch.round(v / scale).to(torch.int8), "scale": scale.half()}
        else:
            sd[k] = v.half() if v.is_floating_point() else v
    _save_atomic({"format": "alert-lm-weights", "version": 1, "widths": list(model.widths),
                  "vocab_size": vocab_size, "config": asdict(config), "metrics": metrics, "state_dict": sd},
                 Path(path))


def load_weights(path: str | Path) -> tuple[NestedLSTMLM, dict[str, Any]]:
    """Load weights written by :func:`export_weights` or a training checkpoint (CPU, eval mode)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: weights file not found. Fix: train it with `alert sentence train` "
                                "or use a shipped name (ptb-lstm-32, ptb-lstm-64, ptb-lstm-128, ptb-nested)")
    ck = load_torch(path, "alert language-model weights", "point at a file written by `alert sentence train`")
    if not isinstance(ck, dict):
        raise ValueError(f"{path}: field 'format': not an alert language-model weights file. "
                         "Fix: point at a file written by `alert sentence train`")
    if ck.get("format") == "alert-lm-weights":
        sd = {k: (v["int8"].float() * v["scale"].float()) if isinstance(v, dict) else
              (v.float() if v.is_floating_point() else v) for k, v in ck["state_dict"].items()}
        widths, V, info = ck["widths"], ck["vocab_size"], ck
    elif "config" in ck and "model" in ck:
        sd, info = ck["model"], ck
        widths, V = ck["config"]["widths"], ck["model"]["embedding.weight"].shape[0]
    else:
        raise ValueError(f"{path}: field 'format': not an alert language-model weights file. "
                         "Fix: point at a file written by `alert sentence train`")
    model = NestedLSTMLM(V, widths, dropout=0.0)
    model.load_state_dict(sd)
    model.enforce_nesting()
    return model.eval(), info
