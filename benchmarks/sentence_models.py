"""Perplexity and next-word accuracy on the PTB test set, and per-word latency on this machine,
of every model and stage of the shipped sentence family (the table of docs/sentence.md).

    PYTHONPATH=src python3 benchmarks/sentence_models.py --sentences 100 --json sentence_models.json
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=100, help="test sentences timed word by word")
    ap.add_argument("--limit-tokens", type=int, default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    import torch

    from alert.nlp.data import load_ptb
    from alert.nlp.measure import MeasureConfig, measure_family

    torch.set_num_threads(1)
    table, rows, _ = measure_family(load_ptb(), MeasureConfig(sentences=args.sentences, limit_tokens=args.limit_tokens))
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
