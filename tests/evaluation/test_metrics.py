"""The violation rule, normalisation, harmonic means and grids."""

import numpy as np
import pytest

from alert.evaluation import metrics
from alert.evaluation.metrics import Constraint, SettingResult
from alert.evaluation.replay import Delivered


def _delivered(acc, energy, late):
    n = len(acc)
    z = np.zeros(n, dtype=np.intp)
    return Delivered(z, z, np.asarray(acc, float), np.asarray(energy, float), np.zeros(n), np.asarray(late, bool))


def test_violation_rule_is_more_than_ten_percent():
    c = Constraint("min-energy", 0.1, accuracy=0.8)
    ten = _delivered([0.7] + [0.9] * 9, [1.0] * 10, [False] * 10)       # exactly 10 % miss
    r = metrics.evaluate(ten, c)
    assert r.miss_rate == pytest.approx(0.1) and not r.violated
    eleven = _delivered([0.7] * 2 + [0.9] * 8, [1.0] * 10, [False] * 10)  # 20 % miss
    assert metrics.evaluate(eleven, c).violated


def test_misses_count_each_constraint():
    c = Constraint("min-error", 0.1, power_budget=10.0)                 # E_goal = 1 J
    d = _delivered([0.9, 0.9, 0.9], [0.5, 1.5, 0.9], [False, False, True])
    np.testing.assert_array_equal(metrics.misses(d, c), [False, True, True])
    assert metrics.objective(c, d.accuracy, d.energy) == pytest.approx(0.1)


def test_summarise_normalises_and_excludes_violated_settings():
    base = [SettingResult(2.0, 0.0, False), SettingResult(4.0, 0.0, False), SettingResult(1.0, 0.5, True)]
    sch = [SettingResult(1.0, 0.0, False), SettingResult(4.0, 0.3, True), SettingResult(0.5, 0.0, False)]
    s = metrics.summarise(sch, base)
    assert s.normalized == pytest.approx(0.5)     # only setting 0 is usable: 1/2
    assert s.violated == 1                        # setting 1; setting 2 is the baseline's own violation
    assert s.baseline_violated == 1
    assert s.settings == 3
    assert np.isnan(s.per_setting[1]) and np.isnan(s.per_setting[2])
    assert s.raw[1] == pytest.approx(1.0)


def test_harmonic_mean():
    assert metrics.harmonic_mean([1.0, 0.5]) == pytest.approx(2 / 3)
    assert metrics.harmonic_mean([float("nan"), 2.0]) == pytest.approx(2.0)
    assert np.isnan(metrics.harmonic_mean([]))


def test_grid_spans_table_3(profile):
    g = metrics.grid(profile, "min-energy", n_deadlines=5, n_goals=4)
    assert len(g) == 20
    ref = metrics.reference_latency(profile)          # nest@2 at 20 W
    assert ref == pytest.approx(0.04)
    ds = sorted({c.deadline for c in g})
    assert ds[0] == pytest.approx(0.4 * ref) and ds[-1] == pytest.approx(2.0 * ref)
    accs = sorted({c.accuracy for c in g})
    assert accs[0] == pytest.approx(0.6) and accs[-1] == pytest.approx(0.9)
    e = metrics.grid(profile, "min-error", 2, 3)
    assert all(c.power_budget is not None for c in e) and len(e) == 6


def test_constraint_rejects_missing_goal():
    with pytest.raises(ValueError, match="accuracy goal"):
        Constraint("min-energy", 0.1)
    with pytest.raises(ValueError, match="deadline"):
        Constraint("min-error", -1.0, power_budget=3.0)
