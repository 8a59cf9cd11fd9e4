"""Eq. 6, 7, 9, 12, 13 against hand-computed values, the §3.4 worked example and Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from alert import MaximizeAccuracy, Profile, estimate, outcome, select
from alert.estimate import budget_time, expected_accuracy
from alert.estimators.paper import deadline_probability
from profile_factory import gaussian, make_profile_dict


def two_model_profile(t_large: float, t_small: float) -> Profile:
    """The two DNNs of §3.4 (q = 0.98 and 0.95); q_fail = 0 as in the paper's arithmetic."""
    return Profile.from_dict(make_profile_dict(
        models=[{"name": "large", "accuracy": 0.98, "latency": [t_large]},
                {"name": "small", "accuracy": 0.95, "latency": [t_small]}],
        settings=[{"name": "cap", "value": 10.0, "unit": "W", "idle_power": 1.0}], q_fail=0.0))


def test_worked_example_section_3_4():
    # Choose profiled times so that at sigma_low the probabilities are the paper's 97 % and 99.9 %:
    # (T - t) / (sigma t) = z  =>  t = T / (1 + sigma z), with T = 1 and mu = 1.
    sigma_low = 0.1
    t_large = 1 / (1 + sigma_low * norm.ppf(0.97))
    t_small = 1 / (1 + sigma_low * norm.ppf(0.999))
    prof = two_model_profile(t_large, t_small)
    goal = MaximizeAccuracy(deadline=1.0)
    low = estimate(prof, gaussian(1.0, sigma_low), phi=0.1, deadline=1.0)
    assert low.pr[:, 0] == pytest.approx([0.97, 0.999], abs=1e-9)
    assert low.accuracy[:, 0] == pytest.approx([0.97 * 0.98, 0.999 * 0.95], abs=1e-9)  # 0.9506 vs 0.9491
    assert prof.candidates[select(prof, low, goal).candidate].model == "large"
    # High variance: the large DNN's probability drops to 95 %, the small one's only to ~99.7 %.
    sigma_high = (1 - t_large) / (t_large * norm.ppf(0.95))
    high = estimate(prof, gaussian(1.0, sigma_high), phi=0.1, deadline=1.0)
    assert high.pr[0, 0] == pytest.approx(0.95, abs=1e-9)
    assert high.pr[1, 0] > 0.995
    assert high.accuracy[0, 0] == pytest.approx(0.95 * 0.98, abs=1e-9)
    assert high.accuracy[1, 0] > high.accuracy[0, 0]
    assert prof.candidates[select(prof, high, goal).candidate].model == "small"


def test_eq6_hand_value():
    # T = 0.1, mu = 1.2, sigma = 0.3, t = 0.07: z = (0.1 - 0.084) / 0.021 = 0.7619
    pr = deadline_probability(np.array([[0.07]]), 1.2, 0.3, 0.1)
    assert pr[0, 0] == pytest.approx(norm.cdf(0.016 / 0.021), abs=1e-12)
    assert deadline_probability(np.array([[0.07, 0.09]]), 1.2, 0.3, 0.1, mean_only=True).tolist() == [[1.0, 0.0]]


def test_eq13_against_monte_carlo():
    prof = Profile.from_dict(make_profile_dict())
    mu, sigma, T = 1.15, 0.35, 0.05
    est = estimate(prof, gaussian(mu, sigma), phi=0.2, deadline=T)
    rng = np.random.default_rng(0)
    xi = rng.normal(mu, sigma, 400_000)
    m = next(m for m in prof.models if m.kind == "anytime")
    for c in prof.candidates:
        for j in range(2):
            if c.kind == "anytime":
                q = np.full(xi.shape, prof.q_fail)
                for s in range(c.stage):  # last finished stage up to the stopping stage
                    q = np.where(xi * m.latency[s, j] <= T, m.accuracy[s], q)
            else:
                q = np.where(xi * prof.t_prof[c.index, j] <= T, prof.q[c.index], prof.q_fail)
            assert est.accuracy[c.index, j] == pytest.approx(q.mean(), abs=0.005)


def test_eq7_traditional_closed_form():
    prof = Profile.from_dict(make_profile_dict())
    est = estimate(prof, gaussian(1.0, 0.3), 0.2, 0.05)
    big = prof.candidate_index("big")
    pr = norm.cdf((0.05 - 0.05) / (0.3 * 0.05))  # setting 20W: t = 0.05 -> Pr = 0.5
    assert est.pr[big, 1] == pytest.approx(pr)
    assert est.accuracy[big, 1] == pytest.approx(0.5 * 0.9 + 0.5 * 0.1)


def test_eq9_energy_with_clamp_and_eq12_quantile():
    prof = Profile.from_dict(make_profile_dict())
    small = prof.candidate_index("small")
    big = prof.candidate_index("big")
    est = estimate(prof, gaussian(1.5, 0.3), phi=0.25, deadline=0.1)
    # small @10W: t = 1.5*0.04 = 0.06; e = 10*0.06 + 0.25*10*(0.1-0.06) = 0.6 + 0.1
    assert est.energy[small, 0] == pytest.approx(0.7)
    # big @10W: t = 0.15 > T: no idle energy (clamp), e = 10*0.15
    assert est.energy[big, 0] == pytest.approx(1.5)
    # Eq. 12 with Pr_th = 0.9: xi_q = 1.5 + 0.3*1.28155 = 1.88447; t = 0.075379
    est12 = estimate(prof, gaussian(1.5, 0.3), phi=0.25, deadline=0.1, pr_th=0.9)
    xq = 1.5 + 0.3 * norm.ppf(0.9)
    assert est12.energy[small, 0] == pytest.approx(10 * 0.04 * xq + 0.25 * 10 * (0.1 - 0.04 * xq))
    assert est12.energy[small, 0] > est.energy[small, 0]


def test_anytime_inference_stops_at_deadline():
    prof = Profile.from_dict(make_profile_dict())
    last = prof.candidate_index("any", 3)
    est = estimate(prof, gaussian(2.0, 0.3), phi=0.25, deadline=0.1)
    # stage 3 @10W would take 0.24 s; the runtime stops it at T = 0.1: e = 10 * 0.1
    assert est.energy[last, 0] == pytest.approx(1.0)


def test_a_one_stage_anytime_model_is_stopped_at_the_deadline_too():
    """Any anytime model, even of one stage, is stopped at T; a traditional model runs to its end.
    At 10 W, T = 0.1 s, 0.3 s expected: 10·0.1 = 1 J against 10·0.3 = 3 J (no idle part)."""
    models = [{"name": "one", "kind": "anytime", "accuracy": [0.8], "latency": [[0.3, 0.15]]},
              {"name": "trad", "kind": "traditional", "accuracy": 0.8, "latency": [0.3, 0.15]}]
    prof = Profile.from_dict(make_profile_dict(models))
    est = estimate(prof, gaussian(1.0, 0.1), phi=0.25, deadline=0.1)
    assert est.energy[prof.candidate_index("one", 1), 0] == pytest.approx(1.0)
    assert est.energy[prof.candidate_index("trad"), 0] == pytest.approx(3.0)


def test_no_deadline_means_certain_completion():
    prof = Profile.from_dict(make_profile_dict())
    est = estimate(prof, gaussian(1.3, 0.3), 0.2, math.inf)
    assert np.all(est.pr == 1.0)
    assert est.accuracy == pytest.approx(np.broadcast_to(prof.q[:, None], est.accuracy.shape))
    assert est.energy == pytest.approx(prof.power * 1.3 * prof.t_prof)


def test_expected_accuracy_telescopes():
    prof = Profile.from_dict(make_profile_dict())
    pr = np.full(prof.shape, 1.0)
    assert expected_accuracy(prof, pr)[:, 0] == pytest.approx(prof.q)
    assert expected_accuracy(prof, np.zeros(prof.shape)) == pytest.approx(np.full(prof.shape, prof.q_fail))


@pytest.mark.parametrize("name", ["paper", "robust"])
def test_lazy_estimates_equal_the_full_tables(name):
    """``estimate`` computes Pr and q̂ on first use; ``at`` and ``pr_at_least`` answer without the
    tables, and every answer equals the tables computed directly (expected_accuracy, prob_within)."""
    from alert.estimators import make_estimator

    prof = Profile.from_dict(make_profile_dict())
    est = make_estimator(name)
    est.bind(prof.t_prof)
    rng = np.random.default_rng(4)
    for _ in range(30):
        r, j = int(rng.integers(prof.shape[0])), int(rng.integers(prof.shape[1]))
        est.update(float(prof.t_prof[r, j] * rng.lognormal(0.2, 0.3)), float(prof.t_prof[r, j]), (r, j))
    T = float(np.median(prof.t_prof)) * 1.3
    pr = est.prob_within(T, prof.t_prof)
    acc = expected_accuracy(prof, pr)
    for c in range(prof.shape[0]):
        for j in range(prof.shape[1]):
            fresh = estimate(prof, est, phi=0.2, deadline=T)
            assert fresh.at(c, j) == (pr[c, j], acc[c, j])  # exact, before the tables are built
    lazy = estimate(prof, est, phi=0.2, deadline=T)
    for th in (0.3, 0.9):
        np.testing.assert_array_equal(lazy.pr_at_least(th), pr >= th)
    np.testing.assert_array_equal(lazy.pr, pr)
    np.testing.assert_array_equal(lazy.accuracy, acc)


def _random_profile(rng: np.random.Generator, weak: bool = False) -> Profile:
    """Traditional models, a one-stage anytime model and a 4-stage one, at 6 settings; ``weak``
    adds a traditional model no better than failing (q ≤ q_fail)."""
    speed = np.linspace(0.4, 1.0, 6)
    models = [{"name": f"m{i}", "kind": "traditional", "accuracy": float(rng.uniform(0.3, 0.95)),
               "latency": (rng.uniform(0.01, 0.2) / speed).tolist()} for i in range(5)]
    models.append({"name": "one", "kind": "anytime", "accuracy": [float(rng.uniform(0.3, 0.9))],
                   "latency": [(rng.uniform(0.01, 0.1) / speed).tolist()]})
    ends = np.cumsum(rng.uniform(0.01, 0.06, 4))
    models.append({"name": "any", "kind": "anytime", "accuracy": np.sort(rng.uniform(0.3, 0.95, 4)).tolist(),
                   "latency": (ends[:, None] / speed[None, :]).tolist()})
    if weak:
        models.append({"name": "weak", "kind": "traditional", "accuracy": 0.2, "latency": (0.05 / speed).tolist()})
    settings = [{"name": f"s{j}", "value": float(j + 1), "unit": "W", "idle_power": 1.0} for j in range(6)]
    return Profile.from_dict(make_profile_dict(models, settings, q_fail=0.25))


@pytest.mark.parametrize("name", ["paper", "robust"])
@pytest.mark.parametrize("weak", [False, True])
def test_accuracy_constraint_without_the_table_equals_the_table(name, weak):
    """``accuracy_at_least`` (one comparison per cell from the Pr each one-stage row needs, Eq. 13
    on anytime rows alone) answers exactly as q̂ ≥ goal on the full table: goals below q_fail, at
    it, between the models' accuracies, exactly at them (where Pr rounds to 1 on whole rows) and
    above them all; estimators after random observations."""
    from alert.estimators import make_estimator

    rng = np.random.default_rng(11 + weak)
    for _ in range(8):
        prof = _random_profile(rng, weak)
        est = make_estimator(name)
        est.bind(prof.t_prof)
        for _ in range(int(rng.integers(0, 40))):
            r, j = int(rng.integers(prof.shape[0])), int(rng.integers(prof.shape[1]))
            est.update(float(prof.t_prof[r, j] * rng.lognormal(0.1, 0.4)), float(prof.t_prof[r, j]), (r, j))
        goals = np.concatenate([[0.0, 0.1, prof.q_fail, prof.q_fail + 1e-12, 0.99, 1.0], prof.q, prof.q - 1e-9,
                                prof.q + 1e-15, rng.uniform(0.2, 1.0, 10)])
        for T in np.append(np.quantile(prof.t_prof, [0.05, 0.5, 0.95]) * rng.uniform(0.8, 1.5), 100.0):
            acc = expected_accuracy(prof, est.prob_within(float(T), prof.t_prof))
            for g in goals:
                got = estimate(prof, est, phi=0.2, deadline=float(T)).accuracy_at_least(float(g))
                want = acc >= g
                assert got.dtype == bool and got.shape == acc.shape
                np.testing.assert_array_equal(got, want, err_msg=f"{name} T={float(T)} goal={float(g)}")


def test_paper_within_keeps_no_stale_answer_for_a_column_changed_in_place():
    """The paper's ``within`` keeps Φ⁻¹ of a read-only column between calls; a writable column
    changed in place between two calls is answered afresh."""
    est = gaussian(1.2, 0.3)
    t = np.array([[0.05, 0.1], [0.08, 0.2]])
    p = np.array([[0.5], [0.9]])
    first = est.within(0.1, p, t)
    np.testing.assert_array_equal(first, est.prob_within(0.1, t) >= p)
    p[:] = [[0.99], [0.01]]
    np.testing.assert_array_equal(est.within(0.1, p, t), est.prob_within(0.1, t) >= p)
    ro = p.copy()
    ro.flags.writeable = False
    for _ in range(2):  # the second call reads the kept Φ⁻¹
        np.testing.assert_array_equal(est.within(0.1, ro, t), est.prob_within(0.1, t) >= ro)


def test_the_per_goal_cache_of_the_accuracy_constraint_stays_bounded():
    """Goals whose accuracy changes with every input (per-request goals) keep at most 64 entries,
    and every answer still equals the table."""
    prof = Profile.from_dict(make_profile_dict())
    est = gaussian(1.1, 0.2)
    for g in np.linspace(0.3, 0.95, 500):
        e = estimate(prof, est, phi=0.2, deadline=0.08)
        np.testing.assert_array_equal(e.accuracy_at_least(float(g)), e.accuracy >= g)
        assert len(prof._pr_need) <= 64


# ----------------------------------------------------------------------------- energy budget per period
def test_budget_time_by_hand():
    # power 10 W at the 10 W setting, idle φ·p = 2 W, period T = 0.1 s: e(t) = 0.2 + 8·t until T
    prof = Profile.from_dict(make_profile_dict())
    idle = 0.2 * prof.power
    small, last = prof.candidate_index("small"), prof.candidate_index("any", 3)
    assert prof.power[small, 0] == 10.0
    t_e = budget_time(prof, idle, 0.1, 0.6)
    assert t_e[small, 0] == pytest.approx((0.6 - 0.2) / 8)        # reached before T: 0.05 s
    assert budget_time(prof, idle, 0.1, 1.5)[small, 0] == pytest.approx(0.15)  # p·T = 1 ≤ 1.5: e = 10·t past T
    assert budget_time(prof, idle, 0.1, 1.5)[last, 0] == math.inf  # stopped at T: at most p·T = 1
    assert budget_time(prof, idle, 0.1, 0.1)[small, 0] == 0.0       # p_idle·T = 0.2 > 0.1: never
    assert budget_time(prof, idle, math.inf, 0.6)[small, 0] == pytest.approx(0.06)  # no period: e = p·t


@settings(max_examples=60, deadline=None)
@given(phi=st.floats(0.0, 1.5), deadline=st.floats(0.005, 0.3), budget=st.floats(0.0, 8.0))
def test_budget_time_is_where_the_period_energy_first_passes_the_budget(phi, deadline, budget):
    # brute force with the rule of alert.outcome: every latency below t_E keeps the budget, and
    # (where t_E is finite) some latency just past it does not
    prof = Profile.from_dict(make_profile_dict())
    idle = phi * prof.power
    t_e = budget_time(prof, idle, deadline, budget)
    grid = np.linspace(0.0, 1.0, 2001)[:, None, None]
    run = np.where(prof.is_anytime[:, None], np.minimum(grid, deadline), grid)
    energy = outcome.period_energy(prof.power, run, idle, deadline)
    tol = 1e-9 * (1 + budget)
    assert np.all((energy <= budget + tol) | (grid >= t_e * (1 - 1e-9)))
    finite = np.isfinite(t_e) & (t_e < 0.999)
    past = np.where(finite, t_e, 0.0) * 1.001 + 1e-6
    after = np.where(prof.is_anytime[:, None], np.minimum(past, deadline), past)
    e_after = outcome.period_energy(prof.power, after, idle, deadline)
    assert np.all(e_after[finite] > budget - tol)


def test_budget_pr_is_the_chance_of_no_miss():
    # Monte Carlo with the rule of alert.outcome: ξ ~ N(1.2, 0.2²); an input misses when it is late
    # or its period's energy passes the budget. budget_pr gives the chance of neither.
    prof = Profile.from_dict(make_profile_dict())
    T, E = 0.08, 0.45
    est = estimate(prof, gaussian(1.2, 0.2), phi=0.2, deadline=T)
    t_e, pr = est.budget_pr(E)
    xi = np.random.default_rng(3).normal(1.2, 0.2, 200_000)
    for name in ("small", "big"):
        c = prof.candidate_index(name)
        for j in (0, 1):
            lat = xi * prof.t_prof[c, j]
            e = outcome.period_energy(prof.power[c, j], lat, 0.2 * prof.power[c, j], T)
            ok = (lat <= T) & (e <= E)
            assert pr[c, j] == pytest.approx(ok.mean(), abs=4e-3), (name, j)
            assert (t_e[c, j] > 0) == (0.2 * prof.power[c, j] * T <= E)
    # by hand for (small, 10 W): e = 0.16 + 8·t ≤ 0.45 ⟺ t ≤ 0.03625 < T; Pr = Φ((0.03625 − 0.048)/0.008)
    small = prof.candidate_index("small")
    assert pr[small, 0] == pytest.approx(norm.cdf((0.03625 - 1.2 * 0.04) / (0.2 * 0.04)))
