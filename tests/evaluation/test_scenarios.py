"""Scenario generators: determinism, calibrated spread, non-uniform contention."""

import numpy as np
import pytest

from alert.evaluation import scenarios


def test_deterministic_and_seeded():
    a = scenarios.generate("cpu1", "image", "memory", "paper", 50, seed=1)
    b = scenarios.generate("cpu1", "image", "memory", "paper", 50, seed=1)
    c = scenarios.generate("cpu1", "image", "memory", "paper", 50, seed=2)
    np.testing.assert_array_equal(a.latency, b.latency)
    assert not np.array_equal(a.latency, c.latency)


def test_every_cell_generates_valid_traces():
    for p, t in scenarios.cells():
        for w in scenarios.WORKLOADS:
            tr = scenarios.generate(p, t, w, "paper", 20)
            assert tr.shape[1:] == tr.profile.shape
    assert ("gpu", "nlp") not in scenarios.cells()


@pytest.mark.parametrize("platform", ["cpu1", "cpu2"])
def test_spread_calibration(platform):
    quiet = scenarios.spread(scenarios.generate(platform, "image", "default", "paper", 600))
    assert quiet["p95_over_median"] < 1.15                       # §2.2: small spread without contention
    noisy = scenarios.spread(scenarios.generate(platform, "image", "default", "noisy", 600))
    assert 1.25 < noisy["p95_over_median"] < 1.45                 # real batch-1: about 1.35
    cont = scenarios.generate(platform, "image", "compute", "noisy", 1500)
    heavy = scenarios.spread(cont, state=1)
    assert 1.7 < heavy["p95_over_median"] < 2.3                   # about 2 under heavy CPU contention
    assert heavy["median_slowdown"] > 1.2


def test_contention_slows_configurations_by_different_amounts():
    tr = scenarios.generate("cpu1", "image", "memory", "paper", 400)
    on = tr.states() == 1
    ratio = np.median(tr.latency[on], axis=0) / np.median(tr.latency[~on], axis=0)
    assert ratio.min() > 1.1
    assert ratio.max() / ratio.min() > 1.2                       # not one global slowdown


def test_idle_power_rises_under_contention():
    tr = scenarios.generate("cpu1", "image", "compute", "paper", 300)
    on = tr.states() == 1
    assert tr.idle_power[on].mean() > 1.2 * tr.idle_power[~on].mean()


def test_bad_arguments():
    with pytest.raises(ValueError, match="workload"):
        scenarios.generate("cpu1", "image", "disk")
    with pytest.raises(ValueError, match="platform"):
        scenarios.generate("tpu", "image", "default")
