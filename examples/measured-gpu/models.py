"""Models of the measured GPU platform (``--models examples/measured-gpu/models.py:models``).

The same trained Fashion-MNIST depth family as ``examples/measured-cpu`` (weights shipped in
``src/alert/data/weights``), each network on the GPU. Device choice lives here, never in the
library: every call moves its input to the GPU and returns its logits on the host, so the clocks
that the recorder and the runtime read after a stage see finished GPU work (the copy back
synchronises), and an inference's latency includes the transfers a real application pays.

``ALERT_MODELS_DEVICE`` picks another torch device (e.g. ``cpu`` for a smoke test where no GPU
is present); the default is ``cuda``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CPU_MODELS = Path(__file__).resolve().parents[1] / "measured-cpu" / "models.py"


class OnDevice:
    """A model on ``device``: host tensor in, host logits out (the ``AnytimeNet`` contract kept)."""

    def __init__(self, net: Any, device: str) -> None:
        self.net, self.device = net.to(device).eval(), device
        if hasattr(net, "run_stage"):
            self.n_stages = net.n_stages

    def __call__(self, x: Any) -> Any:
        out = self.net(x.to(self.device))
        if isinstance(out, (list, tuple)):
            return [o.cpu() for o in out]
        return out.cpu()

    def init_state(self, x: Any) -> Any:
        return self.net.init_state(x.to(self.device))

    def run_stage(self, k: int, state: Any) -> Any:
        return self.net.run_stage(k, state).cpu()


def models() -> dict[str, Any]:
    import torch

    from alert.runtime import load_entry_point

    device = os.environ.get("ALERT_MODELS_DEVICE", "cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("examples/measured-gpu/models.py: no CUDA device. Fix: run on a machine with an "
                           "NVIDIA GPU, or set ALERT_MODELS_DEVICE=cpu for a smoke test")
    # the CPU platform's networks (same weights), each moved to the device
    return {name: OnDevice(net, device) for name, net in load_entry_point(f"{CPU_MODELS}:models")().items()}
