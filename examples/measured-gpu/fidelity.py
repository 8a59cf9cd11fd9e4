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

import importlib.util
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = os.environ.get("DATA", "/usr/share/datasets/fashion-mnist")
METER = ("--meter", "nvml") if os.environ.get("METER", "nvml") == "nvml" else (  # METER=cpu-time: smoke run
    "--meter", "cpu-time", "--watts-per-core", "10", "--idle-power", "2")
MODEL = ("--models", f"{HERE / 'models.py'}:models", "--knob", "simulated", "--batch", "16", *METER, "--data", DATA)
RECORD = ("--gap", "0.004", "--idle-window", "0.02")  # the procedure of record.sh


def _cpu_fidelity():
    spec = importlib.util.spec_from_file_location("alert_measured_cpu_fidelity",
                                                  HERE.parent / "measured-cpu" / "fidelity.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


if __name__ == "__main__":
    sys.exit(_cpu_fidelity().main(HERE, MODEL, RECORD, env={}))
