"""Vectorised estimates for every configuration (paper §3.4, §3.5): Eq. 6, 7, 9, 12 and 13.

All functions work on the profile's candidate × setting tables at once; there is no Python loop
over configurations. Latency of configuration (i, j) is ξ·t_prof[i, j] with ξ ~ N(μ, σ²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from alert.profile import Profile


@dataclass
class Estimates:
    """Per-configuration estimates, each an array of shape (candidates, settings)."""

    latency: np.ndarray   # expected latency μ·t_prof of the candidate's last stage
    pr: np.ndarray        # Eq. 6: probability that the candidate's last stage meets the deadline
    accuracy: np.ndarray  # Eq. 7 / Eq. 13: expected delivered accuracy q̂
    energy: np.ndarray    # Eq. 9 (Eq. 12 with Pr_th): energy of one input period
    deadline: float
    mean: float           # μ, the mean slowdown the estimates used


def deadline_probability(t_prof: np.ndarray, mean: float, std: float, deadline: float,
                         mean_only: bool = False) -> np.ndarray:
    """Eq. 6: Pr[ξ·t ≤ T] = Φ((T − μ·t) / (σ·t)) for every cell of ``t_prof``.

    With ``mean_only`` (ALERT*, §5.3) the probability is 1 when μ·t ≤ T and 0 otherwise.
    """
    if not math.isfinite(deadline):
        return np.ones_like(t_prof)
    if mean_only or std <= 1e-12:
        return (mean * t_prof <= deadline).astype(float)
    z = (deadline / std) / t_prof
    z -= mean / std
    return ndtr(z, out=z)


def expected_accuracy(profile: Profile, pr: np.ndarray) -> np.ndarray:
    """Eq. 7 and Eq. 13 for every candidate at once.

    With F_m the probability that stage m has finished by the deadline, Eq. 13 telescopes to
    q̂ = q_fail + Σ_{m≤k} (q_m − q_{m−1})·F_m with q_0 = q_fail; a traditional model is the
    one-stage case, q̂ = Pr·q + (1 − Pr)·q_fail (Eq. 7).
    """
    gains = profile.dq[:, None] * pr
    for a, b in profile.anytime_blocks:  # one running sum per anytime model, over all settings
        np.cumsum(gains[a:b], axis=0, out=gains[a:b])
    gains += profile.q_fail
    return gains


def inference_time(profile: Profile, xi: float, deadline: float, latency: np.ndarray | None = None) -> np.ndarray:
    """Time spent inferring: ξ·t_prof, except that an anytime model is stopped at the deadline.

    ``latency`` may pass ξ·t_prof when the caller has it already."""
    t = xi * profile.t_prof if latency is None else latency
    if profile.has_anytime and math.isfinite(deadline):
        t = np.minimum(t, np.where(profile.is_anytime, deadline, np.inf)[:, None])
    return t


def period_energy(profile: Profile, t_run: np.ndarray, idle_power: np.ndarray, deadline: float) -> np.ndarray:
    """Eq. 9: e = p·t + p_idle·max(0, T − t) for one input period of length T, where the paper's
    DNN-idle power is p_idle = φ·p (``idle_power`` broadcasts to candidates × settings).

    The clamp follows NOTES.md (a late configuration earns no negative idle energy). With no
    deadline (MinimizeLatency) the period is the inference itself: e = p·t.
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


def estimate(profile: Profile, mean: float, std: float, phi: float, deadline: float,
             pr_th: float | None = None, mean_only: bool = False, idle_model: str = "ratio") -> Estimates:
    """All estimates of §3.4 for every configuration.

    Energy uses the mean slowdown (Eq. 9) or, with ``pr_th``, its Pr_th quantile μ + σ·Φ⁻¹(Pr_th)
    (Eq. 12; ALERT* has no variance and keeps the mean). Idle power is φ times
    ``idle_reference(profile, idle_model)``.
    """
    latency = mean * profile.t_prof
    pr = deadline_probability(profile.t_prof, mean, std, deadline, mean_only)
    acc = expected_accuracy(profile, pr)
    if pr_th is not None and not mean_only:
        xi_e = max(0.0, mean + std * float(ndtri(pr_th)))
        t_run = inference_time(profile, xi_e, deadline)
    else:
        t_run = inference_time(profile, mean, deadline, latency)
    energy = period_energy(profile, t_run, phi * idle_reference(profile, idle_model), deadline)
    return Estimates(latency, pr, acc, energy, deadline, mean)
