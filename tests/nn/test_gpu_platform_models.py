"""The GPU platform's models entry point (examples/measured-gpu/models.py), run on the CPU: the
wrapper keeps the AnytimeNet contract, returns host tensors, and the recorder records it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

ENTRY = Path(__file__).resolve().parents[2] / "examples" / "measured-gpu" / "models.py"


def _models(monkeypatch, device: str):
    from alert.runtime import load_entry_point

    monkeypatch.setenv("ALERT_MODELS_DEVICE", device)
    return load_entry_point(f"{ENTRY}:models")()


def test_wrapped_models_keep_the_anytime_contract_on_the_host(monkeypatch):
    from alert.evaluation.recorder import RecorderConfig, record_trace, run_all_stages
    from alert.profiler import n_stages
    from alert.system.meters import CpuTimeMeter
    from alert.system.simulated import SimulatedKnob

    models = _models(monkeypatch, "cpu")
    assert {k: n_stages(m) for k, m in models.items()} == {"depth-nested": 3, "depth-1": 1, "depth-2": 1, "depth-4": 1}
    x = torch.randn(4, 1, 28, 28)
    net = models["depth-nested"]
    state = net.init_state(x)
    outs = [net.run_stage(k, state) for k in range(3)]
    assert all(o.device.type == "cpu" and o.shape == (4, 10) for o in outs)
    with torch.inference_mode():
        direct = net.net(x)
    torch.testing.assert_close(outs[-1], direct[-1])
    r = run_all_stages(models["depth-2"], x)
    assert r.ends.shape == (1,) and r.predictions.shape == (1, 4)
    # a recording with the one-level simulated knob: 6 candidates x 1 setting, cumulative stages
    from alert.evaluation.measured import load_platform

    prof = load_platform(ENTRY.parent).profile if (ENTRY.parent / "profile.json").is_file() else None
    if prof is None:
        pytest.skip("examples/measured-gpu not recorded in this tree")
    tr = record_trace(models, prof, [(x, np.zeros(4, dtype=int))] * 2, SimulatedKnob([1.0], unit="level"),
                      CpuTimeMeter(10.0, 2.0), RecorderConfig(warmup=1, progress=False))
    assert tr.shape == (2, 6, 1) and np.all(np.diff(tr.latency[:, :3, 0], axis=1) > 0)


def test_no_cuda_is_a_clear_error(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(RuntimeError, match="ALERT_MODELS_DEVICE=cpu"):
        _models(monkeypatch, "cuda")
