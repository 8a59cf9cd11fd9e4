"""Replay semantics checked against hand-computed cases."""

import numpy as np
import pytest
from eval_helpers import tiny_trace

from alert.evaluation.replay import deliver, outcomes

# one input; rows: big, nest@1, nest@2; columns: 10 W, 20 W
LAT = np.array([[[0.12, 0.05], [0.05, 0.02], [0.11, 0.04]]])


def test_traditional_on_time_and_late():
    out = outcomes(tiny_trace(LAT), deadline=0.1)
    # big at 20 W: 0.05 s ≤ 0.1 → q 0.9; energy 20·0.05 + 4·0.05 = 1.2
    assert out.accuracy[0, 0, 1] == pytest.approx(0.9)
    assert out.energy[0, 0, 1] == pytest.approx(1.2)
    assert not out.late[0, 0, 1]
    # big at 10 W: 0.12 s > 0.1 → q_fail, runs to completion, period = latency, energy 10·0.12
    assert out.accuracy[0, 0, 0] == pytest.approx(0.1)
    assert out.energy[0, 0, 0] == pytest.approx(1.2)
    assert out.late[0, 0, 0]
    assert out.observed[0, 0, 0] == pytest.approx(0.12)


def test_anytime_without_preemption_finishes_its_stage():
    out = outcomes(tiny_trace(LAT), deadline=0.1, preempt=False)
    # nest@2 at 10 W: stage 2 ends at 0.11, after the deadline; the runtime cannot stop it inside
    # the stage, so it runs 0.11 s (energy 10·0.11, no idle left) and still delivers stage 1's q 0.6
    assert out.run_time[0, 2, 0] == pytest.approx(0.11)
    assert out.energy[0, 2, 0] == pytest.approx(10 * 0.11)
    assert out.accuracy[0, 2, 0] == pytest.approx(0.6) and not out.late[0, 2, 0]
    # on time: unchanged (nest@2 at 20 W: 20·0.04 + 4·0.06)
    assert out.energy[0, 2, 1] == pytest.approx(1.04)


def test_runtime_schemes_replay_without_preemption():
    from alert.evaluation import schemes, suite
    from alert.evaluation.metrics import Constraint

    assert {"ALERT_runtime", "ALERT_first_runtime"} <= schemes.stage_granular()
    assert not {"ALERT", "Oracle"} & schemes.stage_granular()
    # big is always late; nest's stage 2 always ends after the 0.1 s deadline: it runs to its end
    lat = np.repeat(np.array([[[0.5, 0.5], [0.05, 0.02], [0.3, 0.15]]]), 3, axis=0)
    c = Constraint("min-error", 0.1, power_budget=20.0)
    tl = suite.timeline(tiny_trace(lat), c, "ALERT_runtime")
    out = outcomes(tiny_trace(lat), 0.1, preempt=False)
    n = np.arange(3)
    np.testing.assert_allclose(tl.energy, out.energy[n, tl.candidate, tl.setting])
    # the last input runs nest@2 at 20 W: stage 2 runs to 0.15 s, 20 W x 0.15 s = 3 J (2 J if pre-empted)
    assert (tl.candidate[2], tl.setting[2]) == (2, 1) and tl.energy[2] == pytest.approx(3.0)
    assert outcomes(tiny_trace(lat), 0.1).energy[2, 2, 1] == pytest.approx(2.0)


def test_anytime_stopped_at_deadline_delivers_last_finished_stage():
    out = outcomes(tiny_trace(LAT), deadline=0.1)
    # nest@2 at 10 W: stage 1 at 0.05 done, stage 2 at 0.11 not → q 0.6; runs min(0.11, 0.1) = 0.1
    assert out.accuracy[0, 2, 0] == pytest.approx(0.6)
    assert out.run_time[0, 2, 0] == pytest.approx(0.1)
    assert out.energy[0, 2, 0] == pytest.approx(10 * 0.1)
    assert not out.late[0, 2, 0]
    assert out.observed[0, 2, 0] == pytest.approx(0.05)
    assert out.observed_cand[0, 2, 0] == 1
    # nest@2 at 20 W: both stages done → q 0.8; energy 20·0.04 + 4·0.06 = 1.04
    assert out.accuracy[0, 2, 1] == pytest.approx(0.8)
    assert out.energy[0, 2, 1] == pytest.approx(1.04)
    # nest@1 at 10 W: stopped after stage 1 (0.05) → q 0.6; energy 10·0.05 + 2·0.05 = 0.6
    assert out.accuracy[0, 1, 0] == pytest.approx(0.6)
    assert out.energy[0, 1, 0] == pytest.approx(0.6)


def test_anytime_with_no_stage_by_deadline_is_late_and_q_fail():
    out = outcomes(tiny_trace(LAT), deadline=0.03)
    # nest@2 at 10 W: stage 1 ends 0.05 > 0.03 → q_fail, late, ran the whole period
    assert out.accuracy[0, 2, 0] == pytest.approx(0.1)
    assert out.late[0, 2, 0]
    assert out.energy[0, 2, 0] == pytest.approx(10 * 0.03)
    assert out.observed_cand[0, 2, 0] == -1
    assert np.isnan(out.observed[0, 2, 0])


def test_deliver_gathers_per_input_choices():
    lat = np.concatenate([LAT, LAT * 2])
    out = outcomes(tiny_trace(lat), deadline=0.1)
    d = deliver(out, np.array([0, 2]), np.array([1, 1]))
    np.testing.assert_allclose(d.accuracy, [0.9, 0.8])   # input 2: nest@2 at 20 W ends 0.08
    np.testing.assert_allclose(d.run_time, [0.05, 0.08])
    np.testing.assert_array_equal(d.late, [False, False])
