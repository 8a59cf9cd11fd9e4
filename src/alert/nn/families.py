"""Named model specifications: the nested anytime models and the traditional family.

The traditional family ("sparse ResNet" family of the paper) is made of independently trained
single-stage networks of the same depth/width as each stage of the nested models:

* ``depth-nested``: blocks (1, 2, 4) at width 16; traditional ``depth-1``, ``depth-2``, ``depth-4``.
* ``width-nested``: cumulative widths (8, 16, 32); traditional ``width-8``, ``width-16``, ``width-32``.

Any ``depth-N`` / ``width-N`` name builds a plain network of that depth / width.
"""

from __future__ import annotations

import re

from .anytime import AnytimeNet, DepthNestedNet, WidthNestedNet

DEPTH_STAGES = (1, 2, 4)
DEPTH_WIDTH = 16
WIDTH_STAGES = (8, 16, 32)
NESTED = {"depth-nested": [f"depth-{d}" for d in DEPTH_STAGES],
          "width-nested": [f"width-{w}" for w in WIDTH_STAGES]}
"""Each nested model and the traditional networks of the same size as its stages."""
#: the largest depth (blocks) and width (channels) a ``depth-N`` / ``width-N`` name builds: beyond,
#: a network of this family on 28x28 images is no longer a model to serve under a deadline (and
#: building one takes minutes of memory allocation)
MAX_SIZE = {"depth": 64, "width": 1024}


def build_model(name: str, num_classes: int = 10) -> AnytimeNet:
    """Build the (untrained) network called ``name``."""
    if name == "depth-nested":
        return DepthNestedNet(DEPTH_STAGES, DEPTH_WIDTH, num_classes)
    if name == "width-nested":
        return WidthNestedNet(WIDTH_STAGES, num_classes)
    m = re.fullmatch(r"(depth|width)-(\d{1,6})", name)
    if m and int(m.group(2)) > 0:
        n = int(m.group(2))
        most = MAX_SIZE[m.group(1)]
        if n > most:
            raise ValueError(f"model {name!r}: a {m.group(1)} of {n} is more than the {most} this family builds "
                             f"(the nested models use {m.group(1)}s up to {max(DEPTH_STAGES if m.group(1) == 'depth' else WIDTH_STAGES)}); "
                             f"pick {m.group(1)}-1 ... {m.group(1)}-{most}")
        return DepthNestedNet((n,), DEPTH_WIDTH, num_classes) if m.group(1) == "depth" \
            else WidthNestedNet((n,), num_classes)
    raise ValueError(f"unknown model {name!r}; use one of {sorted(NESTED)}, or depth-N / width-N "
                     f"(e.g. {', '.join(NESTED['depth-nested'] + NESTED['width-nested'])})")


def is_nested(name: str) -> bool:
    return name in NESTED
