"""Nested anytime architectures (ICML 2020 companion paper, §3 "nested architecture").

An anytime network produces outputs O_1, O_2, ... after successive stages; stage k re-uses the
state of stages 1..k-1. Two nestings are provided:

* :class:`WidthNestedNet`: every layer is split into channel groups; group k (added by stage k)
  reads the groups 1..k of the layer below, while earlier groups never read later ones. Outputs
  of earlier stages are therefore unchanged by later stages and their computation is re-used.
  BatchNorm is per channel, so the statistics of earlier groups are shared by all stages.
* :class:`DepthNestedNet`: a residual network whose stage k appends blocks to stage k-1 (depth
  roughly doubles per stage), with an output head after each stage.

One contract (:class:`AnytimeNet`): ``forward(x)`` returns the list of stage outputs;
``anytime(x, stop_at=k, deadline=s)`` runs stage by stage and returns the latest output ready
when the stage budget or the deadline is reached. A single-stage instance of either class is an
ordinary ("traditional") network, which is how the independently trained family is built.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F


@dataclass
class AnytimeResult:
    """What :meth:`AnytimeNet.anytime` returns.

    ``stage`` is the number of stages whose output was ready by the deadline (0 when even stage 1
    finished late; then ``output`` is None, which is the q_fail case of ALERT, and the late
    stage-1 output is in ``late_output``). ``stage_ends`` are cumulative end times in seconds.
    """

    output: Tensor | None
    stage: int
    stage_ends: list[float] = field(default_factory=list)
    late_output: Tensor | None = None

    @property
    def met_deadline(self) -> bool:
        return self.stage > 0


class AnytimeNet(nn.Module):
    """Base class: subclasses define ``n_stages``, ``init_state(x)`` and ``run_stage(k, state)``."""

    n_stages: int

    def init_state(self, x: Tensor) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def run_stage(self, k: int, state: dict[str, Any]) -> Tensor:  # pragma: no cover - abstract
        """Run 0-based stage ``k`` (stages < k have run on ``state``) and return its output logits."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> list[Tensor]:
        """All stage outputs [O_1, ..., O_K] (logits), computed with full re-use."""
        state = self.init_state(x)
        return [self.run_stage(k, state) for k in range(self.n_stages)]

    def anytime(self, x: Tensor, stop_at: int | None = None, deadline: float | None = None,
                clock: Callable[[], float] = time.perf_counter) -> AnytimeResult:
        """Run stage by stage; stop after 1-based stage ``stop_at`` or once ``deadline`` seconds
        (measured from the call) have passed, returning the latest output ready by the deadline.

        A stage already running when the deadline passes is finished (eager execution cannot be
        pre-empted) but its output is late: the result keeps the previous stage's output.
        On CUDA inputs the device is synchronised after each stage so times are real.
        """
        k_max = self.n_stages if stop_at is None else int(stop_at)
        if not 1 <= k_max <= self.n_stages:
            raise ValueError(f"stop_at must be in 1..{self.n_stages}, got {stop_at}")
        if deadline is not None and deadline <= 0:
            raise ValueError(f"deadline must be a positive number of seconds, got {deadline}")
        sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
        t0 = clock()
        state = self.init_state(x)
        result = AnytimeResult(output=None, stage=0)
        for k in range(k_max):
            out = self.run_stage(k, state)
            sync()
            t = clock() - t0
            result.stage_ends.append(t)
            if deadline is not None and t > deadline:
                if result.stage == 0:
                    result.late_output = out
                break
            result.output, result.stage = out, k + 1
            if deadline is not None and t >= deadline:
                break
        return result


# ============================================================================ width nesting
class NestedConvBN(nn.Module):
    """Conv + BatchNorm split into channel groups; group g reads input groups 0..g only.

    ``in_groups`` is either a list of input group sizes (nested input) or an int (a shared input,
    e.g. the image, read in full by every group).
    """

    def __init__(self, in_groups: Sequence[int] | int, out_groups: Sequence[int], kernel: int, stride: int) -> None:
        super().__init__()
        self.shared_input = isinstance(in_groups, int)
        ins = [in_groups] * len(out_groups) if isinstance(in_groups, int) else \
            [sum(in_groups[: g + 1]) for g in range(len(out_groups))]
        self.convs = nn.ModuleList(nn.Conv2d(i, o, kernel, stride, kernel // 2, bias=False)
                                   for i, o in zip(ins, out_groups, strict=True))
        self.bns = nn.ModuleList(nn.BatchNorm2d(o) for o in out_groups)

    def forward_group(self, g: int, ins: Sequence[Tensor]) -> Tensor:
        x = ins[0] if self.shared_input else (ins[0] if g == 0 else torch.cat(list(ins[: g + 1]), 1))
        return self.bns[g](self.convs[g](x))


class NestedBlock(nn.Module):
    """A width-nested basic residual block (two 3x3 convs, projection shortcut when needed)."""

    def __init__(self, in_groups: Sequence[int], out_groups: Sequence[int], stride: int) -> None:
        super().__init__()
        self.conv1 = NestedConvBN(in_groups, out_groups, 3, stride)
        self.conv2 = NestedConvBN(out_groups, out_groups, 3, 1)
        self.shortcut = (NestedConvBN(in_groups, out_groups, 1, stride)
                         if stride != 1 or list(in_groups) != list(out_groups) else None)

    def forward_group(self, g: int, ins: Sequence[Tensor], mids: list[Tensor]) -> Tensor:
        mids.append(F.relu(self.conv1.forward_group(g, ins)))
        out = self.conv2.forward_group(g, mids)
        sc = ins[g] if self.shortcut is None else self.shortcut.forward_group(g, ins)
        return F.relu(out + sc)


class WidthNestedNet(AnytimeNet):
    """Width-nested residual CNN for 28x28 inputs: stage k adds ``widths[k] - widths[k-1]`` channels
    to every layer (``widths`` are cumulative). Layout: stem 3x3/2 (14x14), a block at width w,
    a block at 2w with stride 2 (7x7), global average pool, one linear head per stage.
    ``WidthNestedNet((w,))`` is a plain network of width w.
    """

    def __init__(self, widths: Sequence[int] = (8, 16, 32), num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        widths = [int(w) for w in widths]
        if not widths or any(b <= a for a, b in zip([0] + widths, widths, strict=False)):
            raise ValueError(f"widths must be positive and strictly increasing, got {widths}")
        self.widths = widths
        self.n_stages = len(widths)
        g1 = [b - a for a, b in zip([0] + widths, widths, strict=False)]
        g2 = [2 * c for c in g1]
        self.stem = NestedConvBN(in_channels, g1, 3, 2)
        self._blocks = [NestedBlock(g1, g1, 1), NestedBlock(g1, g2, 2)]
        self.blocks = nn.ModuleList(self._blocks)
        self.heads = nn.ModuleList(nn.Linear(2 * w, num_classes) for w in widths)

    def init_state(self, x: Tensor) -> dict[str, Any]:
        return {"x": x, "stem": [], "blocks": [[] for _ in self.blocks],
                "mids": [[] for _ in self.blocks], "pooled": []}

    def run_stage(self, k: int, state: dict[str, Any]) -> Tensor:
        h = F.relu(self.stem.forward_group(k, [state["x"]]))
        state["stem"].append(h)
        ins = state["stem"]
        for b, block in enumerate(self._blocks):
            state["blocks"][b].append(block.forward_group(k, ins, state["mids"][b]))
            ins = state["blocks"][b]
        state["pooled"].append(ins[k].mean((2, 3)))
        return self.heads[k](torch.cat(state["pooled"], 1))


# ============================================================================ depth nesting
class BasicBlock(nn.Module):
    """A standard basic residual block."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                         if stride != 1 or c_in != c_out else nn.Identity())

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class DepthNestedNet(AnytimeNet):
    """Depth-nested residual CNN: stage k ends after ``depths[k]`` blocks (cumulative; e.g.
    (1, 2, 4) doubles depth per stage) and has its own head. Layout: stem 3x3/2 to ``width``
    channels (14x14); the first block has stride 2 and 2x width (7x7), the rest keep the shape.
    ``DepthNestedNet((d,))`` is a plain residual network with d blocks.
    """

    def __init__(self, depths: Sequence[int] = (1, 2, 4), width: int = 16, num_classes: int = 10,
                 in_channels: int = 1) -> None:
        super().__init__()
        depths = [int(d) for d in depths]
        if not depths or any(b <= a for a, b in zip([0] + depths, depths, strict=False)):
            raise ValueError(f"depths must be positive and strictly increasing, got {depths}")
        self.depths = depths
        self.n_stages = len(depths)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        c = 2 * width
        self.blocks = nn.ModuleList(BasicBlock(width if i == 0 else c, c, 2 if i == 0 else 1)
                                    for i in range(depths[-1]))
        self.heads = nn.ModuleList(nn.Linear(c, num_classes) for _ in depths)

    def init_state(self, x: Tensor) -> dict[str, Any]:
        return {"h": self.stem(x), "done": 0}

    def run_stage(self, k: int, state: dict[str, Any]) -> Tensor:
        h = state["h"]
        for i in range(state["done"], self.depths[k]):
            h = self.blocks[i](h)
        state["h"], state["done"] = h, self.depths[k]
        return self.heads[k](h.mean((2, 3)))
