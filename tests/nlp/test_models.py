"""Width-nested LSTM LM: nesting, word-by-word inference, state consistency across model switches,
training and shipped-weights round trip (skipped without torch)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from alert.nlp.data import EOS  # noqa: E402
from alert.nlp.models import NestedLSTMLM, nesting_mask  # noqa: E402
from alert.nlp.record import record_words  # noqa: E402
from alert.nlp.runtime import Candidate, SentenceFamily  # noqa: E402
from alert.nlp.train import LMTrainConfig, evaluate, export_weights, load_weights, train_lm  # noqa: E402


def test_nesting_mask_by_hand():
    m = nesting_mask((1, 3))  # group 1 = unit 0, group 2 = units 1, 2
    assert m.shape == (12, 3)
    unit_rows = [[1, 0, 0], [1, 1, 1], [1, 1, 1]]
    for q in range(4):  # every gate block i, f, g, o has the same pattern
        assert m[3 * q: 3 * q + 3].tolist() == unit_rows
    with pytest.raises(ValueError, match="strictly increasing"):
        nesting_mask((4, 4))


def _model(widths=(2, 4, 6), vocab=13, seed=0):
    torch.manual_seed(seed)
    m = NestedLSTMLM(vocab, widths, dropout=0.0)
    with torch.no_grad():  # make the recurrence matter
        m.lstm.weight_hh_l0.normal_(0, 0.5).mul_(m.mask)
    return m.eval()


def test_word_by_word_equals_the_fused_sequence_forward():
    m = _model()
    x = torch.randint(0, 13, (7, 2))
    outs, final = m(x)
    st = m.init_state(2)
    for t in range(7):
        step, st = m.step(x[t], st)
        for k in range(3):
            assert torch.allclose(step[k], outs[k][t], atol=1e-5)
    assert torch.allclose(st.h, final.h, atol=1e-6) and torch.allclose(st.c, final.c, atol=1e-6)


def test_earlier_stages_ignore_later_groups():
    m = _model()
    x = torch.randint(0, 13, (6, 1))
    before = [o.clone() for o in m(x)[0]]
    with torch.no_grad():  # perturb everything group 3 (units 4, 5) owns
        for q in range(4):
            m.lstm.weight_ih_l0[q * 6 + 4: q * 6 + 6].add_(1.0)
            m.lstm.weight_hh_l0[q * 6 + 4: q * 6 + 6].add_(1.0)
        m.lstm.weight_hh_l0.mul_(m.mask)
        m.proj[2].weight.add_(1.0)
    m._cache = None
    after = m(x)[0]
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])
    assert not torch.allclose(before[2], after[2])


def test_masked_weights_stay_zero_through_osgd_training(tiny_corpus, tmp_path):
    cfg = LMTrainConfig(widths=(4, 8), method="osgd", epochs=0.5, batch_size=4, bptt=5, samples=6,
                        checkpoint_every=5)
    m, res = train_lm(cfg, tiny_corpus, tmp_path / "n.ckpt", log=lambda s: None)
    assert res.steps_done > 0
    w = m.lstm.weight_hh_l0.detach()
    assert torch.count_nonzero(w * (1 - m.mask)) == 0
    assert torch.count_nonzero(w * m.mask) > 0


def test_training_learns_the_pattern_and_resumes(tiny_corpus, tmp_path):
    cfg = LMTrainConfig(widths=(8,), method="sum", epochs=15.0, batch_size=4, bptt=8, samples=0, lr=0.02,
                        checkpoint_every=10)
    ck = tmp_path / "t.ckpt"
    m, res = train_lm(cfg, tiny_corpus, ck, log=lambda s: None)
    met = evaluate(m, tiny_corpus.ids["train"], batch_size=2, bptt=8)
    p = np.bincount(tiny_corpus.ids["train"]) / tiny_corpus.ids["train"].size
    unigram = float(np.exp(-(p[p > 0] * np.log(p[p > 0])).sum()))  # 10.65 on this corpus
    assert met["perplexity"][0] < unigram - 1.0  # it learned that 'a' is followed by 'b'
    logs: list[str] = []
    m2, res2 = train_lm(cfg, tiny_corpus, ck, log=logs.append)
    assert res2.steps_done == res.steps_done and any("resumed" in s for s in logs)
    with pytest.raises(ValueError, match="different configuration"):
        train_lm(LMTrainConfig(widths=(8,), epochs=1.0, batch_size=4), tiny_corpus, ck, log=lambda s: None)


def test_export_round_trip_keeps_predictions(tiny_corpus, tmp_path):
    m = _model(vocab=len(tiny_corpus.vocab))
    export_weights(m, LMTrainConfig(widths=(2, 4, 6)), {"perplexity": [1.0]}, tmp_path / "w.pt",
                   len(tiny_corpus.vocab))
    m2, info = load_weights(tmp_path / "w.pt")
    assert info["widths"] == [2, 4, 6]
    x = torch.randint(0, len(tiny_corpus.vocab), (5, 1))
    for a, b in zip(m(x)[0], m2(x)[0], strict=False):
        assert torch.allclose(a, b, atol=0.05)
    with pytest.raises(FileNotFoundError, match="Fix"):
        load_weights(tmp_path / "missing.pt")


def _family(policy):
    return SentenceFamily({"small": _model((3,), seed=1), "big": _model((5,), seed=2),
                           "nest": _model((2, 4, 6), seed=3)}, policy)


def _solo_predictions(tokens, name, stage):
    fam = _family("sync")
    cand = Candidate(name, stage)
    return [fam.step(t, cand).predictions[-1] for t in tokens]


def test_sync_policy_switching_matches_running_each_model_alone():
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 13, 30).tolist()
    fam = _family("sync")
    cands = fam.candidates
    assert [c.label for c in cands] == ["small", "big", "nest@1", "nest@2", "nest@3"]
    picks = rng.integers(0, len(cands), 30)
    solo = {c.label: _solo_predictions(tokens, c.model, c.stage) for c in cands}
    for t, (tok, p) in enumerate(zip(tokens, picks, strict=False)):
        r = fam.step(tok, cands[p])
        assert r.predictions[-1] == solo[cands[p].label][t]
        assert len(r.stage_ends) == (cands[p].stage or 1) and r.done >= r.stage_ends[-1]


def test_stale_policy_leaves_models_that_did_not_run_untouched():
    fam = _family("stale")
    before = fam.states["big"].h.clone()
    fam.step(3, Candidate("small", None))
    assert torch.equal(fam.states["big"].h, before)
    nest_before = fam.states["nest"].h.clone()
    fam.step(4, Candidate("nest", 1))  # groups 2, 3 keep their old values
    assert torch.equal(fam.states["nest"].h[:, 2:], nest_before[:, 2:])
    assert not torch.equal(fam.states["nest"].h[:, :2], nest_before[:, :2])


def test_sentence_policy_switches_only_at_sentence_starts():
    fam = _family("sentence")
    fam.begin_sentence()
    fam.step(1, Candidate("small", None))
    with pytest.raises(ValueError, match="only at sentence starts"):
        fam.step(2, Candidate("big", None))
    fam.begin_sentence()
    fam.step(2, Candidate("big", None))
    assert torch.count_nonzero(fam.states["small"].h) == 0  # reset at the sentence start


def test_anytime_step_stops_at_its_deadline():
    fam = _family("sync")
    ticks = iter(np.arange(0, 100, 1.0))
    fam.clock = lambda: float(next(ticks))
    r = fam.step(1, Candidate("nest", 3), deadline=1.5)
    assert r.stage_ends == [1.0, 2.0] and len(r.predictions) == 2


def test_record_words_measures_every_row_on_the_same_states(tiny_corpus):
    m = {"small": _model((3,), vocab=len(tiny_corpus.vocab), seed=1),
         "nest": _model((2, 4), vocab=len(tiny_corpus.vocab), seed=3)}
    sents = list(tiny_corpus.sentences("test", 3))
    wt = record_words(SentenceFamily(m, "sync"), sents, tiny_corpus.vocab.index(EOS), warmup=2)
    n = sum(len(s) for s in sents)
    assert wt.latency.shape == (n, 3) and (wt.latency > 0).all()
    assert wt.lengths.tolist() == [len(s) for s in sents]
    solo = _solo_family_correct(m, sents, tiny_corpus.vocab.index(EOS))
    assert wt.correct[:, 0].tolist() == solo
    with pytest.raises(ValueError, match="sync"):
        record_words(SentenceFamily(m, "stale"), sents, 0)


def _solo_family_correct(models, sents, eos):
    fam = SentenceFamily({"small": models["small"]}, "sync")
    out, prev = [], eos
    for s in sents:
        for t in s.tolist():
            out.append(int(fam.step(prev, Candidate("small", None)).predictions[-1] == t))
            prev = t
    return out
