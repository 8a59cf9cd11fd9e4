"""Results table of the anytime networks on the Fashion-MNIST test set.

For every nested family (depth, width) whose weights exist: accuracy of each stage of the nested
network trained with orthogonalized SGD and with summed losses, of the independently trained
network of the same size, and batch-1 latency per stage on this machine (cumulative stage end
time of the nested model, full time of the independent one; mean of --repeats runs).

    PYTHONPATH=src python3 benchmarks/osgd_results.py [--weights DIR] [--threads 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import torch

from alert.nn.data import DEFAULT_ROOT, load_split
from alert.nn.export import WEIGHTS_DIR, stage_latency
from alert.nn.families import NESTED
from alert.nn.train import evaluate, load_weights, to_tensors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=300)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    x, y = to_tensors(load_split(args.data, "test"), torch.device("cpu"))
    one = x[:1]
    out: dict = {"machine": f"{platform.machine()} {platform.processor()}", "torch": torch.__version__,
                 "threads": args.threads, "repeats": args.repeats, "families": {}}

    def measure(name: str) -> dict | None:
        path = args.weights / f"{name}.pt"
        if not path.exists():
            return None
        model, info = load_weights(path)
        acc = evaluate(model, x, y)
        lat = stage_latency(model, one, args.threads, args.repeats, warmup=30)
        return {"accuracy": acc, "latency_ms": (lat.mean(0) * 1e3).tolist(),
                "latency_p95_ms": (torch.from_numpy(lat).quantile(0.95, dim=0) * 1e3).tolist(),
                "epochs": info["config"]["epochs"], "params": sum(p.numel() for p in model.parameters())}

    for nested, singles in NESTED.items():
        # every shipped training of the nested model: NESTED-osgd, NESTED-sum, NESTED-<variant>
        names = sorted((p.stem for p in args.weights.glob(f"{nested}-*.pt")),
                       key=lambda n: (n != f"{nested}-osgd", n != f"{nested}-sum", n))
        variants = {n[len(nested) + 1:]: measure(n) for n in names}
        indep = [measure(s) for s in singles]
        if not variants and not any(indep):
            continue
        out["families"][nested] = {"nested": variants, "independent": dict(zip(singles, indep, strict=False))}
        ref = variants.get("osgd") or next(iter(variants.values()), None)
        print(f"\n{nested}: Fashion-MNIST test accuracy (%) per stage; batch-1 latency (ms) on "
              f"{args.threads} thread(s); d = OSGD minus independent (pp)")
        print(f"{'stage':<6}{'size':<10}" + "".join(f"{v:>12}" for v in variants) +
              f"{'indep.':>9}{'d':>7}{'nested ms':>11}{'indep. ms':>11}")
        for k, single in enumerate(singles):
            ind = indep[k]
            a_i = ind["accuracy"][0] * 100 if ind else float("nan")
            accs = [r["accuracy"][k] * 100 if r else float("nan") for r in variants.values()]
            a_o = ref["accuracy"][k] * 100 if ref else float("nan")
            t_n = ref["latency_ms"][k] if ref else float("nan")
            t_i = ind["latency_ms"][0] if ind else float("nan")
            print(f"{k + 1:<6}{single:<10}" + "".join(f"{a:>12.2f}" for a in accs) +
                  f"{a_i:>9.2f}{a_o - a_i:>+7.2f}{t_n:>11.3f}{t_i:>11.3f}")
    if not out["families"]:
        print(f"no weights found in {args.weights}; train them (docs/anytime.md)", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
