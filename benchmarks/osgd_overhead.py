"""Cost of one training step: orthogonalized SGD (both projections) against summed losses.

    PYTHONPATH=src python3 benchmarks/osgd_overhead.py [--batch 128] [--steps 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from alert.nn.families import build_model
from alert.nn.osgd import OrthogonalizedSGD, OSGDConfig


def step_time(model_name: str, mode: str, batch: int, steps: int) -> float:
    torch.manual_seed(0)
    model = build_model(model_name).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    osgd = OrthogonalizedSGD(opt, OSGDConfig(projection="per-tensor" if mode == "osgd-per-tensor" else "global"))
    # mode "osgd" is the whole-vector projection, "osgd-per-tensor" the default
    x, y = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    times = []
    for i in range(steps + 2):
        t = time.perf_counter()
        losses = [F.cross_entropy(o, y) for o in model(x)]
        opt.zero_grad(set_to_none=True)
        if mode == "sum":
            torch.stack(losses).sum().backward()
            opt.step()
        else:
            osgd.step(losses)
        if i >= 2:
            times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    print(f"median step time (ms), batch {args.batch}, {args.threads} thread(s)")
    print(f"{'model':<14}{'sum':>10}{'osgd global':>13}{'osgd tensor':>13}{'tensor/sum':>12}")
    for name in ("depth-nested", "width-nested"):
        t = {m: step_time(name, m, args.batch, args.steps) * 1e3 for m in ("sum", "osgd", "osgd-per-tensor")}
        rows.append({"model": name, **t})
        print(f"{name:<14}{t['sum']:>10.1f}{t['osgd']:>13.1f}{t['osgd-per-tensor']:>13.1f}"
              f"{t['osgd-per-tensor'] / t['sum']:>12.2f}")
    if args.json:
        args.json.write_text(json.dumps({"batch": args.batch, "threads": args.threads, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
