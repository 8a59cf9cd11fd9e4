"""Models of the measured CPU platform (``--models examples/measured-cpu/models.py:models``).

The project's trained Fashion-MNIST depth family with the weights shipped in
``src/alert/data/weights``: the depth-nested anytime network trained with orthogonalized SGD
(``depth-nested``, 3 stages) and the independently trained traditional ``depth-1``, ``depth-2``
and ``depth-4`` networks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WEIGHTS = Path(__file__).resolve().parents[2] / "src" / "alert" / "data" / "weights"
FILES = {"depth-nested": "depth-nested-osgd", "depth-1": "depth-1", "depth-2": "depth-2", "depth-4": "depth-4"}


def models() -> dict[str, Any]:
    from alert.nn.train import load_weights

    out = {}
    for name, stem in FILES.items():
        model, _ = load_weights(WEIGHTS / f"{stem}.pt")
        out[name] = model.float().eval()
    return out
