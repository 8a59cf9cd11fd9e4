"""Eq. 5 and Eq. 8 against values computed by hand / by an independent transcription of the paper."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alert import IdlePowerFilter, SlowdownFilter

OBS = [1.2, 1.0, 2.0, 1.9, 0.8, 1.1, 1.05, 3.0, 1.0, 0.95]


def paper_eq5(observations, mu=1.0, var=0.1, k=0.5, q0=0.1, r=0.001, alpha=0.3):
    """Eq. 5 written out with the paper's superscripts (n-1 -> n), independent of the library."""
    q_prev, y_prev = q0, 0.0
    out = []
    for xi in observations:
        q_n = max(q0, alpha * q_prev + (1 - alpha) * (k * y_prev) ** 2)
        k_n = ((1 - k) * var + q_n) / ((1 - k) * var + q_n + r)
        y_n = xi - mu
        mu_n = mu + k_n * y_n
        var_n = (1 - k) * var + q_n
        out.append((mu_n, var_n))
        mu, var, k, q_prev, y_prev = mu_n, var_n, k_n, q_n, y_n
    return out


def test_defaults_are_the_papers():
    f = SlowdownFilter()
    assert (f.mean, f.variance, f.gain, f.q0, f.r, f.alpha) == (1.0, 0.1, 0.5, 0.1, 0.001, 0.3)


def test_first_two_steps_by_hand():
    f = SlowdownFilter()
    # step 1, xi = 1.2: y = 0.2, Q = max(0.1, 0.03) = 0.1, P = 0.5*0.1 + 0.1 = 0.15,
    # K = 0.15/0.151, mu = 1 + K*0.2
    f.update(1.2)
    assert f.variance == pytest.approx(0.15, abs=1e-12)
    assert f.gain == pytest.approx(0.15 / 0.151, abs=1e-12)
    assert f.mean == pytest.approx(1.0 + 0.2 * 0.15 / 0.151, abs=1e-12)  # 1.198675...
    # step 2, xi = 1.0: y = -0.198675, Q = max(0.1, 0.03 + 0.7*(0.993377*0.2)^2 = 0.0576) = 0.1
    # P = (1 - 0.993377)*0.15 + 0.1 = 0.100993, K = P/(P + 0.001) = 0.990195, mu = 1.001948
    f.update(1.0)
    assert f.variance == pytest.approx(0.100993, abs=1e-6)
    assert f.gain == pytest.approx(0.990195, abs=1e-6)
    assert f.mean == pytest.approx(1.001948, abs=1e-6)


def test_ten_observations_match_paper_transcription():
    f = SlowdownFilter()
    expected = paper_eq5(OBS)
    for xi, (mu, var) in zip(OBS, expected, strict=True):
        f.update(xi)
        assert f.mean == pytest.approx(mu, rel=1e-12)
        assert f.variance == pytest.approx(var, rel=1e-12)
    # the jump to 2.0 (third input) raises the process noise two inputs later: sigma^2 >> Q0
    assert max(v for _, v in expected) > 0.5


def test_variance_never_below_q0_and_volatility_raises_it():
    calm, noisy = SlowdownFilter(), SlowdownFilter()
    for i in range(50):
        calm.update(1.0)
        noisy.update(1.0 if i % 2 else 1.8)
    # fixed point of sigma^2 = (1 - K) sigma^2 + Q0 with K = sigma^2 / (sigma^2 + R): sigma^2 = Q0 / K
    assert calm.variance == pytest.approx(0.1 / calm.gain, rel=1e-6)
    assert calm.variance >= 0.1
    assert noisy.variance > 2 * calm.variance


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 0.0, -1.0, "x", None])
def test_bad_observations_are_rejected(bad):
    f = SlowdownFilter()
    f.update(1.3)
    before = f.state()
    f.update(bad)
    assert f.state() == before
    assert f.guard.rejected == 1


def test_huge_observation_is_clamped_and_recovers():
    f = SlowdownFilter()
    f.update(1000.0)
    assert f.guard.clamped == 1
    assert f.mean <= 50.0
    for _ in range(10):
        f.update(1.0)
    assert f.mean == pytest.approx(1.0, abs=0.05)


@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(1e300), st.just(-0.0)),
                max_size=40))
def test_state_always_finite(xs):
    f = SlowdownFilter()
    for x in xs:
        f.update(x)
        assert math.isfinite(f.mean) and f.mean > 0
        assert math.isfinite(f.variance) and f.variance >= f.q0


def test_idle_filter_eq8_by_hand():
    f = IdlePowerFilter(phi=0.2)
    # W = (0.01 + 0.0001) / (0.01 + 0.0001 + 0.001) = 0.0101/0.0111
    w = 0.0101 / 0.0111
    f.update(idle_power=5.0, last_power=10.0)
    assert f.phi == pytest.approx(0.2 + w * (0.5 - 0.2), rel=1e-12)
    assert f.m == pytest.approx((1 - w) * 0.0101, rel=1e-12)


@pytest.mark.parametrize("bad", [math.nan, -3.0, math.inf])
def test_idle_filter_rejects_bad(bad):
    f = IdlePowerFilter(phi=0.2)
    f.update(bad, 10.0)
    assert f.phi == 0.2 and f.n == 0


def test_idle_filter_accepts_zero_idle_power():
    f = IdlePowerFilter(phi=0.2)
    f.update(0.0, 10.0)
    assert f.phi < 0.2 and f.n == 1
