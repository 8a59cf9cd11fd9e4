"""The oracles are optimal on tiny traces, checked by brute force."""

import itertools

import numpy as np
import pytest
from eval_helpers import tiny_profile, tiny_trace
from hypothesis import given, settings
from hypothesis import strategies as st

from alert.evaluation import metrics, oracles
from alert.evaluation.metrics import Constraint
from alert.evaluation.replay import deliver, outcomes

PROF = tiny_profile()


def _random_trace(seed: int, n: int):
    rng = np.random.default_rng(seed)
    lat = PROF.t_prof[None] * rng.lognormal(0.0, 0.4, (n, 1, 1)) * rng.lognormal(0.0, 0.1, (n, 3, 2))
    lat[:, 2] = np.maximum(lat[:, 2], lat[:, 1] * 1.01)   # stage 2 after stage 1
    state = (rng.random(n) < 0.5).astype(np.int64)
    return tiny_trace(lat, state)


CONSTRAINTS = st.one_of(
    st.builds(lambda T, q: Constraint("min-energy", T, accuracy=q), st.floats(0.03, 0.15), st.sampled_from([0.6, 0.8, 0.9])),
    st.builds(lambda T, p: Constraint("min-error", T, power_budget=p), st.floats(0.03, 0.15), st.floats(3.0, 20.0)))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), c=CONSTRAINTS)
def test_oracle_is_per_input_optimal(seed, c):
    tr = _random_trace(seed, 4)
    out = outcomes(tr, c.deadline)
    cand, sett = oracles.oracle(out, c)
    d = deliver(out, cand, sett)
    for n in range(4):
        ok = [(ci, j) for ci in range(3) for j in range(2)
              if not metrics.misses(None, c, out.accuracy[n, ci, j], out.energy[n, ci, j], out.late[n, ci, j])]
        if not ok:
            continue
        assert not metrics.misses(d, c)[n]
        if c.task == "min-energy":
            assert d.energy[n] <= min(out.energy[n, ci, j] for ci, j in ok) + 1e-12
        else:
            assert d.accuracy[n] >= max(out.accuracy[n, ci, j] for ci, j in ok) - 1e-12


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), c=CONSTRAINTS)
def test_oracle_static_is_best_accepted_fixed_configuration(seed, c):
    tr = _random_trace(seed, 10)
    out = outcomes(tr, c.deadline)
    cand, sett = oracles.oracle_static(out, c)
    assert len(set(cand)) == 1 and len(set(sett)) == 1
    got = metrics.evaluate(deliver(out, cand, sett), c)
    best = None
    for ci, j in itertools.product(range(3), range(2)):
        r = metrics.evaluate(deliver(out, np.full(10, ci), np.full(10, j)), c)
        if not r.violated and (best is None or r.objective < best):
            best = r.objective
    if best is not None:
        assert not got.violated
        assert got.objective <= best + 1e-12


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), c=CONSTRAINTS)
def test_oracle_state_is_static_oracle_per_state(seed, c):
    tr = _random_trace(seed, 12)
    out = outcomes(tr, c.deadline)
    cand, sett = oracles.oracle_state(out, c, tr.states())
    for s in (0, 1):
        rows = np.flatnonzero(tr.states() == s)
        if rows.size == 0:
            continue
        assert len(set(zip(cand[rows], sett[rows], strict=True))) == 1
        sub = tr.slice(0, tr.n_inputs)
        o2 = outcomes(sub, c.deadline)
        sc, ss = oracles.oracle_static(type(o2)(o2.deadline, *(a[rows] for a in (o2.accuracy, o2.energy, o2.run_time,
                                                                                  o2.late, o2.observed, o2.observed_cand))), c)
        assert (sc[0], ss[0]) == (cand[rows[0]], sett[rows[0]])


def test_oracle_at_least_as_good_as_static_when_everything_is_feasible():
    tr = _random_trace(3, 30)
    c = Constraint("min-energy", 0.5, accuracy=0.6)        # loose: every input feasible
    out = outcomes(tr, c.deadline)
    o = metrics.evaluate(deliver(out, *oracles.oracle(out, c)), c)
    s = metrics.evaluate(deliver(out, *oracles.oracle_static(out, c)), c)
    assert o.objective <= s.objective


def _rows(out, rows):
    return type(out)(out.deadline, *(a[rows] for a in (out.accuracy, out.energy, out.run_time, out.late, out.observed,
                                                       out.observed_cand)))


def test_oracle_static_split_gives_each_half_the_choice_made_on_the_other_half():
    # only `big` (q 0.9) meets accuracy 0.85; at 10 W it is cheaper (10·0.10 + 2·0.02 = 1.04 J against
    # 20·0.05 + 4·0.07 = 1.28 J at 20 W) but late on input 1 (0.13 s > T = 0.12 s)
    lat = np.broadcast_to(PROF.t_prof, (4, 3, 2)).copy()
    lat[1, 0, 0] = 0.13
    out = outcomes(tiny_trace(lat), 0.12)
    c = Constraint("min-energy", 0.12, accuracy=0.85)
    cand, sett = oracles.oracle_static(out, c)
    assert cand.tolist() == [0] * 4 and sett.tolist() == [1] * 4   # 10 W misses 1 of 4 inputs: 25 % > 10 %
    cand, sett = oracles.oracle_static_split(out, c)
    # the even inputs get the choice made on inputs 1, 3 (10 W late on 1 of 2: 20 W), the odd ones the
    # choice made on inputs 0, 2 (10 W never late): input 1 pays for the lateness hindsight avoided
    assert cand.tolist() == [0] * 4 and sett.tolist() == [1, 0, 1, 0]
    d = metrics.evaluate(deliver(out, cand, sett), c)
    assert d.miss_rate == 0.25 and d.objective == pytest.approx((1.28 + 1.04 + 1.28 + 0.10 * 10 * 1.3) / 4)
    with pytest.raises(ValueError, match="folds must be between 2 and the 4 inputs"):
        oracles.oracle_static_split(out, c, folds=5)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), c=CONSTRAINTS, folds=st.integers(2, 3))
def test_oracle_static_split_is_the_brute_force_best_on_the_other_folds(seed, c, folds):
    n = 9
    out = outcomes(_random_trace(seed, n), c.deadline)
    cand, sett = oracles.oracle_static_split(out, c, folds)
    for f in range(folds):
        mine, rest = np.arange(f, n, folds), np.array([k for k in range(n) if k % folds != f])
        assert len(set(zip(cand[mine], sett[mine], strict=True))) == 1
        sub = _rows(out, rest)
        results = {(ci, j): metrics.evaluate(deliver(sub, np.full(rest.size, ci), np.full(rest.size, j)), c)
                   for ci, j in itertools.product(range(3), range(2))}
        got = results[(int(cand[mine[0]]), int(sett[mine[0]]))]
        accepted = [r.objective for r in results.values() if not r.violated]
        if accepted:
            assert not got.violated and got.objective <= min(accepted) + 1e-12
        else:
            assert got.miss_rate <= min(r.miss_rate for r in results.values()) + 1e-12


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), c=CONSTRAINTS)
def test_oracle_state_split_is_the_brute_force_best_on_the_other_half_of_each_state(seed, c):
    tr = _random_trace(seed, 12)
    out = outcomes(tr, c.deadline)
    state = tr.states()
    cand, sett = oracles.oracle_static_split(out, c, state=state)
    for s in np.unique(state):
        rows = np.flatnonzero(state == s)
        for f in (0, 1):
            mine, rest = rows[f::2], rows[1 - f::2]
            if mine.size == 0:
                continue
            rest = rest if rest.size else mine                     # a lone input: its own choice
            assert len(set(zip(cand[mine], sett[mine], strict=True))) == 1
            sub = _rows(out, rest)
            res = {(ci, j): metrics.evaluate(deliver(sub, np.full(rest.size, ci), np.full(rest.size, j)), c)
                   for ci, j in itertools.product(range(3), range(2))}
            got = res[(int(cand[mine[0]]), int(sett[mine[0]]))]
            ok = [r.objective for r in res.values() if not r.violated]
            assert (not got.violated and got.objective <= min(ok) + 1e-12) if ok else \
                got.miss_rate <= min(r.miss_rate for r in res.values()) + 1e-12
