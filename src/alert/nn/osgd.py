"""Orthogonalized SGD (ICML 2020 companion paper, §4) as a wrapper around any ``torch.optim`` optimizer.

For outputs O_1..O_K with losses L_1..L_K and per-output gradients g_k = dL_k/dθ, Gram-Schmidt in
output order gives

    g'_1 = g_1,    g'_k = g_k − Σ_{j<k} (g_k·g'_j / g'_j·g'_j) g'_j,

so each output's direction is orthogonal to all earlier ones and earlier outputs have priority:
to first order, adding output k changes none of the losses' rates of change along g'_1..g'_{k-1}.
The sum Σ g'_k is written to ``.grad`` and the wrapped optimizer steps as usual, so momentum,
weight decay and learning-rate schedules (attached to the wrapped optimizer) are untouched.

Options for what the paper leaves open: ``projection="per-tensor"`` (the default, the better
of the two in benchmarks/osgd_options.py, see docs/anytime.md) projects each parameter tensor
separately, ``"global"`` treats all parameters as one vector; ``rescale="norm"`` restores
each projected gradient to the norm of its raw gradient; ``conflicts_only=True`` removes only the
components that oppose an earlier output's direction (a negative dot product; PCGrad-like) and
keeps aligned ones, so the result is no longer orthogonal. Gradients stay on their device; the graph
is retained only until the last output's gradient is taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

Projection = Literal["global", "per-tensor"]
Rescale = Literal["none", "norm"]


@dataclass(frozen=True)
class OSGDConfig:
    """How the per-output gradients are combined.

    ``eps``: a previous direction with squared norm at or below it is skipped (a zero gradient
    never divides by zero).
    """

    projection: Projection = "per-tensor"
    rescale: Rescale = "none"
    conflicts_only: bool = False
    eps: float = 1e-24

    def __post_init__(self) -> None:
        if self.projection not in ("global", "per-tensor"):
            raise ValueError(f"OSGDConfig.projection must be 'global' or 'per-tensor', got {self.projection!r}")
        if self.rescale not in ("none", "norm"):
            raise ValueError(f"OSGDConfig.rescale must be 'none' or 'norm', got {self.rescale!r}")
        if not self.eps >= 0:
            raise ValueError(f"OSGDConfig.eps must be >= 0, got {self.eps}")


def _segment_dot(a: Tensor, b: Tensor, seg: Tensor | None, n_seg: int) -> Tensor:
    """a·b over the whole vector (seg None, shape ()) or per segment (shape (n_seg,))."""
    if seg is None:
        return torch.dot(a, b)
    return torch.zeros(n_seg, dtype=a.dtype, device=a.device).index_add_(0, seg, a * b)


def orthogonalize(grads: Tensor, segments: Tensor | None = None, config: OSGDConfig = OSGDConfig()) -> Tensor:
    """Gram-Schmidt (modified, in row order) of per-output gradients ``grads`` (K, P).

    ``segments`` (P,) long: segment id of each coordinate for per-tensor projection (None: the
    whole vector is one segment). Returns the projected gradients (K, P).
    """
    if grads.dim() != 2:
        raise ValueError(f"grads must be (outputs, parameters), got shape {tuple(grads.shape)}")
    n_seg = int(segments.max().item()) + 1 if segments is not None and segments.numel() else 1
    out = grads.clone()
    norms_sq: list[torch.Tensor] = []
    for k in range(out.shape[0]):
        g = out[k]
        for j in range(k):
            b, bb = out[j], norms_sq[j]
            coef = torch.where(bb > config.eps, _segment_dot(g, b, segments, n_seg) / bb.clamp_min(config.eps or 1e-38),
                               torch.zeros_like(bb))
            if config.conflicts_only:
                coef = coef.clamp(max=0.0)
            g.sub_((coef if segments is None else coef[segments]) * b)
        if config.rescale == "norm":
            raw = grads[k].norm()
            new = g.norm()
            if new > config.eps ** 0.5:
                g.mul_(raw / new)
        norms_sq.append(_segment_dot(g, g, segments, n_seg))
    return out


class OrthogonalizedSGD:
    """Wraps ``optimizer``; ``step(losses)`` takes the list of per-output losses [L_1, ..., L_K].

    Use ``backward(losses)`` instead of ``step`` to only write the combined gradient to ``.grad``
    (e.g. to clip it) and then call ``optimizer.step()`` yourself.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, config: OSGDConfig = OSGDConfig()) -> None:
        self.optimizer = optimizer
        self.config = config

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    def _params(self) -> list[Tensor]:
        return [p for g in self.optimizer.param_groups for p in g["params"] if p.requires_grad]

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def backward(self, losses: Sequence[Tensor] | Iterable[Tensor]) -> Tensor:
        """Write Σ_k g'_k to ``.grad`` of every parameter (replacing what was there).

        Returns the projected per-output gradients (K, P), for inspection.
        """
        losses = list(losses)
        if not losses:
            raise ValueError("OrthogonalizedSGD needs at least one loss")
        params = self._params()
        rows = []
        for k, loss in enumerate(losses):
            gs = torch.autograd.grad(loss, params, retain_graph=k < len(losses) - 1, allow_unused=True)
            rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                                   for g, p in zip(gs, params, strict=True)]))
            del gs
        grads = torch.stack(rows)
        del rows
        segments = None
        if self.config.projection == "per-tensor":
            segments = torch.repeat_interleave(
                torch.arange(len(params), device=grads.device),
                torch.tensor([p.numel() for p in params], device=grads.device))
        proj = orthogonalize(grads, segments, self.config)
        total = proj.sum(0)
        offset = 0
        for p in params:
            n = p.numel()
            p.grad = total[offset: offset + n].view_as(p).clone()
            offset += n
        return proj

    def step(self, losses: Sequence[Tensor] | Iterable[Tensor]) -> Tensor:
        """Combine the per-output gradients and step the wrapped optimizer; returns them projected."""
        proj = self.backward(losses)
        self.optimizer.step()
        return proj

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state)
