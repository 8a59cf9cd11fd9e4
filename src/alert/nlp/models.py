"""Recurrent language models: a width-nested anytime LSTM and its traditional (single-stage) family.

:class:`NestedLSTMLM` with cumulative widths ``(w_1, ..., w_K)`` is one LSTM of width w_K whose
hidden units are split into groups; group k (added by stage k) has ``w_k - w_{k-1}`` units and its
gates read the word embedding and the previous hidden state of groups 1..k only (the recurrent
matrix is block lower-triangular by group, the ICML 2020 width nesting applied through time).
Groups 1..k therefore evolve exactly like a stand-alone LSTM of width w_k: stage k never changes
what stages < k compute. Stage k has its own output layer: a w_k x w_k projection and bias, then
the transposed embedding restricted to its first w_k columns (weight tying, Press & Wolf 2017;
it keeps the shipped weights small). ``NestedLSTMLM((w,))`` is a traditional LSTM LM of width w.

Training uses the fused ``nn.LSTM`` on the masked weights (a gradient hook keeps the masked
entries at zero). Word-by-word inference (:meth:`NestedLSTMLM.step_stages`) runs group by group,
so stage k's output is ready after groups 1..k and heads 1..k, and earlier work is re-used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class LMState:
    """Recurrent state of one model for a batch: hidden ``h`` and cell ``c``, each (B, width)."""

    h: Tensor
    c: Tensor

    def clone(self) -> LMState:
        return LMState(self.h.clone(), self.c.clone())


def _check_widths(widths: Sequence[int]) -> list[int]:
    ws = [int(w) for w in widths]
    if not ws or any(b <= a for a, b in zip([0] + ws, ws, strict=False)):
        raise ValueError(f"widths must be positive and strictly increasing, got {list(widths)}")
    return ws


def nesting_mask(widths: Sequence[int]) -> Tensor:
    """(4W, W) 0/1 mask of the recurrent matrix: a gate row of a unit in group g reads the columns
    of groups 1..g (gate blocks in nn.LSTM order i, f, g, o)."""
    ws = _check_widths(widths)
    width = ws[-1]
    group_end = torch.empty(width, dtype=torch.long)
    for a, b in zip([0] + ws, ws, strict=False):
        group_end[a:b] = b
    cols = torch.arange(width)
    unit = (cols[None, :] < group_end[:, None]).float()  # (W units, W cols)
    return unit.repeat(4, 1)


class NestedLSTMLM(nn.Module):
    """Width-nested LSTM language model; ``forward`` returns the logits of every stage."""

    def __init__(self, vocab_size: int, widths: Sequence[int] = (32, 64, 128), dropout: float = 0.1) -> None:
        super().__init__()
        self.widths = _check_widths(widths)
        self.n_stages = len(self.widths)
        self.vocab_size = int(vocab_size)
        width = self.widths[-1]
        self.embedding = nn.Embedding(vocab_size, width)
        self.lstm = nn.LSTM(width, width)
        self._proj = [nn.Linear(w, w, bias=False) for w in self.widths]
        self.proj = nn.ModuleList(self._proj)
        self.bias = nn.ParameterList(nn.Parameter(torch.zeros(vocab_size)) for _ in self.widths)
        self.drop = nn.Dropout(dropout)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        for p in self._proj:
            nn.init.eye_(p.weight)
        self.mask: Tensor
        self.register_buffer("mask", nesting_mask(self.widths), persistent=False)
        with torch.no_grad():
            self._lstm_weight("weight_hh_l0").mul_(self.mask)
        self._lstm_weight("weight_hh_l0").register_hook(lambda g: g * self.mask)
        self._cache: dict[str, list[Tensor]] | None = None

    def _lstm_weight(self, name: str) -> nn.Parameter:
        """One of the LSTM's parameters by name (``weight_hh_l0``, ``bias_ih_l0``, ...)."""
        return self.lstm.get_parameter(name)

    # ----------------------------------------------------------------- training
    def init_state(self, batch: int = 1) -> LMState:
        p = self.embedding.weight
        z = torch.zeros(batch, self.widths[-1], dtype=p.dtype, device=p.device)
        return LMState(z, z.clone())

    def enforce_nesting(self) -> None:
        """Zero the masked recurrent weights (after loading foreign weights, or as a safety net)."""
        with torch.no_grad():
            self._lstm_weight("weight_hh_l0").mul_(self.mask)
        self._cache = None

    def head(self, k: int, h: Tensor) -> Tensor:
        """Logits of 0-based stage k from hidden units [..., :w_k]."""
        w = self.widths[k]
        return self._proj[k](h[..., :w]) @ self.embedding.weight[:, :w].t() + self.bias[k]

    def forward(self, x: Tensor, state: LMState | None = None) -> tuple[list[Tensor], LMState]:
        """``x`` (T, B) token ids -> per-stage logits [(T, B, V)] and the final state."""
        state = state or self.init_state(x.shape[1])
        out, (h, c) = self.lstm(self.drop(self.embedding(x)), (state.h[None], state.c[None]))
        out = self.drop(out)
        return [self.head(k, out) for k in range(self.n_stages)], LMState(h[0], c[0])

    def train(self, mode: bool = True) -> NestedLSTMLM:
        self._cache = None
        return super().train(mode)

    # ---------------------------------------------------------------- inference
    def _weights(self) -> dict[str, list[Tensor]]:
        """Per-group weights for word-by-word inference (built once per eval()).

        Group k's gates read [x, h_{t-1}[:a]] (input weights ``ih``) and its own h_{t-1}[a:e]
        (recurrent weights ``hh``), so each group is one fused ``torch.lstm_cell`` call."""
        if self._cache is None:
            W = self.widths[-1]
            wih, whh = self._lstm_weight("weight_ih_l0").detach(), self._lstm_weight("weight_hh_l0").detach()
            b = (self._lstm_weight("bias_ih_l0") + self._lstm_weight("bias_hh_l0")).detach()
            cache: dict[str, list[Tensor]] = {"ih": [], "hh": [], "b": [], "full": [wih, whh, b],
                                              "dec": [], "proj": [], "bias": []}
            for k, (a, e) in enumerate(zip([0] + self.widths, self.widths, strict=False)):
                rows = torch.cat([torch.arange(q * W + a, q * W + e) for q in range(4)])
                cache["ih"].append(torch.cat([wih[rows], whh[rows, :a]], 1).contiguous())
                cache["hh"].append(whh[rows, a:e].contiguous())
                cache["b"].append(b[rows].contiguous())
                cache["dec"].append(self.embedding.weight[:, :e].detach().t().contiguous())
                cache["proj"].append(self._proj[k].weight.detach().t().contiguous())
                cache["bias"].append(self.bias[k].detach())
            self._cache = cache
        return self._cache

    @torch.no_grad()
    def step_group(self, k: int, x: Tensor, prev: LMState, new: LMState) -> None:
        """Advance group k (0-based) by one word: reads ``prev`` (t-1), writes its units of ``new``."""
        wt = self._weights()
        a, e = ([0] + self.widths)[k], self.widths[k]
        inp = x if a == 0 else torch.cat([x, prev.h[:, :a]], 1)
        h, c = torch.lstm_cell(inp, (prev.h[:, a:e], prev.c[:, a:e]), wt["ih"][k], wt["hh"][k], wt["b"][k])
        new.h[:, a:e], new.c[:, a:e] = h, c

    @torch.no_grad()
    def step_rest(self, k: int, x: Tensor, prev: LMState, new: LMState) -> None:
        """Advance every group after 1-based stage k (keeps the whole state consistent): one fused
        cell over the full width, of which the units after stage k are kept."""
        if k >= self.n_stages:
            return
        wih, whh, b = self._weights()["full"]
        h, c = torch.lstm_cell(x, (prev.h, prev.c), wih, whh, b)
        a = self.widths[k - 1] if k > 0 else 0
        new.h[:, a:], new.c[:, a:] = h[:, a:], c[:, a:]

    @torch.no_grad()
    def embed(self, token: Tensor) -> Tensor:
        return self.embedding(token)

    @torch.no_grad()
    def stage_logits(self, k: int, h: Tensor) -> Tensor:
        """Inference form of :meth:`head` (contiguous cached weights)."""
        wt = self._weights()
        return torch.addmm(wt["bias"][k], h[:, : self.widths[k]] @ wt["proj"][k], wt["dec"][k])

    @torch.no_grad()
    def step(self, token: Tensor, state: LMState, stop_at: int | None = None, sync: bool = True
             ) -> tuple[list[Tensor], LMState]:
        """One word, batch of B tokens (B,): the logits of stages 1..stop_at and the next state.

        With ``sync`` the groups after ``stop_at`` are advanced too (without their heads), so the
        whole state stays exactly what a full run would give; without it they keep their old values.
        """
        k_max = self.n_stages if stop_at is None else int(stop_at)
        if not 1 <= k_max <= self.n_stages:
            raise ValueError(f"stop_at must be in 1..{self.n_stages}, got {stop_at}")
        x = self.embed(token)
        new = state.clone()
        outs = []
        for k in range(k_max):
            self.step_group(k, x, state, new)
            outs.append(self.stage_logits(k, new.h))
        if sync:
            self.step_rest(k_max, x, state, new)
        return outs, new
