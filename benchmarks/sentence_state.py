"""State consistency across model switches: accuracy and per-word cost of the three state policies.

Runs the shipped sentence family word by word over PTB test sentences while a random schedule
switches the candidate (model and stopping stage) at every word (``sync``, ``stale``) or at every
sentence (``sentence``), and compares each word's prediction with the next word. ``reference`` is
the accuracy the same schedule gets when every model has run every word (``sync`` must equal it).
Prints a table; ``--json PATH`` writes the rows.

    PYTHONPATH=src python3 benchmarks/sentence_state.py --sentences 200 --json sentence_state.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    import torch

    from alert.nlp import FAMILY
    from alert.nlp.data import EOS, load_ptb
    from alert.nlp.runtime import SentenceFamily, load_family

    torch.set_num_threads(1)
    corpus = load_ptb()
    models = load_family(FAMILY)
    sents = list(corpus.sentences("test", args.sentences))
    eos = corpus.vocab.index(EOS)
    cands = SentenceFamily(models).candidates
    rng = np.random.default_rng(args.seed)
    per_word = [rng.integers(0, len(cands), len(s)) for s in sents]
    per_sentence = [np.full(len(s), rng.integers(0, len(cands))) for s in sents]

    ref = SentenceFamily(models, "sync")       # every model runs every word
    truth: dict[str, list[bool]] = {c.label: [] for c in cands}
    prev = eos
    for s in sents:
        for tok in s.tolist():
            saved = dict(ref.states)
            for c in cands:
                ref.states = dict(saved)
                truth[c.label].append(ref.step(prev, c).predictions[-1] == tok)
            prev = tok
    rows = []
    for policy, sched in (("sync", per_word), ("stale", per_word), ("sentence", per_sentence)):
        fam = SentenceFamily(models, policy)  # type: ignore[arg-type]
        ok, ref_ok, times, n, prev = 0, 0, [], 0, eos
        for s, picks in zip(sents, sched, strict=False):
            fam.begin_sentence()
            for tok, p in zip(s.tolist(), picks.tolist(), strict=False):
                t0 = time.perf_counter()
                r = fam.step(prev, cands[p])
                times.append(time.perf_counter() - t0)
                ok += int(r.predictions[-1] == tok)
                ref_ok += int(truth[cands[p].label][n])
                prev, n = tok, n + 1
        rows.append({"policy": policy, "switch": "sentence" if policy == "sentence" else "word", "words": n,
                     "accuracy": ok / n, "reference_accuracy": ref_ok / n,
                     "ms_per_word_mean": 1e3 * float(np.mean(times)),
                     "ms_per_word_p95": 1e3 * float(np.percentile(times, 95))})
    head = f"{'policy':<10}{'switch at':>10}{'words':>7}{'accuracy':>10}{'reference':>10}{'ms/word':>9}{'p95':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['policy']:<10}{r['switch']:>10}{r['words']:>7}{r['accuracy']:>10.4f}{r['reference_accuracy']:>10.4f}"
              f"{r['ms_per_word_mean']:>9.3f}{r['ms_per_word_p95']:>8.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
