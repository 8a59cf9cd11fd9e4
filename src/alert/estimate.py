"""Vectorised estimates for every configuration (paper §3.4, §3.5): Eq. 6, 7, 9, 12 and 13.

All functions work on the profile's candidate × setting tables at once; there is no Python loop
over configurations. What the latency of each configuration is now comes from an estimator
(``alert.estimators``): the paper's is ξ·t_prof[i, j] with ξ ~ N(μ, σ²).

These are the expected form of the rule in ``alert.outcome`` (what an input delivers, used by the
live runtime and every replay): Eq. 7 / Eq. 13 is the expectation of its delivered accuracy (the
indicator "stage m finished by the deadline" replaced by its probability), ``inference_time`` is
its run time of a model stopped at the deadline, and Eq. 9 (``period_energy``) is its period
energy at the expected (or, with Pr_th, the quantile) latency. With a latency known exactly
(``mean_only`` and no spread) the estimates equal ``alert.outcome.table`` (tests/test_outcome.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from alert.estimators import Estimator
from alert.profile import Profile


@dataclass
class Estimates:
    """Per-configuration estimates, each an array of shape (candidates, settings)."""

    latency: np.ndarray   # expected latency (μ·t_prof) of the candidate's last stage
    pr: np.ndarray        # Eq. 6: probability that the candidate's last stage meets the deadline
    accuracy: np.ndarray  # Eq. 7 / Eq. 13: expected delivered accuracy q̂
    energy: np.ndarray    # Eq. 9 (Eq. 12 with Pr_th): energy of one input period
    deadline: float
    mean: float           # μ, the estimator's mean global slowdown when the estimates were made


def expected_accuracy(profile: Profile, pr: np.ndarray) -> np.ndarray:
    """Eq. 7 and Eq. 13 for every candidate at once: the expectation of ``alert.outcome``'s
    delivered accuracy.

    With F_m the probability that stage m has finished by the deadline, Eq. 13 telescopes to
    q̂ = q_fail + Σ_{m≤k} (q_m − q_{m−1})·F_m with q_0 = q_fail; a traditional model is the
    one-stage case, q̂ = Pr·q + (1 − Pr)·q_fail (Eq. 7).
    """
    gains = profile.dq[:, None] * pr
    for a, b in profile.anytime_blocks:  # one running sum per anytime model, over all settings
        np.cumsum(gains[a:b], axis=0, out=gains[a:b])
    gains += profile.q_fail
    return gains


def inference_time(profile: Profile, latency: np.ndarray, deadline: float) -> np.ndarray:
    """Time spent inferring: ``latency`` (e.g. ξ·t_prof), except that an anytime model is stopped
    at the deadline (``alert.outcome.run_time`` with pre-emption)."""
    t = latency
    if profile.has_anytime and math.isfinite(deadline):
        t = np.minimum(t, np.where(profile.is_anytime, deadline, np.inf)[:, None])
    return t


def period_energy(profile: Profile, t_run: np.ndarray, idle_power: np.ndarray, deadline: float) -> np.ndarray:
    """Eq. 9: e = p·t + p_idle·max(0, T − t) for one input period of length T, where the paper's
    DNN-idle power is p_idle = φ·p (``idle_power`` broadcasts to candidates × settings).

    This is ``alert.outcome.period_energy`` (rule 3), computed in place on the decision path. The
    clamp follows docs/controller.md ("Energy of a period": a late configuration earns no negative
    idle energy). With no deadline (MinimizeLatency) the period is the inference itself: e = p·t.
    """
    run = profile.power * t_run
    if not math.isfinite(deadline):
        return run
    idle = np.subtract(deadline, t_run)
    np.maximum(idle, 0.0, out=idle)
    idle *= idle_power
    idle += run
    return idle


def idle_reference(profile: Profile, idle_model: str) -> np.ndarray:
    """What φ multiplies to give the DNN-idle power of every configuration.

    ``"ratio"`` (the paper, Eq. 8-9): the configuration's inference power p[i, j].
    ``"setting"`` (an option): the profiled idle power of setting j, for machines whose idle power
    does not scale with the setting (φ then tracks measured idle / profiled idle, starting at 1).
    """
    if idle_model == "ratio":
        return profile.power
    if idle_model == "setting":
        return profile.idle_power[None, :]
    raise ValueError(f"idle_model must be 'ratio' or 'setting', got {idle_model!r}")


def estimate(profile: Profile, estimator: Estimator, phi: float, deadline: float,
             pr_th: float | None = None, mean_only: bool = False, idle_model: str = "ratio") -> Estimates:
    """All estimates of §3.4 for every configuration.

    Pr comes from ``estimator.prob_within`` (Eq. 6; with ``mean_only``, ALERT*, Pr is 1 when the
    expected latency meets the deadline and 0 otherwise). Energy uses the expected latency (Eq. 9)
    or, with ``pr_th``, its Pr_th quantile (Eq. 12; ALERT* has no spread and keeps the
    expectation). Idle power is φ times ``idle_reference(profile, idle_model)``.
    """
    latency = estimator.expected(profile.t_prof)
    if not math.isfinite(deadline):
        pr = np.ones_like(latency)
    elif mean_only:
        pr = (latency <= deadline).astype(float)
    else:
        pr = estimator.prob_within(deadline, profile.t_prof)
    acc = expected_accuracy(profile, pr)
    if pr_th is not None and not mean_only:
        t_run = inference_time(profile, estimator.quantile(pr_th, profile.t_prof), deadline)
    else:
        t_run = inference_time(profile, latency, deadline)
    energy = period_energy(profile, t_run, phi * idle_reference(profile, idle_model), deadline)
    return Estimates(latency, pr, acc, energy, deadline, estimator.mean)
