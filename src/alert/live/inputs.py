"""Where models and inputs come from: entry points (``module:function`` or ``file.py:function``)
and the input streams of ``alert run`` and ``alert profile``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any


def load_entry_point(spec: str) -> Callable[..., Any]:
    """``pkg.module:function`` or ``path/to/file.py:function``."""
    import importlib
    import importlib.util

    mod_name, sep, fn = spec.rpartition(":")
    if not sep or not mod_name or not fn:
        raise ValueError(f"entry point {spec!r}: expected module:function or file.py:function")
    try:
        if mod_name.endswith(".py"):
            path = Path(mod_name)
            if not path.is_file():
                raise ValueError(f"entry point {spec!r}: file {path} not found (or not a regular file). "
                                 "Fix: check the path")
            s = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
            assert s is not None and s.loader is not None
            mod = importlib.util.module_from_spec(s)
            s.loader.exec_module(mod)
        else:
            mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise ValueError(f"entry point {spec!r}: cannot import {mod_name!r} ({e}). Fix: check the module name "
                         "and PYTHONPATH, or give path/file.py:function") from None
    except SyntaxError as e:
        raise ValueError(f"entry point {spec!r}: {e.filename}:{e.lineno}: syntax error ({e.msg}). "
                         "Fix: correct the file") from None
    f = getattr(mod, fn, None)
    if not callable(f):
        raise ValueError(f"entry point {spec!r}: {mod_name} has no function {fn!r}")
    return f


def load_models(spec: str, option: str = "--models") -> dict[str, Any]:
    """Call the entry point ``spec`` (:func:`load_entry_point`) and check what it returned: a
    non-empty dict {profile model name: model}, each model callable (a torch module, an
    :class:`alert.nn.anytime.AnytimeNet` or any callable). ``option`` names the option in errors."""
    try:
        fn = load_entry_point(spec)
    except ValueError as e:
        raise ValueError(f"{option}: {e}") from None
    name = spec.rpartition(":")[2]
    got = fn()
    want = ("{profile model name: model}, e.g. {'big': torch_module}, each model a torch module or "
            "another callable")
    if not isinstance(got, Mapping):
        raise ValueError(f"{option} {spec!r}: {name}() returned a {type(got).__name__} ({_short(got)}), not a dict. "
                         f"Fix: make {name}() return a dict {want}")
    if not got:
        raise ValueError(f"{option} {spec!r}: {name}() returned an empty dict. Fix: return at least one model "
                         f"in a dict {want}")
    for k, m in got.items():
        if not isinstance(k, str) or not k:
            raise ValueError(f"{option} {spec!r}: {name}() returned the key {_short(k)}, not a model name. "
                             f"Fix: key each model by its name in the profile, a non-empty string")
        if not callable(m):
            raise ValueError(f"{option} {spec!r}: model {k!r} is a {type(m).__name__} ({_short(m)}), not "
                             f"callable. Fix: return a dict {want}")
    return dict(got)


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


INPUT_CONTRACT = ("a model receives a torch.float32 tensor of shape (batch, *sample_shape): "
                  "(batch, 1, 28, 28) for Fashion-MNIST and 'random'; for a .npy file of shape "
                  "(N, *sample_shape), `batch` consecutive samples")


def load_npy(data: str | Path, labels: str | Path | None = None, batch: int = 1) -> tuple[Any, Any]:
    """Inputs from a ``.npy`` file, checked: a floating array of shape (N, *sample_shape) with
    N >= ``batch`` (float64 and float16 are converted to float32), and optional labels: integer
    class indices of shape (N,). Returns (float32 array, int64 labels or None)."""
    import numpy as np

    def read(path: str | Path, what: str) -> Any:
        try:
            a = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ValueError(f"{path}: cannot read {what} as a .npy array ({e}). Fix: save it with "
                             f"numpy.save(path, array)") from None
        if not isinstance(a, np.ndarray):
            raise ValueError(f"{path}: holds several arrays (.npz), not one. Fix: save one array with numpy.save")
        return a

    x = read(data, "inputs")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{data}: inputs have dtype {x.dtype}, expected floating point. Fix: convert them, "
                         f"e.g. numpy.save(path, x.astype(numpy.float32) / 255) for 8-bit images; "
                         f"{INPUT_CONTRACT}")
    if x.ndim < 2:
        raise ValueError(f"{data}: inputs have shape {x.shape}, expected (N, *sample_shape) with at least "
                         f"2 dimensions. Fix: add the sample axis, e.g. x.reshape(N, -1); {INPUT_CONTRACT}")
    if len(x) < batch:
        raise ValueError(f"{data}: {len(x)} samples, fewer than one batch of {batch}. Fix: lower --batch or "
                         f"add samples")
    if not np.isfinite(x).all():
        raise ValueError(f"{data}: inputs contain NaN or infinite values. Fix: clean or drop those samples")
    x = x.astype(np.float32, copy=False)
    y = None
    if labels is not None:
        y = read(labels, "labels")
        if y.ndim != 1 or len(y) != len(x):
            raise ValueError(f"{labels}: labels have shape {y.shape}, expected ({len(x)},): one class index "
                             f"per sample of {data}. Fix: save a 1-D array of length {len(x)}")
        if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{labels}: labels have dtype {y.dtype}, expected integer class indices >= 0 "
                             f"(the argmax of a model's output). Fix: save them as numpy int64")
        if len(y) and y.min() < 0:
            i = int(np.argmin(y))
            raise ValueError(f"{labels}: label {int(y[i])} at index {i} is negative; a label is a class index "
                             f">= 0 (the argmax of a model's output). Fix: save each sample's class index")
        y = y.astype(np.int64)
    return x, y


def load_inputs(data: str, n: int, batch: int = 1, seed: int = 0,
                labels: str | None = None) -> Iterator[tuple[Any, Any]]:
    """``n`` inputs of ``batch`` samples with their labels: Fashion-MNIST test images (a folder),
    a ``.npy`` file of shape (N, *sample_shape) (``labels``: an optional ``.npy`` of N class
    indices; see :func:`load_npy`), or random images (no labels). Inputs cycle through the
    samples; each is a torch.float32 tensor of shape (batch, *sample_shape)."""
    import torch

    if n < 1 or batch < 1:
        raise ValueError(f"inputs and batch must be >= 1, got {n} and {batch}")
    if data == "random":
        if labels is not None:
            raise ValueError("--labels needs --data FILE.npy (random inputs have no labels)")
        g = torch.Generator().manual_seed(seed)
        for _ in range(n):
            yield torch.randn(batch, 1, 28, 28, generator=g), None
        return
    if str(data).endswith(".npy"):
        arr, y = load_npy(data, labels, batch)
        x = torch.from_numpy(arr)
    else:
        if labels is not None:
            raise ValueError("--labels needs --data FILE.npy (the Fashion-MNIST folder has its own labels)")
        from alert.nn.data import load_split

        split = load_split(data, "test")
        x, y = torch.from_numpy(split.normalized()), split.labels.astype(int)
    span = len(x) - batch + 1
    for i in range(n):
        k = (i * batch) % span
        yield x[k:k + batch], None if y is None else y[k:k + batch]


def check_models_accept(models: Mapping[str, Any], x: Any, source: str, labels: Any = None,
                        labels_source: str | None = None) -> None:
    """Run every model once on ``x`` (one input) so that a shape or dtype mismatch is a clear
    error naming the model, the input and the fix, not a traceback from deep inside the model.
    ``labels`` (class indices, from ``labels_source``): each must be below the number of classes
    every model outputs (the last axis of its output, or of each stage's output, whose argmax is
    the prediction), else no prediction could ever match it; a model with its own
    ``__alert_runner__`` makes its own predictions and is not checked."""
    import contextlib
    import sys

    torch = sys.modules.get("torch")
    ctx = torch.inference_mode() if torch is not None else contextlib.nullcontext()
    shape = tuple(getattr(x, "shape", ()))
    dtype = getattr(x, "dtype", type(x).__name__)
    for name, m in models.items():
        try:
            with ctx:
                out = m(x)
        except Exception as e:  # any failure of user code on our input
            raise ValueError(f"model {name!r} failed on an input of shape {shape} and dtype {dtype} from "
                             f"{source}: {type(e).__name__}: {e}. Fix: give inputs the model accepts; "
                             f"{INPUT_CONTRACT}") from None
        if labels is not None and not callable(getattr(m, "__alert_runner__", None)):  # its own predictions
            _check_label_range(name, out, labels, labels_source or "--labels")


def _check_label_range(name: str, out: Any, labels: Any, source: str) -> None:
    """Every label is a class index below the classes (last axis) of every output of model ``name``."""
    import numpy as np

    y = np.asarray(labels).reshape(-1)
    if not len(y):
        return
    for o in out if isinstance(out, (list, tuple)) else [out]:
        shape = tuple(getattr(o, "shape", ()))
        if not shape:
            continue  # not an array of logits: nothing to compare with
        n = int(shape[-1])
        if int(y.max()) >= n:
            raise ValueError(f"{source}: label {int(y.max())} is not a class of model {name!r}, whose "
                             f"output has {n} classes (indices 0..{n - 1}); no prediction could match it. Fix: "
                             f"give class indices below {n} (the argmax of the model's output), or check that "
                             f"the labels belong to this data and these models")
