"""Latency estimators: what each configuration's latency distribution is now (paper §3.4).

An estimator learns, from the latencies the controller observes, how the running machine differs
from the offline profile, and answers three vectorised questions about every configuration at
once (``t_prof`` is the profile's candidates × settings table of profiled latencies):

* ``prob_within(deadline, t_prof)``: Pr[latency ≤ deadline] (Eq. 6; Eq. 13 telescopes over it);
* ``quantile(p, t_prof)``: the p-quantile of the latency (Eq. 12);
* ``expected(t_prof)``: the expected latency;
* optionally, shortcuts with the same answers: ``within(deadline, p, t_prof)`` (Pr ≥ p per cell)
  and ``prob_within_at(deadline, t_prof, rows, col)`` (Pr of a few cells), and
  ``prob_within_each(deadlines, t_prof)`` (a deadline per cell; the default asks
  ``prob_within`` once per distinct deadline).

The controller calls ``bind(t_prof)`` once with the full table, then ``update(observed,
profiled, config)`` after every input, where ``config`` is the (row, setting) that ran. An
estimator that keeps per-configuration state uses ``config``; a global one ignores it.

Register a new estimator with ``@register("name")``; ``make_estimator(name, **params)`` builds
one, and ``ControllerConfig(estimator="name", estimator_params={...})`` selects it. The
conformance suite (``tests/test_estimator_conformance.py``) runs every registered estimator
through the same contract.
"""

from alert.estimators.base import ESTIMATORS, Estimator, make_estimator, register
from alert.estimators.paper import PaperKalman
from alert.estimators.robust import RobustEstimator

__all__ = ["ESTIMATORS", "Estimator", "PaperKalman", "RobustEstimator", "make_estimator", "register"]
