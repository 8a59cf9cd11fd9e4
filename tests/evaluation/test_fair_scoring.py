"""Fair scoring: hand-computed fair means, the second normaliser, the reachable budget grid,
Static_profile against brute force, bar_checks and the report's headline counts."""

from __future__ import annotations

import numpy as np
import pytest
from eval_helpers import tiny_profile, tiny_trace

from alert.evaluation import measured, metrics, report, schemes, suite
from alert.evaluation.metrics import Constraint, SettingResult
from alert.evaluation.replay import outcomes
from alert.goals import MaximizeAccuracy, MinimizeEnergy
from alert.profile import Profile
from alert.static import best_by_profile


def _r(obj: float, miss: float) -> SettingResult:
    return SettingResult(obj, miss, miss > metrics.VIOLATION_FRACTION)


# ------------------------------------------------------------------ fair means by hand
TABLE = {
    "OracleStatic": [_r(1.0, 0.0), _r(2.0, 0.05), _r(4.0, 0.0), _r(1.0, 0.5)],
    "A": [_r(0.9, 0.0), _r(2.2, 0.1), _r(3.0, 0.3), _r(0.5, 0.0)],
    "B": [_r(1.1, 0.02), _r(1.0, 0.2), _r(4.4, 0.0), _r(2.0, 0.0)],
    "Strict": [_r(1.25, 0.0), _r(2.5, 0.04), _r(4.0, 0.0), _r(2.0, 0.0)],
}


def test_fair_means_by_hand():
    f = metrics.fair_summaries(TABLE, "OracleStatic", ["A", "B"], "Strict")
    # setting 0 is the only one that A, B and OracleStatic all meet (1: B, 2: A, 3: OracleStatic violate)
    assert f["A"].common_settings == f["B"].common_settings == 1
    assert f["A"].common_normalized == pytest.approx(0.9)
    assert f["B"].common_normalized == pytest.approx(1.1)
    assert f["OracleStatic"].common_normalized == pytest.approx(1.0)
    # the paper's metric flatters A, which drops setting 2 where it does worst in cost terms
    assert metrics.summarise(TABLE["A"], TABLE["OracleStatic"]).normalized == pytest.approx((0.9 + 2.2 / 2.0) / 2)
    assert metrics.summarise(TABLE["B"], TABLE["OracleStatic"]).normalized == pytest.approx((1.1 + 4.4 / 4.0) / 2)
    assert (f["A"].met, f["B"].met, f["OracleStatic"].met) == (3, 3, 3)
    assert f["A"].met_share == pytest.approx(0.75)
    assert f["A"].mean_miss_rate == pytest.approx((0 + 0.1 + 0.3 + 0) / 4)
    # strict normaliser: settings where Strict meets every input (0, 2, 3) and the scheme meets
    assert f["A"].strict_settings == 2 and f["A"].strict_normalized == pytest.approx((0.9 / 1.25 + 0.5 / 2.0) / 2)
    assert f["B"].strict_settings == 3
    assert f["B"].strict_normalized == pytest.approx((1.1 / 1.25 + 4.4 / 4.0 + 2.0 / 2.0) / 3)


def test_fair_mean_with_no_common_setting_is_nan_and_unknown_compared_raise():
    f = metrics.fair_summaries(TABLE, "OracleStatic", ["A", "B", "Strict"])
    assert f["A"].common_settings == 1
    t2 = {**TABLE, "C": [_r(1.0, 0.5)] + [_r(1.0, 0.0)] * 3}
    f = metrics.fair_summaries(t2, "OracleStatic", ["A", "B", "C"])
    assert f["A"].common_settings == 0 and np.isnan(f["A"].common_normalized)
    assert np.isnan(f["A"].strict_normalized) and f["A"].strict_settings == 0   # no strict baseline given
    with pytest.raises(ValueError, match="none of the compared"):
        metrics.common_settings(TABLE, ["Nope"])


def test_cell_rows_carry_the_fair_fields_and_keep_the_paper_fields():
    rows = {r["scheme"]: r for r in suite.cell_rows({**TABLE, "OracleStatic_strict": TABLE["Strict"]}, ["A", "B"])}
    a = rows["A"]
    for k in ("normalized", "violated", "settings", "baseline_violated", "per_setting", "per_setting_all"):
        assert k in a
    assert a["common_normalized"] == pytest.approx(0.9) and a["common_settings"] == 1
    assert a["violated_all"] == 1 and a["violated"] == 1 and a["met_settings"] == 3
    assert a["normalized_strict"] == pytest.approx((0.9 / 1.25 + 0.5 / 2.0) / 2) and a["strict_settings"] == 2
    assert a["miss_rate"] == [0.0, 0.1, 0.3, 0.0] and a["objective"] == [0.9, 2.2, 3.0, 0.5]


# ------------------------------------------------------------------ the second normaliser on a hand-made trace
def test_strict_oracle_static_must_meet_every_input():
    """Only 'big' (q 0.9) reaches Q = 0.85. At 10 W it takes 0.10 s, but one input in 20 takes
    0.12 s > T = 0.11 (a miss, 5 % ≤ 10 %): OracleStatic takes 10 W; the strict one must take 20 W."""
    prof = tiny_profile()
    lat = np.broadcast_to(prof.t_prof, (20, 3, 2)).copy()
    lat[7, 0, 0] = 0.12
    tr = tiny_trace(lat)
    c = Constraint("min-energy", 0.11, accuracy=0.85)
    out = outcomes(tr, c.deadline)
    from alert.evaluation import oracles

    assert oracles.oracle_static(out, c)[1][0] == 0
    cand, sett = oracles.oracle_static(out, c, allowance=0.0)
    assert cand[0] == 0 and sett[0] == 1
    e10 = (19 * (10 * 0.10 + 2 * 0.01) + 10 * 0.12) / 20       # the late input runs to its end, no idle
    e20 = 20 * 0.05 + 4 * 0.06
    rows = {r["scheme"]: r for r in suite.cell_rows(suite.run_settings(tr, [c], ["OracleStatic"]))}
    assert rows["OracleStatic"]["normalized_strict"] == pytest.approx(e10 / e20)
    assert rows["OracleStatic_strict"]["normalized"] == pytest.approx(e20 / e10)
    assert rows["OracleStatic_strict"]["miss_rate"] == [0.0] and rows["OracleStatic"]["miss_rate"] == [0.05]


# ------------------------------------------------------------------ the budget grid from what a trace reaches
def test_reachable_power_budgets_by_hand():
    prof = tiny_profile()
    tr = tiny_trace(np.broadcast_to(prof.t_prof, (10, 3, 2)).copy())
    # T = 0.11, energies p·t + idle·(T − t): big 1.02 / 1.24, nest@1 0.54 / 0.76, nest@2 0.86 / 1.08
    assert metrics.reachable_power_budgets(tr, 0.11, 3) == pytest.approx(np.linspace(0.54, 1.24, 3) / 0.11)
    # T = 0.06: big at 10 W is late (left out); big@20W 1.04, nest@1 0.44 / 0.56, nest@2 0.60 / 0.88
    assert metrics.reachable_power_budgets(tr, 0.06, 2) == pytest.approx(np.array([0.44, 1.04]) / 0.06)


def test_trace_grid_keeps_deadlines_and_accuracy_goals():
    prof = tiny_profile()
    tr = tiny_trace(np.broadcast_to(prof.t_prof, (10, 3, 2)).copy() * 1.3)
    assert metrics.trace_grid(tr, "min-error", 3, 2, budgets="profile") == metrics.grid(prof, "min-error", 3, 2)
    assert metrics.trace_grid(tr, "min-energy", 3, 2) == metrics.grid(prof, "min-energy", 3, 2)
    g = metrics.trace_grid(tr, "min-error", 3, 2)
    assert [c.deadline for c in g] == [c.deadline for c in metrics.grid(prof, "min-error", 3, 2)]
    checked = 0
    for c in g:   # where some configuration is on time, the lowest budget is met by one on 90 % of the inputs
        out = outcomes(tr, c.deadline)
        if c.power_budget == min(k.power_budget for k in g if k.deadline == c.deadline) and (~out.late).all(0).any():
            ok = (~metrics.misses(None, c, out.accuracy, out.energy, out.late)).mean(axis=0) >= 0.9
            assert ok.any()
            checked += 1
    assert checked == 2   # T = 0.016 s: nothing is on time; 0.048 and 0.08 s: something is
    with pytest.raises(ValueError, match="budget grid"):
        metrics.trace_grid(tr, "min-error", budgets="nope")  # type: ignore[arg-type]


# ------------------------------------------------------------------ Static_profile against brute force
def _random_profile(seed: int) -> Profile:
    rng = np.random.default_rng(seed)
    L = 3
    speed = np.sort(rng.uniform(0.4, 1.0, L))
    cap = np.sort(rng.uniform(10, 40, L))
    models = []
    for i in range(3):
        work = rng.uniform(0.01, 0.1)
        models.append({"name": f"m{i}", "kind": "traditional", "accuracy": float(rng.uniform(0.6, 0.95)),
                       "latency": (work / speed).tolist(), "power": (cap * rng.uniform(0.7, 1.0, L)).tolist()})
    ends = np.cumsum(rng.uniform(0.005, 0.04, 3))
    models.append({"name": "nest", "kind": "anytime", "accuracy": np.sort(rng.uniform(0.5, 0.95, 3)).tolist(),
                   "latency": (ends[:, None] / speed[None, :]).tolist(), "power": (cap * 0.9).tolist()})
    return Profile.from_dict({"format": "alert-profile", "version": 1, "name": f"r{seed}", "q_fail": 0.05,
                              "settings": [{"name": f"s{j}", "value": float(cap[j]), "unit": "W",
                                            "idle_power": float(rng.uniform(1, 5))} for j in range(L)],
                              "models": models})


def _brute(p: Profile, goal) -> tuple[int, int] | None:
    """Enumerate every configuration with the profile's own numbers."""
    best, key = None, None
    T = goal.deadline
    for c in range(p.shape[0]):
        for j in range(p.shape[1]):
            t = float(p.t_prof[c, j])
            e = float(p.power[c, j]) * t + float(p.idle_power[j]) * max(0.0, T - t)
            if t > T:
                continue
            if isinstance(goal, MinimizeEnergy):
                if p.q[c] < goal.accuracy:
                    continue
                k = (e,)
            else:
                if e > goal.energy_budget():
                    continue
                k = (-float(p.q[c]), e)
            if key is None or k < key:
                best, key = (c, j), k
    return best


def test_static_profile_is_the_brute_force_best_by_the_profile():
    checked = 0
    for seed in range(60):
        p = _random_profile(seed)
        rng = np.random.default_rng(1000 + seed)
        for _ in range(4):
            T = float(rng.uniform(0.01, 0.2))
            for goal in (MinimizeEnergy(T, float(rng.uniform(0.5, 0.95))),
                         MaximizeAccuracy(T, power=float(rng.uniform(5, 40)))):
                want = _brute(p, goal)
                if want is None:
                    continue
                assert best_by_profile(p, goal) == want, (seed, goal)
                checked += 1
    assert checked > 200


def test_static_profile_replay_and_live_policy_use_the_same_configuration():
    from alert.controller import Controller, ControllerConfig
    from alert.runtime import StaticPolicy

    p = _random_profile(5)
    c = Constraint("min-energy", 0.15, accuracy=0.6)
    goal = c.goal()
    want = _brute(p, goal)
    assert want is not None
    lat = np.broadcast_to(p.t_prof, (6, *p.shape)) * np.linspace(1, 3, 6)[:, None, None]   # slow, no matter
    from alert.evaluation.traces import Trace

    tr = Trace(p, lat, np.broadcast_to(p.power, lat.shape).copy(), np.broadcast_to(p.idle_power, (6, p.shape[1])).copy())
    ch = schemes.get("Static_profile")(schemes.SchemeContext(tr, outcomes(tr, c.deadline), c, p))
    assert set(zip(ch.candidate.tolist(), ch.setting.tolist(), strict=True)) == {want}
    pol = StaticPolicy.best_quiet(Controller(p, goal, ControllerConfig()))
    d = pol.decide()
    assert (d.candidate, d.setting) == want


# ------------------------------------------------------------------ bar_checks and the headline
def _mrow(scheme, norm, viol_all, goal="min-energy", workload="memory", base_viol=1, **kw):
    return {"platform": "p", "cost": "energy", "workload": workload, "goal": goal, "scheme": scheme, "measured": True,
            "task": "image", "variant": "measured", "normalized": norm, "violated": max(0, viol_all - base_viol),
            "violated_all": viol_all, "baseline_violated": base_viol, "settings": 12, **kw}


def test_bar_checks_report_a_passing_variant_rather_than_the_lowest():
    rows = [_mrow("OracleStatic", 1.0, 1), _mrow("ALERT", 0.95, 4), _mrow("ALERT_Pr90", 0.99, 2),
            _mrow("OracleStatic", 1.0, 0, goal="min-error"), _mrow("ALERT", 1.04, 0, goal="min-error"),
            _mrow("ALERT_Pr90", 1.01, 3, goal="min-error")]
    got = {c["goal"]: c for c in measured.bar_checks(rows)}
    assert got["min-energy"]["scheme"] == "ALERT_Pr90" and got["min-energy"]["holds"]
    assert got["min-error"]["scheme"] == "ALERT_Pr90" and not got["min-error"]["holds"]  # none passes: the lowest
    only = measured.bar_checks(rows, variants=("ALERT",))
    assert not any(c["holds"] for c in only)


def test_headline_counts_cells():
    rows = [_mrow("OracleStatic", 1.0, 1, common_normalized=1.0, mean_miss_rate=0.05),
            _mrow("ALERT", 0.98, 2, common_normalized=0.97, mean_miss_rate=0.06),
            _mrow("Static_profile", 1.2, 2, common_normalized=1.1, mean_miss_rate=0.2),
            _mrow("OracleStatic", 1.0, 0, workload="default", common_normalized=1.0, mean_miss_rate=0.0),
            _mrow("ALERT", 1.015, 0, workload="default", common_normalized=1.01, mean_miss_rate=0.01),
            _mrow("Static_profile", 1.0, 3, workload="default", common_normalized=1.0, mean_miss_rate=0.3)]
    text = report.headline_table(rows, ["ALERT", "Static_profile", "OracleStatic"], bar=True)
    lines = {ln.split(" | ")[0].strip("| "): [x.strip(" |") for x in ln.split(" | ")[1:]] for ln in text.splitlines()}
    assert lines["cells at or below OracleStatic (paper's metric)"] == ["1 of 2", "1 of 2", "2 of 2"]
    assert lines["cells beating Static_profile (violations, else fair mean)"] == ["2 of 2", "-", "2 of 2"]
    assert lines["violated settings (more than 10 % of inputs miss)"][0] == "2 of 24"
    bar = [k for k in lines if k.startswith("cells meeting the bar")][0]
    assert lines[bar][0] == "2 of 2"      # memory E 0.98 <= 1.00 with 2 <= 1 + 1; default 1.015 <= 1.02
    hm = [k for k in lines if k.startswith("E: objective")][0]
    assert lines[hm][0] == f"{2 / (1 / 0.98 + 1 / 1.015):.3f} / {2 / (1 / 0.97 + 1 / 1.01):.3f}"


def test_sentence_met_share_weighs_cells_by_their_tests():
    """The sentence section's share of tests met: per cell, and over all cells weighted by
    settings x sentences (hand-computed)."""
    def row(scheme, w, met, settings, sentences):
        return {"task": "sentence", "scheme": scheme, "workload": w, "goal": "min-energy",
                "sentences_met": met, "settings": settings, "sentences": sentences}

    rows = [row("ALERT_paper", "default", 0.5, 2, 10), row("ALERT_paper", "memory", 0.8, 2, 30),
            row("ALERT", "default", 1.0, 2, 10), row("ALERT", "memory", 0.9, 2, 30),
            row("Oracle", "default", 0.1, 2, 10)]
    text = report.sentence_met(rows)
    assert "| default | min-energy | 50.0 % | 100.0 % |" in text
    assert "| memory | min-energy | 80.0 % | 90.0 % |" in text
    # (0.5*20 + 0.8*60) / 80 = 0.725; (1.0*20 + 0.9*60) / 80 = 0.925
    assert "| **all** | | 72.5 % | 92.5 % |" in text
    assert "Oracle" not in text.split("\n")[2]
    assert report.sentence_met([row("Oracle", "default", 0.1, 2, 10)]) == ""


def test_auto_budget_grid_is_the_trace_for_recordings_and_the_profile_for_simulations():
    assert metrics.resolve_budget_grid("auto", recorded=True) == "trace"
    assert metrics.resolve_budget_grid("auto", recorded=False) == "profile"
    assert metrics.resolve_budget_grid("profile", recorded=True) == "profile"
    assert metrics.resolve_budget_grid("trace", recorded=False) == "trace"
    with pytest.raises(ValueError, match="budget grid"):
        metrics.resolve_budget_grid("nope", recorded=True)


def test_bar_check_marks_a_missed_cell_within_the_split_floor(benchmark_script):
    bc = benchmark_script("bar_check")
    split = "OracleStatic_split"
    rows = [_mrow("OracleStatic", 1.0, 1), _mrow("ALERT", 1.004, 3), _mrow(split, 1.006, 3),          # floor
            _mrow("OracleStatic", 1.0, 1, workload="compute"), _mrow("ALERT", 1.004, 4, workload="compute"),
            _mrow(split, 1.006, 3, workload="compute"),                    # more violated than the split: not
            _mrow("OracleStatic", 1.0, 0, workload="drift"), _mrow("ALERT", 0.99, 0, workload="drift"),
            _mrow(split, 1.01, 0, workload="drift")]                       # meets the bar: not counted
    cells = {c["workload"]: c for c in bc.measured_cells(rows)}
    assert [cells[w]["within_split_floor"] for w in ("memory", "compute", "drift")] == [True, False, False]
    assert cells["memory"]["OracleStatic_split"] == {"normalized": 1.006, "violated": 3}
    assert bc.measured_summary(list(cells.values()))["all"]["ALERT_misses_within_split_floor"] == 1
    assert "1.006 (3) ≥" in bc.measured_table([cells["memory"]])


def test_bar_check_sets_alert_against_the_cross_fitted_state_oracle(benchmark_script):
    bc = benchmark_script("bar_check")

    def sim(scheme, norms):
        return [{"measured": False, "variant": "noisy", "platform": f"p{k}", "task": "image", "workload": "default",
                 "goal": "min-error", "scheme": scheme, "normalized": x, "violated": 0, "violated_all": 0,
                 "baseline_violated": 0, "settings": 4} for k, x in enumerate(norms)]

    rows = sim("ALERT", [1.0, 1.06]) + sim("Oracle_State", [0.96, 1.0]) + sim("Oracle_State_split", [0.99, 1.02])
    rec = next(r for r in bc.simulated(rows) if r["goal"] == "min-error")
    hm = lambda a, b: 2 / (1 / a + 1 / b)  # noqa: E731
    assert rec["ALERT_over_Oracle_State"] == pytest.approx(hm(1.0, 1.06) / hm(0.96, 1.0), abs=1e-4)
    assert rec["ALERT_over_Oracle_State_split"] == pytest.approx(hm(1.0, 1.06) / hm(0.99, 1.02), abs=1e-4)
    assert not rec["within_3pct"] and "ALERT / Oracle_State_split" in bc.simulated_table([rec])
