"""The best fixed configuration according to the quiet profile, with no hindsight.

This is what a user would run without ALERT: read the profile, take every configuration's
profiled latency as its latency, and pick the configuration the goal prefers. It is the
``Static_profile`` scheme of the evaluation (``alert.evaluation.schemes``) and the
``--policy Static_profile`` (alias ``static-best``) of ``alert run``; both call
:func:`best_by_profile`, the one definition.

The reading of the profile, per configuration (i, j), deadline T:

- latency: t_prof[i, j] (slowdown 1, no spread): it meets the deadline iff t_prof ≤ T;
- accuracy: q_i when it meets the deadline, else q_fail (an anytime model: the q of its last
  stage that finishes by T, Eq. 13 with probabilities 0 or 1);
- energy of one period: p·t + p_idle,j·max(0, T − t) with the profiled idle power of setting j
  (an anytime model runs min(t, T));

and the goal's constraints, objective and priority fallback are those of the controller
(``alert.select``), so the choice is ``Controller.decide()`` under that reading: the paper's
estimator fixed at μ = 1 with ``mean_only`` (ALERT*'s deterministic Pr) and
``idle_model="setting"`` (φ = 1: the profiled idle power itself).
"""

from __future__ import annotations

from typing import Any

from alert.profile import Profile


def best_by_profile(profile: Profile, goal: Any, candidates: str = "all",
                    anytime_deadline: str = "stop") -> tuple[int, int]:
    """(row, setting) of ``profile`` that the quiet profile says is best for ``goal``.

    ``candidates`` restricts the choice to ``"anytime"`` or ``"traditional"`` models (as
    ``ControllerConfig.candidates``); the row returned indexes ``profile`` itself."""
    from alert.controller import Controller, ControllerConfig

    cfg = ControllerConfig(estimator="paper", mean_only=True, overhead=0.0, idle_model="setting",
                           candidates=candidates, anytime_deadline=anytime_deadline)  # type: ignore[arg-type]
    ctl = Controller(profile, goal, cfg)
    ctl.estimator.assume(1.0, 0.0)
    d = ctl.decide()
    return profile.candidate_index(d.model, d.stage), int(d.setting)
