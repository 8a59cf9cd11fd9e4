"""Fidelity check of the measured GPU platform: live `alert run` of ALERT vs replay of a trace.

The procedure of ``examples/measured-cpu/fidelity.py`` (fresh traces, paced live runs of three
goals per workload over CYCLES whole contention cycles, ``alert fidelity``), with this platform's
models on the GPU, the one-level simulated knob (nothing on the GPU is changed) and the NVML
meter. Writes ``live/`` and ``fidelity.json`` here.

    DATA=/path/to/fashion-mnist python3 examples/measured-gpu/fidelity.py

Needs PyTorch with CUDA, nvidia-ml-py and the Fashion-MNIST test files (DATA, default
/usr/share/datasets/fashion-mnist). METER=cpu-time with ALERT_MODELS_DEVICE=cpu gives a smoke run
without a GPU. About 5 minutes with TRACE_INPUTS=300 and CYCLES=2.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = os.environ.get("DATA", "/usr/share/datasets/fashion-mnist")
METER = ("--meter", "nvml") if os.environ.get("METER", "nvml") == "nvml" else (  # METER=cpu-time: smoke run
    "--meter", "cpu-time", "--watts-per-core", "10", "--idle-power", "2")
MODEL = ("--models", f"{HERE / 'models.py'}:models", "--knob", "simulated", "--batch", "16", *METER, "--data", DATA)
RECORD = ("--gap", "0.004", "--idle-window", "0.02")  # the procedure of record.sh


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    from alert.runtime import load_entry_point

    main = load_entry_point(f"{HERE.parent / 'measured-cpu' / 'fidelity.py'}:main")
    sys.exit(main(HERE, MODEL, RECORD, env={}))
