"""Compare the OSGD options the paper leaves open, and summed losses, on a short training budget.

Variants: summed losses; OSGD with whole-vector ("global") or per-tensor projection, each with
and without rescaling to the raw gradient's norm. Every variant trains the same nested model from
the same seed on the same examples; the table shows per-stage Fashion-MNIST test accuracy.

    PYTHONPATH=src python3 benchmarks/osgd_options.py --model depth-nested --epochs 2 \
        --limit-train 20000 --seeds 0 1 --json osgd-options.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from alert.nn.data import DEFAULT_ROOT
from alert.nn.train import TrainConfig, train

VARIANTS = {
    "sum": {"method": "sum"},
    "osgd global": {"method": "osgd", "projection": "global", "rescale": "none"},
    "osgd per-tensor": {"method": "osgd", "projection": "per-tensor", "rescale": "none"},
    "osgd global+norm": {"method": "osgd", "projection": "global", "rescale": "norm"},
    "osgd per-tensor+norm": {"method": "osgd", "projection": "per-tensor", "rescale": "norm"},
    "osgd conflicts-only": {"method": "osgd", "projection": "global", "conflicts_only": True},
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="depth-nested")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--limit-train", type=int, default=20000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    results: dict[str, list[list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for v in args.variants:
            for seed in args.seeds:
                cfg = TrainConfig(model=args.model, epochs=args.epochs, seed=seed, data=str(args.data),
                                  limit_train=args.limit_train, **VARIANTS[v])
                _, res = train(cfg, Path(tmp) / f"{v}-{seed}.ckpt", torch.device("cpu"), resume=False,
                               progress=False, log=lambda s: print(s, file=sys.stderr))
                results.setdefault(v, []).append(res.test_accuracy)
    print(f"{args.model}: {args.epochs} epochs on {args.limit_train} training images, seeds {args.seeds}; "
          "test accuracy % per stage (mean over seeds)")
    n = len(next(iter(results.values()))[0])
    print(f"{'variant':<22}" + "".join(f"{f'stage {k + 1}':>10}" for k in range(n)))
    for v, accs in results.items():
        m = np.mean(accs, axis=0) * 100
        print(f"{v:<22}" + "".join(f"{a:>10.2f}" for a in m))
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "epochs": args.epochs, "limit_train": args.limit_train,
                                         "seeds": args.seeds, "accuracy": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
