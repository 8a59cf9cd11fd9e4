"""Word-by-word inference with a family of language models whose states must stay usable when the
controller switches models between words.

A :class:`SentenceFamily` holds the candidate models (traditional LSTMs and the width-nested
anytime LSTM) and one recurrent state per model. Each word runs one *candidate* (a model, and
for the anytime model a stopping stage). What happens to the other states is the *state policy*:

* ``"sync"`` (default): after the chosen output is ready, every other model (and the groups of the
  anytime model after its stopping stage) advances its recurrent state on the same word without
  computing its output layer. Every state is then exactly what it would be had that model run
  every word, so switching costs no accuracy; the price is the extra cell updates per word.
* ``"stale"``: only the chosen model advances; the others keep the state of the last word they
  ran (cheapest, but a model picked after a pause reads an old context).
* ``"sentence"``: every state is reset at the start of each sentence and the model may change only
  there (no extra work and no stale state, but no switching within a sentence and no context
  carried across sentences).

The measured costs and accuracy of the three are in docs/sentence.md (benchmarks/sentence_state.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from . import FAMILY  # noqa: F401 - re-exported
from .models import NestedLSTMLM

StatePolicy = Literal["sync", "stale", "sentence"]
POLICIES: tuple[str, ...] = ("sync", "stale", "sentence")


@dataclass(frozen=True)
class Candidate:
    """One row of the profile: ``model`` and, for the anytime model, the 1-based ``stage``."""

    model: str
    stage: int | None

    @property
    def label(self) -> str:
        return self.model if self.stage is None else f"{self.model}@{self.stage}"


@dataclass
class WordResult:
    """Outcome of one word: the prediction of each stage that ran, the time each was ready
    (seconds from the start of the word), and the time the word's work was done (state policy included)."""

    predictions: list[int]
    stage_ends: list[float]
    done: float


class SentenceFamily:
    """The candidate models with one state each; run one candidate per word under a state policy."""

    def __init__(self, models: Mapping[str, NestedLSTMLM], policy: StatePolicy = "sync",
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if policy not in POLICIES:
            raise ValueError(f"state policy must be one of {POLICIES}, got {policy!r}")
        if not models:
            raise ValueError("a sentence family needs at least one model")
        self.models = {n: m.eval() for n, m in models.items()}
        self.policy = policy
        self.clock = clock
        self.states = {n: m.init_state(1) for n, m in self.models.items()}
        self._sentence_model: str | None = None

    @property
    def candidates(self) -> list[Candidate]:
        """Traditional models first (one row each), then every stage of every anytime model."""
        trad = [Candidate(n, None) for n, m in self.models.items() if m.n_stages == 1]
        anyt = [Candidate(n, k) for n, m in self.models.items() if m.n_stages > 1 for k in range(1, m.n_stages + 1)]
        return trad + anyt

    def reset(self) -> None:
        """Zero every state (the start of a stream, or of a sentence under the ``sentence`` policy)."""
        self.states = {n: m.init_state(1) for n, m in self.models.items()}
        self._sentence_model = None

    def begin_sentence(self) -> None:
        if self.policy == "sentence":
            self.reset()

    @torch.no_grad()
    def step(self, token: int, candidate: Candidate, deadline: float | None = None) -> WordResult:
        """Feed ``token`` to ``candidate``; an anytime model stops after ``candidate.stage`` or at
        ``deadline`` seconds (its last stage finished by then is its output)."""
        name = candidate.model
        if name not in self.models:
            raise ValueError(f"unknown model {name!r}; the family has {sorted(self.models)}")
        if self.policy == "sentence":
            if self._sentence_model not in (None, name):
                raise ValueError(f"state policy 'sentence' switches models only at sentence starts "
                                 f"(this sentence runs {self._sentence_model!r}, not {name!r})")
            self._sentence_model = name
        model = self.models[name]
        k_max = candidate.stage or model.n_stages
        t0 = self.clock()
        tok = torch.tensor([token])
        x = model.embed(tok)
        prev = self.states[name]
        new = prev.clone()
        preds: list[int] = []
        ends: list[float] = []
        reached = 0
        for k in range(k_max):
            model.step_group(k, x, prev, new)
            logits = model.stage_logits(k, new.h)
            preds.append(int(logits.argmax(1)))
            ends.append(self.clock() - t0)
            reached = k + 1
            if deadline is not None and ends[-1] >= deadline:
                break
        if self.policy == "sync":
            model.step_rest(reached, x, prev, new)
            for other, m in self.models.items():
                if other != name:
                    ox = m.embed(tok)
                    st = self.states[other]
                    nxt = st.clone()
                    m.step_rest(0, ox, st, nxt)
                    self.states[other] = nxt
        # without sync, the groups after the stop (and the other models) keep their previous values
        self.states[name] = new
        return WordResult(preds, ends, self.clock() - t0)


def load_family(names: Sequence[str], weights_dir: str | None = None) -> dict[str, NestedLSTMLM]:
    """Load shipped weights by name (``ptb-lstm-32`` ..., looked up in ``weights_dir`` only) or a
    user's file by explicit path (with a ``/`` or ending in ``.pt``)."""
    from pathlib import Path

    from .train import load_weights

    wdir = Path(weights_dir) if weights_dir else Path(__file__).resolve().parent.parent / "data" / "weights"
    out = {}
    for n in names:
        p = Path(n)
        explicit = "/" in n or p.suffix == ".pt"
        model, _ = load_weights(p if explicit else wdir / f"{n}.pt")
        out[p.stem if explicit else n] = model
    return out
