"""Sentence-wide deadlines: the sharing rules of Controller.begin_sequence, by hand."""

from __future__ import annotations

import pytest

from alert import Controller, ControllerConfig, MaximizeAccuracy, Profile
from profile_factory import make_profile_dict

FIXED = ControllerConfig(estimator="paper", overhead=0.0)


@pytest.fixture
def ctl():
    # fastest configuration: 'any' stage 1 at 20 W, t_prof = 0.01 s
    return Controller(Profile.from_dict(make_profile_dict()), MaximizeAccuracy(deadline=1.0), FIXED)


def test_even_rule_divides_what_remains_over_words_left(ctl):
    ctl.begin_sequence(0.6, length=3, rule="even")
    assert ctl.input_deadline() == pytest.approx(0.2)
    ctl.decide()
    ctl.observe(0.3)                                   # slow word: 0.3 left for 2 words
    assert ctl.input_deadline() == pytest.approx(0.15)
    ctl.decide()
    ctl.observe(0.05)
    assert ctl.input_deadline() == pytest.approx(0.25)  # the last word gets all that remains


def test_greedy_rule_gives_everything_that_remains(ctl):
    ctl.begin_sequence(0.6, length=3, rule="greedy")
    assert ctl.input_deadline() == pytest.approx(0.6)
    ctl.decide()
    ctl.observe(0.25)
    assert ctl.input_deadline() == pytest.approx(0.35)


def test_reserve_rule_keeps_the_fastest_configuration_for_words_left(ctl):
    ctl.begin_sequence(0.6, length=3, rule="reserve")
    # mu = 1, fastest t_prof = 0.01: 0.6 - 2 * 0.01
    assert ctl.input_deadline() == pytest.approx(0.58)
    ctl.decide()
    ctl.observe(0.5)
    # 0.1 left, 2 words: max(0.1 - 0.01 * mu, 0.05); mu moved towards xi of the word just observed
    mu = ctl.estimator.mean
    assert ctl.input_deadline() == pytest.approx(max(0.1 - mu * 0.01, 0.05))


def test_reserve_rule_never_below_the_even_share(ctl):
    ctl.begin_sequence(0.03, length=3, rule="reserve")
    ctl.estimator.assume(5.0)                          # reserve 2 * 0.05 > 0.03 remaining
    assert ctl.input_deadline() == pytest.approx(0.01)


def test_unknown_rule_is_rejected(ctl):
    with pytest.raises(ValueError, match="'even', 'greedy' or 'reserve'"):
        ctl.begin_sequence(0.6, length=3, rule="fair")  # type: ignore[arg-type]
