"""Schemes: ALERT runs the library controller, baselines behave as specified, cheats are caught."""

import numpy as np
import pytest

import alert.controller
from alert.evaluation import metrics, scenarios, schemes, suite
from alert.evaluation.metrics import Constraint
from alert.evaluation.powerctl import KalmanPowerController
from alert.evaluation.replay import deliver, outcomes


@pytest.fixture(scope="module")
def trace():
    return scenarios.generate("cpu1", "image", "memory", "paper", 80)


def _ctx(trace, c):
    return schemes.SchemeContext(trace, outcomes(trace, c.deadline), c, trace.profile)


def test_alert_schemes_use_the_controller(trace, monkeypatch):
    calls = []
    real = alert.controller.Controller.decide

    def spy(self):
        calls.append(self.config)
        return real(self)

    monkeypatch.setattr(alert.controller.Controller, "decide", spy)
    c = Constraint("min-energy", 0.2, accuracy=0.88)
    for name, check in (("ALERT", lambda k: k.candidates == "all" and not k.mean_only),
                        ("ALERT_Any", lambda k: k.candidates == "anytime"),
                        ("ALERT_Trad", lambda k: k.candidates == "traditional"),
                        ("ALERT*", lambda k: k.mean_only)):
        calls.clear()
        ch = schemes.get(name)(_ctx(trace, c))
        assert len(calls) == trace.n_inputs and all(check(k) and k.overhead == 0.0 for k in calls)
        if name == "ALERT_Any":
            assert trace.profile.is_anytime[ch.candidate].all()
        if name == "ALERT_Trad":
            assert not trace.profile.is_anytime[ch.candidate].any()


def test_alert_replay_is_deterministic(trace):
    c = Constraint("min-error", 0.15, power_budget=20.0)
    a = schemes.get("ALERT")(_ctx(trace, c))
    b = schemes.get("ALERT")(_ctx(trace, c))
    np.testing.assert_array_equal(a.candidate, b.candidate)
    np.testing.assert_array_equal(a.setting, b.setting)
    assert np.isfinite(a.xi).all()


def test_app_only_and_sys_only_choices(trace):
    c = Constraint("min-energy", 0.2, accuracy=0.88)
    p = trace.profile
    app = schemes.get("App-only")(_ctx(trace, c))
    assert (app.setting == np.argmax(p.setting_values)).all()
    assert (p.candidates[app.candidate[0]].label == "depth-nest@4")
    sys_ = schemes.get("Sys-only")(_ctx(trace, c))
    assert (sys_.candidate == p.candidate_index("sparse-resnet-10")).all()


def test_power_controller_picks_cheapest_setting_meeting_the_deadline():
    base = np.array([0.2, 0.1, 0.05])          # latency per setting
    power = np.array([10.0, 20.0, 40.0])
    idle = np.array([1.0, 1.0, 1.0])
    pc = KalmanPowerController(base, power, idle)
    # T = 0.2: setting 0 meets it (2 J), setting 1 costs 20·0.1 + 0.1 = 2.1 J
    assert pc.choose(0.2) == 0
    assert pc.choose(0.12) == 1
    assert pc.choose(0.01) == 2                 # none meets: the fastest
    assert pc.choose(0.2, energy_budget=0.5) == 0   # none fits: the cheapest
    for _ in range(30):                         # the work doubles: it learns and speeds up
        pc.observe(0.4, 0)
    assert pc.choose(0.2) == 1


def test_a_scheme_that_ignores_constraints_is_caught(trace):
    """Always the most accurate model at the top setting: violates a tight energy budget."""
    p = trace.profile
    c = Constraint("min-error", 0.2, power_budget=12.0)
    out = outcomes(trace, c.deadline)
    big = p.candidate_index("sparse-resnet-101")
    d = deliver(out, np.full(trace.n_inputs, big), np.full(trace.n_inputs, p.shape[1] - 1))
    assert metrics.evaluate(d, c).violated
    assert not metrics.evaluate(deliver(out, *schemes.oracles.oracle(out, c)), c).violated


def test_run_settings_and_summary(trace):
    grid = metrics.grid(trace.profile, "min-energy", 2, 2)
    res = suite.run_settings(trace, grid, ["ALERT", "Oracle"])
    summ = suite.summarise_cell(res)
    assert set(summ) == {"ALERT", "Oracle", "OracleStatic", "OracleStatic_strict"}
    assert summ["OracleStatic"].violated == 0
    usable = [x for x in summ["OracleStatic"].per_setting if np.isfinite(x)]
    assert usable and all(x == pytest.approx(1.0) for x in usable)


def test_unknown_scheme():
    with pytest.raises(ValueError, match="unknown scheme 'ALRT'"):
        schemes.get("ALRT")


def test_runtime_stage_rule_does_not_start_a_stage_predicted_late(monkeypatch):
    """With runtime_stages, an anytime choice stops after the stage whose end plus the next stage's
    expected duration μ·Δt_prof passes the deadline (the live runtime cannot pre-empt a stage)."""
    from eval_helpers import tiny_trace

    from alert.evaluation import schemes
    from alert.evaluation.metrics import Constraint
    from alert.evaluation.replay import outcomes

    # Stage 1 of "nest" ends at 0.05 s on the 10 W setting; stage 2 is predicted to take
    # μ·(0.08 − 0.04) = 0.04 s more: 0.09 s > T = 0.085, so stage 2 is not started.
    lat = np.zeros((3, 3, 2))
    lat[:, 0] = [0.10, 0.05]
    lat[:, 1] = [0.05, 0.02]
    lat[:, 2] = [0.082, 0.04]   # stage 2 would finish in time (0.082 s), but the runtime cannot know
    trace = tiny_trace(lat)
    c = Constraint("min-error", 0.085, power_budget=1000.0)
    out = outcomes(trace, c.deadline)
    ctx = schemes.SchemeContext(trace, out, c, trace.profile)
    from alert.controller import Controller

    monkeypatch.setattr(Controller, "decide", lambda self: _fixed_decision(self, "nest", 2, 0))
    pre = schemes.run_controller(ctx)
    rt = schemes.run_controller(ctx, runtime_stages=True)
    assert pre.candidate.tolist() == [2, 2, 2]        # pre-empted at the deadline: stage 2 delivered
    assert rt.candidate.tolist() == [1, 1, 1]         # the runtime stops after stage 1


def _fixed_decision(ctl, model, stage, setting):
    from alert.controller import Decision

    row = ctl.profile.candidate_index(model, stage)
    d = Decision(row, model, stage, setting, ctl.profile.settings[setting].name, 0.0, 0.085,
                 0.0, 1.0, 0.0, 0.0, {}, ())
    ctl._last, ctl._observed = d, False
    return d


def test_the_replay_feeds_every_input_s_energy_and_run_time(trace, monkeypatch):
    """As the live runtime does: the period energy of every input (an anytime model that ran the
    whole period included, so that ACI sees its budget misses) and the time the model ran; idle
    power only where the model left an idle phase."""
    got = []
    real = alert.controller.Controller.observe

    def spy(self, latency, **kw):
        got.append(kw)
        return real(self, latency, **kw)

    monkeypatch.setattr(alert.controller.Controller, "observe", spy)
    c = Constraint("min-error", 0.15, power_budget=20.0)
    ctx = _ctx(trace, c)
    ch = schemes.get("ALERT_Any")(ctx)
    out, n = ctx.out, np.arange(trace.n_inputs)
    run = out.run_time[n, ch.candidate, ch.setting]
    np.testing.assert_array_equal([kw["energy"] for kw in got], out.energy[n, ch.candidate, ch.setting])
    np.testing.assert_array_equal([kw["elapsed"] for kw in got], run)
    assert [kw["idle_power"] is None for kw in got] == (run >= out.deadline).tolist()
    assert (run >= out.deadline).any()  # some input ran the whole period
