"""How much CPU the intra-op threads burn after a two-thread run (docs/measured.md, item 9).

Runs the trained `depth-2` network on 16 random images with two threads, 200 times, each run
followed by a 10 ms sleep, and prints the median run time and the CPU time the process burnt
during the sleeps. Compare the OpenMP spin settings:

    python3 examples/measured-cpu/spin_probe.py
    GOMP_SPINCOUNT=10000 python3 examples/measured-cpu/spin_probe.py
"""

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
from alert.nn.train import load_weights  # noqa: E402

model, _ = load_weights(ROOT / "src" / "alert" / "data" / "weights" / "depth-2.pt")
model = model.float().eval()
x = torch.randn(16, 1, 28, 28)
torch.set_num_threads(2)
runs, idles = [], []
with torch.inference_mode():
    for _ in range(20):
        model(x)
    for _ in range(200):
        c0, t0 = time.process_time(), time.perf_counter()
        model(x)
        t1, c1 = time.perf_counter(), time.process_time()
        time.sleep(0.01)
        runs.append(t1 - t0)
        idles.append(time.process_time() - c1)
print(f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', 'default')}: run median {1e3 * np.median(runs):.2f} ms, "
      f"CPU burnt in the 10 ms after a run {1e3 * np.mean(idles):.2f} ms")
