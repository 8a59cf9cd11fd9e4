"""Models for the cgroup-quota example profile (``alert profile --models examples/cpu-quota-models.py:models``).

Five real PyTorch networks for Fashion-MNIST from the project's ``alert.nn`` package, with the
weights shipped in ``src/alert/data/weights``:

* ``depth-nested``      the depth-nested anytime network trained with orthogonalized SGD (3 stages);
* ``depth-nested-sum``  the same architecture trained on the plain sum of stage losses (3 stages);
* ``depth-1`` / ``depth-2`` / ``depth-4``  independently trained traditional networks of the same
  depth as each stage (shipped weights; should they be missing, the first 1, 2 or 3 stages of
  ``depth-nested`` frozen into an ordinary single-output network stand in for them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WEIGHTS = Path(__file__).resolve().parent.parent / "src" / "alert" / "data" / "weights"


def _load(name: str) -> Any:
    from alert.nn.train import load_weights

    model, _ = load_weights(WEIGHTS / f"{name}.pt")
    return model.float().eval()


class Prefix:
    """An anytime network run to a fixed stage as an ordinary network (``model(x)`` -> logits)."""

    def __init__(self, net: Any, stages: int) -> None:
        self.net, self.stages = net, stages

    def __call__(self, x: Any) -> Any:
        state = self.net.init_state(x)
        out = None
        for k in range(self.stages):
            out = self.net.run_stage(k, state)
        return out


def models() -> dict[str, Any]:
    anytime = _load("depth-nested-osgd")
    out: dict[str, Any] = {"depth-nested": anytime, "depth-nested-sum": _load("depth-nested-sum")}
    for stage, name in enumerate(("depth-1", "depth-2", "depth-4"), start=1):
        out[name] = _load(name) if (WEIGHTS / f"{name}.pt").exists() else Prefix(anytime, stage)
    return out
