"""The oracles are optimal on tiny traces, checked by brute force."""

import itertools

import numpy as np
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
