"""Property tests over random profiles, goals and observation streams."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from alert import (
    Controller,
    ControllerConfig,
    MaximizeAccuracy,
    MinimizeEnergy,
    MinimizeLatency,
    Profile,
    estimate,
)
from alert.estimators.paper import deadline_probability
from profile_factory import gaussian

pos = st.floats(min_value=1e-3, max_value=1.0)


@st.composite
def profiles(draw):
    L = draw(st.integers(1, 5))
    q_fail = draw(st.floats(0.0, 0.3))
    caps = sorted(draw(st.lists(st.floats(5, 100), min_size=L, max_size=L, unique=True)))
    settings_ = [{"name": f"s{j}", "value": c, "unit": "W", "idle_power": draw(st.floats(0, 10))}
                 for j, c in enumerate(caps)]
    models = []
    for i in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            k = draw(st.integers(1, 4))
            acc = sorted(draw(st.lists(st.floats(q_fail, 1.0), min_size=k, max_size=k)))
            base = np.cumsum(draw(st.lists(st.floats(1e-3, 0.2), min_size=k, max_size=k)))
            scale = draw(st.lists(st.floats(0.5, 2.0), min_size=L, max_size=L))
            lat = (base[:, None] * np.asarray(scale)[None, :]).tolist()
            models.append({"name": f"a{i}", "kind": "anytime", "accuracy": acc, "latency": lat})
        else:
            models.append({"name": f"t{i}", "kind": "traditional", "accuracy": draw(st.floats(q_fail, 1.0)),
                           "latency": draw(st.lists(pos, min_size=L, max_size=L))})
    return Profile.from_dict({"format": "alert-profile", "version": 1, "q_fail": q_fail,
                              "settings": settings_, "models": models})


goals = st.one_of(
    st.builds(MinimizeEnergy, st.floats(1e-3, 2.0), st.floats(0, 1), st.one_of(st.none(), st.floats(0.05, 0.99))),
    st.builds(MaximizeAccuracy, st.floats(1e-3, 2.0), st.one_of(st.none(), st.floats(1e-3, 100))),
    st.builds(MinimizeLatency, st.floats(0, 1), st.one_of(st.none(), st.floats(1e-3, 100))),
)
observations = st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(1e-4, 5.0)),
                        max_size=25)


@settings(max_examples=150, deadline=None)
@given(profiles(), st.floats(0.05, 5), st.floats(0.0, 3.0), st.floats(1e-3, 3.0))
def test_expected_accuracy_bounded(prof, mu, sigma, T):
    est = estimate(prof, gaussian(mu, sigma), 0.2, T)
    assert np.all(est.accuracy >= prof.q_fail - 1e-12)
    assert np.all(est.accuracy <= prof.q.max() + 1e-12)
    for a in (est.latency, est.pr, est.accuracy, est.energy):
        assert np.all(np.isfinite(a))


@settings(max_examples=150, deadline=None)
@given(profiles(), st.floats(0.2, 3), st.floats(0.01, 1.0), st.floats(0.01, 1.0), st.floats(1e-3, 2.0),
       st.floats(1e-3, 2.0))
def test_pr_monotone_in_sigma_and_deadline(prof, mu, s1, s2, T1, T2):
    lo_s, hi_s = sorted((s1, s2))
    lo_T, hi_T = sorted((T1, T2))
    # as sigma grows, Pr can only fall for configurations whose mean meets the deadline
    meets = mu * prof.t_prof <= lo_T
    a = deadline_probability(prof.t_prof, mu, lo_s, lo_T)
    b = deadline_probability(prof.t_prof, mu, hi_s, lo_T)
    assert np.all(b[meets] <= a[meets] + 1e-12)
    # as the deadline grows, Pr never falls
    c = deadline_probability(prof.t_prof, mu, lo_s, hi_T)
    assert np.all(c >= a - 1e-12)


@settings(max_examples=100, deadline=None)
@given(profiles(), goals, observations, st.booleans(), st.sampled_from(["all", "anytime", "traditional"]))
def test_decision_always_valid_and_finite(prof, goal, obs, mean_only, cands):
    kinds = {m.kind for m in prof.models}
    if cands != "all" and cands not in kinds:
        cands = "all"
    ctl = Controller(prof, goal, ControllerConfig(estimator="paper", mean_only=mean_only, candidates=cands, overhead=0.0))
    for x in obs + [None]:
        d = ctl.decide()
        assert 0 <= d.candidate < ctl.profile.shape[0] and 0 <= d.setting < ctl.profile.shape[1]
        for v in (d.expected_latency, d.pr, d.expected_accuracy, d.expected_energy):
            assert math.isfinite(v)
        assert set(d.gave_up) <= set(goal.constraints)
        if not d.gave_up:
            assert all(d.goals_met.values())
        if x is not None:
            ctl.observe(x, idle_power=x)
        assert math.isfinite(ctl.estimator.mean) and math.isfinite(ctl.estimator.filter.variance)
        assert math.isfinite(ctl.idle.phi)
