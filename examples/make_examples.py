"""Regenerate the two example profiles shipped in examples/.

They are illustrative, shaped like the paper's platforms (not measurements):
  laptop-cpu.json  a laptop CPU with RAPL caps from 10 W to 35 W in 2.5 W steps (paper §4),
                   five traditional sparse-ResNet-like models and one 4-stage depth-nested
                   anytime model; latency scales with work / speed(cap), speed concave in the cap.
  gpu-small.json   a GPU with five locked clocks (MHz) and a small model family, power measured
                   per (model, clock) rather than equal to a cap.
Run: python examples/make_examples.py
"""

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def laptop() -> dict:
    caps = np.arange(10.0, 35.01, 2.5)
    speed = (caps / 35.0) ** 0.65  # relative throughput at each cap
    idle = 2.0 + 0.05 * caps
    # (name, work in seconds at 35 W, top-1 accuracy)
    family = [("sparse-resnet-10", 0.020, 0.842), ("sparse-resnet-18", 0.034, 0.881),
              ("sparse-resnet-34", 0.061, 0.905), ("sparse-resnet-50", 0.095, 0.921),
              ("sparse-resnet-101", 0.170, 0.932)]
    models = []
    for name, work, acc in family:
        models.append({"name": name, "kind": "traditional", "accuracy": acc,
                       "latency": np.round(work / speed, 6).tolist(),
                       "power": np.round(caps * 0.97, 3).tolist()})
    stage_end = np.array([0.022, 0.047, 0.098, 0.175])
    stage_acc = [0.835, 0.874, 0.901, 0.925]
    models.append({"name": "depth-nest", "kind": "anytime", "accuracy": stage_acc,
                   "latency": np.round(stage_end[:, None] / speed[None, :], 6).tolist(),
                   "power": np.round(caps * 0.97, 3).tolist()})
    return {"format": "alert-profile", "version": 1, "name": "laptop-cpu",
            "metadata": {"platform": "laptop CPU, RAPL package cap (illustrative, paper-shaped)",
                         "method": "synthetic: examples/make_examples.py", "task": "image classification",
                         "classes": 10},
            "q_fail": 0.1,
            "settings": [{"name": f"{c:g}W", "value": float(c), "unit": "W", "idle_power": round(float(i), 3)}
                         for c, i in zip(caps, idle, strict=True)],
            "models": models}


def gpu() -> dict:
    clocks = np.array([705.0, 1005.0, 1305.0, 1605.0, 1980.0])
    speed = clocks / clocks.max()
    board = 80 + 250 * speed**2.2  # W while inferring at each clock
    family = [("mobilenet", 0.0021, 0.874), ("resnet-18", 0.0034, 0.912), ("resnet-50", 0.0068, 0.936)]
    models = [{"name": n, "kind": "traditional", "accuracy": a,
               "latency": np.round(w / speed ** 0.9, 7).tolist(),
               "power": np.round(board * (0.8 + 0.2 * w / 0.0068), 2).tolist()} for n, w, a in family]
    models.append({"name": "width-nest", "kind": "anytime", "accuracy": [0.861, 0.905, 0.93],
                   "latency": np.round(np.array([0.0022, 0.0041, 0.0072])[:, None] / speed[None, :] ** 0.9, 7).tolist(),
                   "power": np.round(board, 2).tolist()})
    return {"format": "alert-profile", "version": 1, "name": "gpu-small",
            "metadata": {"platform": "datacenter GPU, locked SM clocks (illustrative)",
                         "method": "synthetic: examples/make_examples.py", "task": "image classification",
                         "classes": 10},
            "q_fail": 0.1,
            "settings": [{"name": f"{c:g}MHz", "value": float(c), "unit": "MHz", "idle_power": 62.0}
                         for c in clocks],
            "models": models}


if __name__ == "__main__":
    for fname, doc in (("laptop-cpu.json", laptop()), ("gpu-small.json", gpu())):
        text = json.dumps(doc, indent=1) + "\n"
        (HERE / fname).write_text(text)
        print("wrote", HERE / fname)  # packaged through the link src/alert/data/profiles/<fname>
