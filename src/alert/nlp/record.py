"""Record per-word traces of a sentence family on this machine (format ``alert-trace``).

For every word of the given sentences and every model, the word is run from the same states under
the ``sync`` policy and the time until its work is done (output ready and every state advanced) is
recorded, together with whether its prediction was the next word. An anytime model runs all its
stages once; its row for stage k is the end of stage k plus the state-sync time of that run, so
the rows are cumulative by construction (the sync of its own later groups, a few small products,
is counted for every stage). Under ``sync`` all states after a word
are the same whichever candidate ran, so the rows are measured on identical inputs. A
``state_fn`` (e.g. a contention generator's on/off schedule) labels each word.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .runtime import SentenceFamily


@dataclass
class WordTimes:
    """Per-word latency (N, C) in seconds, correctness (N, C) and state label (N,)."""

    latency: np.ndarray
    correct: np.ndarray
    state: np.ndarray
    lengths: np.ndarray


def record_words(family: SentenceFamily, sentences: Sequence[np.ndarray], previous: int,
                 state_fn: Callable[[], int] = lambda: 0, warmup: int = 20) -> WordTimes:
    """Run every candidate on every word; ``previous`` is the token before the first sentence
    (``<eos>``). Each sentence array ends with ``<eos>``; word w predicts token w of the sentence
    from token w-1."""
    if family.policy != "sync":
        raise ValueError("recording needs the 'sync' state policy (every row must see the same states)")
    cands = family.candidates
    family.reset()
    for _ in range(warmup):  # warm caches and the allocator, then start from a clean state
        family.step(previous, cands[-1])
    family.reset()
    cols = {c.model: [i for i, d in enumerate(cands) if d.model == c.model] for c in cands}
    rows = {m: [cands[i] for i in ix] for m, ix in cols.items()}
    n_words = int(sum(len(s) for s in sentences))
    lat = np.zeros((n_words, len(cands)))
    cor = np.zeros((n_words, len(cands)), dtype=np.int8)
    st = np.zeros(n_words, dtype=np.int64)
    n = 0
    prev = int(previous)
    for sent in sentences:
        for target in sent.tolist():
            st[n] = state_fn()
            saved = dict(family.states)
            for cand in cands:
                if cand.stage is not None and cand.stage > 1:
                    continue  # filled by the run of stage 1's row below
                family.states = dict(saved)
                last = cand if cand.stage is None else rows[cand.model][-1]
                r = family.step(prev, last)
                sync = r.done - r.stage_ends[-1]
                for k, col in enumerate(cols[cand.model]):
                    lat[n, col] = r.stage_ends[k] + sync
                    cor[n, col] = int(r.predictions[k] == target)
            prev = int(target)
            n += 1
    return WordTimes(lat, cor, st, np.array([len(s) for s in sentences], dtype=np.int64))
