"""Every registered estimator honours the same contract (in the spirit of ``check_estimator``).

A toy estimator registered here, from this file alone, runs through the same suite and drives a
Controller: adding an estimator touches one file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alert import Controller, ControllerConfig, MinimizeEnergy, Profile
from alert.estimators import ESTIMATORS, Estimator, make_estimator, register
from alert.estimators.base import StateReader
from alert.filters import MeasurementGuard
from profile_factory import make_profile_dict, mutate

if "toy-scale" not in ESTIMATORS:

    @register("toy-scale")
    class ToyScale(Estimator):
        """Latency = the last accepted slowdown × t_prof, with a ±20 % uniform spread."""

        def __init__(self, max_slowdown: float = 50.0) -> None:
            self.guard = MeasurementGuard(1.0 / max_slowdown, max_slowdown)
            self.xi, self.n = 1.0, 0

        def update(self, observed: float, profiled: float, config: tuple[int, int] | None = None) -> bool:
            x = self.admit(observed, profiled)
            if x is None:
                return False
            self.xi, self.n = x, self.n + 1
            return True

        def prob_within(self, deadline: float, t_prof: np.ndarray) -> np.ndarray:
            lo, hi = 0.8 * self.xi * t_prof, 1.2 * self.xi * t_prof
            return np.clip((deadline - lo) / (hi - lo), 0.0, 1.0)

        def quantile(self, p: float, t_prof: np.ndarray) -> np.ndarray:
            return (0.8 + 0.4 * p) * self.xi * t_prof

        def expected(self, t_prof: np.ndarray) -> np.ndarray:
            return self.xi * t_prof

        def assume(self, mean: float, std: float | None = None) -> None:
            self.xi = float(mean)

        def summary(self) -> dict[str, float]:
            return {"mean": self.xi, "std": 0.4 * self.xi / math.sqrt(12)}

        def state_dict(self) -> dict[str, Any]:
            return {"xi": self.xi, "n": self.n}

        def load_state_dict(self, state: Mapping[str, Any]) -> None:
            r = StateReader(state, "toy-scale")
            xi, n = r.number("xi", r.get("xi"), 0.0, open_lo=True), r.count("n", r.get("n"))
            self.xi, self.n = xi, n


NAMES = sorted(ESTIMATORS)
# adversarial observations make configurations depart from the profile: the robust estimator says so
pytestmark = pytest.mark.filterwarnings("ignore::alert.estimators.robust.ProfileDepartureWarning")
PROFILE = Profile.from_dict(make_profile_dict())
T = PROFILE.t_prof
ROWS, COLS = T.shape

bad_or_wild = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e-9, max_value=1e9),
    st.sampled_from([0.0, -1.0, math.nan, math.inf, -math.inf, 1e308, 5e-324]),
)


def fresh(name: str) -> Estimator:
    est = make_estimator(name)
    est.bind(T)
    return est


def check_answers(est: Estimator) -> None:
    for d in (0.0, 1e-6, float(T.min()), float(T.mean()), float(T.max()) * 3):
        pr = est.prob_within(d, T)
        assert pr.shape == T.shape and np.all(np.isfinite(pr)) and np.all((pr >= 0) & (pr <= 1))
    deadlines = np.sort(np.concatenate([T.ravel()[:20] * f for f in (0.5, 1.0, 2.0)]))
    prs = np.stack([est.prob_within(float(d), T) for d in deadlines])
    assert np.all(np.diff(prs, axis=0) >= -1e-12), "Pr must not fall as the deadline grows"
    qs = np.stack([est.quantile(p, T) for p in (0.1, 0.5, 0.9, 0.99)])
    assert np.all(np.isfinite(qs)) and np.all(qs >= 0) and np.all(np.diff(qs, axis=0) >= -1e-12)
    e = est.expected(T)
    assert e.shape == T.shape and np.all(np.isfinite(e)) and np.all(e >= 0)
    s = est.summary()
    assert math.isfinite(s["mean"]) and math.isfinite(s["std"]) and s["std"] >= 0
    check_shortcuts(est)


def check_shortcuts(est: Estimator) -> None:
    """``within`` and ``prob_within_at`` answer as ``prob_within`` does (the decision path's shortcuts)."""
    rows_p = np.linspace(0.05, 1.0, ROWS)[:, None]  # one threshold per row
    past = np.linspace(-0.5, 1.5, ROWS)[:, None]  # rows that every cell meets (≤ 0) or none (> 1)
    for d in (0.0, 1e-6, float(T.min()), float(np.median(T)), float(T.max()) * 3, math.inf):
        pr = est.prob_within(d, T)
        for p in (-0.1, 0.0, 0.05, 0.5, 0.9, 0.97, 1.0, 1.2, rows_p, past):
            got = est.within(d, p, T)
            want = pr >= p
            assert got.shape == T.shape and got.dtype == bool
            # a closed form may differ only where Pr lies within rounding of the threshold
            assert np.all((got == want) | (np.abs(pr - np.broadcast_to(p, T.shape)) < 1e-9)), (d, p)
        check_each(est, np.full(T.shape, d), pr)
        for rows in (range(0, 1), range(0, ROWS), range(ROWS // 2, ROWS)):
            for col in (0, COLS - 1, slice(None)):
                np.testing.assert_array_equal(est.prob_within_at(d, T, rows, col), pr[rows.start:rows.stop, col])


def check_each(est: Estimator, deadlines: np.ndarray, want: np.ndarray | None = None) -> None:
    """``prob_within_each`` answers each cell as ``prob_within`` does for that cell's deadline:
    between its answers for the deadline rounded down and up by a few ulps (a logarithm taken
    per cell may round apart from the one of a single deadline)."""
    got = est.prob_within_each(deadlines, T)
    assert got.shape == T.shape and np.all(np.isfinite(got)) and np.all((got >= 0) & (got <= 1))
    if want is None:
        want = np.array([[est.prob_within(float(deadlines[i, j]), T)[i, j] for j in range(COLS)]
                         for i in range(ROWS)])
    lo = np.array([[est.prob_within(float(deadlines[i, j]) * (1 - 1e-12), T)[i, j] for j in range(COLS)]
                   for i in range(ROWS)])
    hi = np.array([[est.prob_within(float(deadlines[i, j]) * (1 + 1e-12), T)[i, j] for j in range(COLS)]
                   for i in range(ROWS)])
    inside = (np.minimum(lo, want) - 1e-12 <= got) & (got <= np.maximum(hi, want) + 1e-12)
    assert np.all(inside), (deadlines, got, want)


@pytest.mark.parametrize("name", NAMES)
def test_fresh_estimator_answers_sanely(name):
    check_answers(fresh(name))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(obs=st.lists(st.tuples(bad_or_wild, st.integers(0, ROWS - 1), st.integers(0, COLS - 1)), max_size=60))
def test_stays_finite_and_monotone_on_adversarial_observations(name, obs):
    est = fresh(name)
    for x, r, j in obs:
        est.update(x, float(T[r, j]), (r, j))
    check_answers(est)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None)
@given(obs=st.lists(st.tuples(st.floats(0.2, 8.0), st.integers(0, ROWS - 1), st.integers(0, COLS - 1)), max_size=50),
       scale=st.lists(st.floats(0.0, 4.0), min_size=ROWS * COLS, max_size=ROWS * COLS))
def test_a_deadline_per_cell_answers_as_one_deadline_each(name, obs, scale):
    # prob_within_each (the safe fallback's per-configuration budget time) against prob_within
    # asked cell by cell, after any learning, with deadlines at, around and far from t_prof,
    # and 0 and ∞ among them
    est = fresh(name)
    for x, r, j in obs:
        est.update(x * float(T[r, j]), float(T[r, j]), (r, j))
    d = np.asarray(scale).reshape(T.shape) * T
    d.flat[0] = math.inf
    check_each(est, d)


@pytest.mark.parametrize("name", NAMES)
def test_rejects_bad_measurements_without_changing_state(name):
    est = fresh(name)
    for k in range(30):
        est.update(float(T[k % ROWS, 0]) * (1.5 + 0.1 * (k % 3)), float(T[k % ROWS, 0]), (k % ROWS, 0))
    before = json.dumps(est.state_dict(), sort_keys=True)
    n = est.n
    for bad in (math.nan, math.inf, -1.0, 0.0, "x", None):
        assert est.update(bad, float(T[0, 0]), (0, 0)) is False  # type: ignore[arg-type]
    assert json.dumps(est.state_dict(), sort_keys=True) == before and est.n == n
    assert est.guard.rejected >= 6


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trips_through_json(name):
    rng = np.random.default_rng(1)
    est = fresh(name)
    for _ in range(80):
        r, j = int(rng.integers(ROWS)), int(rng.integers(COLS))
        est.update(float(T[r, j]) * float(rng.lognormal(0.2, 0.3)), float(T[r, j]), (r, j))
    copy = fresh(name)
    copy.load_state_dict(json.loads(json.dumps(est.state_dict())))
    for d in (float(T.min()), float(T.mean())):
        assert np.array_equal(copy.prob_within(d, T), est.prob_within(d, T))
    assert np.array_equal(copy.quantile(0.9, T), est.quantile(0.9, T))
    assert np.array_equal(copy.expected(T), est.expected(T))


def _leaves(x: Any, path: tuple = ()) -> list[tuple]:
    """The paths of every number in a JSON-like state."""
    if isinstance(x, dict):
        return [p for k, v in x.items() for p in _leaves(v, (*path, k))]
    if isinstance(x, list):
        return [p for k, v in enumerate(x) for p in _leaves(v, (*path, k))]
    return [path] if isinstance(x, (int, float)) and not isinstance(x, bool) else []




@pytest.mark.parametrize("name", NAMES)
def test_load_state_dict_refuses_a_corrupt_state_and_keeps_its_own(name):
    """A saved state with a field missing, of the wrong type or not finite is refused with a
    ValueError naming the field, and the estimator keeps the state it had."""
    rng = np.random.default_rng(2)
    src, est = fresh(name), fresh(name)
    for e in (src, est):
        for _ in range(60):
            r, j = int(rng.integers(ROWS)), int(rng.integers(COLS))
            e.update(float(T[r, j]) * float(rng.lognormal(0.1, 0.3)), float(T[r, j]), (r, j))
    good = src.state_dict()
    before = json.dumps(est.state_dict(), sort_keys=True)
    leaves = _leaves(good)
    picked = [leaves[int(k)] for k in np.unique(np.linspace(0, len(leaves) - 1, 25).astype(int))]
    cases = [(p, v) for p in picked for v in (math.nan, math.inf, "x", None)]
    cases += [((k,), KeyError) for k in good]  # every top-level field missing
    for path, value in cases:
        with pytest.raises(ValueError, match=str(path[0]) if value is not KeyError else "missing"):
            est.load_state_dict(mutate(good, path, value))
        assert json.dumps(est.state_dict(), sort_keys=True) == before, (path, value)
    with pytest.raises(ValueError, match="not a mapping"):
        est.load_state_dict([1, 2])  # type: ignore[arg-type]
    est.load_state_dict(good)  # the untouched state still loads
    assert json.dumps(est.state_dict(), sort_keys=True) == json.dumps(src.state_dict(), sort_keys=True)


@pytest.mark.parametrize("name", NAMES)
def test_learns_a_steady_slowdown(name):
    est = fresh(name)
    for k in range(200):
        r, j = k % ROWS, k % COLS
        est.update(2.0 * float(T[r, j]), float(T[r, j]), (r, j))
    assert est.expected(T) == pytest.approx(2.0 * T, rel=0.1)
    # a deadline of 1.5x the profile is now rarely met, 3x almost always
    assert float(est.prob_within(1.5 * float(T[0, 0]), T)[0, 0]) < 0.5
    assert float(est.prob_within(3.0 * float(T[0, 0]), T)[0, 0]) > 0.9


@pytest.mark.parametrize("name", NAMES)
def test_assume_sets_the_belief(name):
    est = fresh(name)
    est.assume(3.0, 0.2)
    assert est.expected(T) == pytest.approx(3.0 * T, rel=0.05)


@pytest.mark.parametrize("name", NAMES)
def test_drives_a_controller(name):
    ctl = Controller(PROFILE, MinimizeEnergy(deadline=float(T.max()), accuracy=0.5),
                     ControllerConfig(estimator=name, overhead=0.0))
    for _ in range(20):
        d = ctl.decide()
        ctl.observe(latency=1.3 * float(T[d.candidate, d.setting]))
    assert ctl.estimator.n == 20 and ctl.estimator.name == name


def test_unknown_estimator_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown estimator 'nope'"):
        ControllerConfig(estimator="nope") and Controller(PROFILE, MinimizeEnergy(0.1, 0.5),
                                                          ControllerConfig(estimator="nope"))
    with pytest.raises(ValueError, match="estimator 'paper'"):
        make_estimator("paper", bogus=1)
