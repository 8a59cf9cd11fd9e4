"""Where models and inputs come from: entry points (``module:function`` or ``file.py:function``)
and the input streams of ``alert run`` and ``alert profile``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def load_entry_point(spec: str) -> Callable[..., Any]:
    """``pkg.module:function`` or ``path/to/file.py:function``."""
    import importlib
    import importlib.util

    mod_name, sep, fn = spec.rpartition(":")
    if not sep or not mod_name or not fn:
        raise ValueError(f"entry point {spec!r}: expected module:function or file.py:function")
    if mod_name.endswith(".py"):
        path = Path(mod_name)
        if not path.exists():
            raise ValueError(f"entry point {spec!r}: file {path} not found")
        s = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
        assert s is not None and s.loader is not None
        mod = importlib.util.module_from_spec(s)
        s.loader.exec_module(mod)
    else:
        mod = importlib.import_module(mod_name)
    f = getattr(mod, fn, None)
    if not callable(f):
        raise ValueError(f"entry point {spec!r}: {mod_name} has no function {fn!r}")
    return f


def load_inputs(data: str, n: int, batch: int = 1, seed: int = 0) -> Iterator[tuple[Any, Any]]:
    """``n`` inputs of ``batch`` Fashion-MNIST test images with their labels, or random images (no labels)."""
    import torch

    if data == "random":
        g = torch.Generator().manual_seed(seed)
        for _ in range(n):
            yield torch.randn(batch, 1, 28, 28, generator=g), None
        return
    from alert.nn.data import load_split

    split = load_split(data, "test")
    x = torch.from_numpy(split.normalized())
    for i in range(n):
        k = (i * batch) % (len(split) - batch)
        yield x[k:k + batch], split.labels[k:k + batch].astype(int)


