"""Small generated Fashion-MNIST-format files for the nn tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alert.nn.data import write_idx


def make_fake_dataset(root: Path, n_train: int = 64, n_test: int = 32, seed: int = 0) -> Path:
    """Write four gzip IDX files whose class is readable from the image (class c lights row block c)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for _split, n, stem in (("train", n_train, "train"), ("test", n_test, "t10k")):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(labels):
            images[i, 2 * c: 2 * c + 3, :] = 250
        write_idx(root / f"{stem}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{stem}-labels-idx1-ubyte.gz", labels)
    return root


@pytest.fixture
def fake_data(tmp_path: Path) -> Path:
    return make_fake_dataset(tmp_path / "fmnist")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny tensors run fastest on one thread; more only spin against other jobs on the machine."""
    try:
        import torch
    except ImportError:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
