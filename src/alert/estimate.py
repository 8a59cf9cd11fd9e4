"""Vectorised estimates for every configuration (paper §3.4, §3.5): Eq. 6, 7, 9, 12 and 13.

All functions work on the profile's candidate × setting tables at once; there is no Python loop
over configurations. What the latency of each configuration is now comes from an estimator
(``alert.estimators``): the paper's is ξ·t_prof[i, j] with ξ ~ N(μ, σ²).

These are the expected form of the rule in ``alert.outcome`` (what an input delivers, used by the
live runtime and every replay): Eq. 7 / Eq. 13 is the expectation of its delivered accuracy (the
indicator "stage m finished by the deadline" replaced by its probability) and Eq. 9
(``period_energy``, an anytime model stopped at the deadline) is its period energy at the expected
(or, with Pr_th, the quantile) latency. With a latency known exactly (``mean_only`` and no
spread) the estimates equal ``alert.outcome.table`` (tests/test_outcome.py).
"""

from __future__ import annotations

import math

import numpy as np

from alert.estimators import Estimator
from alert.profile import Profile


class Estimates:
    """Per-configuration estimates, each an array of shape (candidates, settings).

    ``latency``: expected latency (μ·t_prof) of the candidate's last stage; ``pr``: Eq. 6, the
    probability that it meets the deadline; ``accuracy``: Eq. 7 / Eq. 13, the expected delivered
    accuracy q̂; ``energy``: Eq. 9 (Eq. 12 with Pr_th), the energy of one input period;
    ``deadline``; ``mean``: μ, the estimator's mean global slowdown when the estimates were made.

    Built by :func:`estimate`, ``pr`` and ``accuracy`` are computed on first use: a goal whose
    constraints only ask whether Pr reaches a threshold (``pr_at_least``) is answered by
    ``Estimator.within``, without Pr over every cell (the decision path's costliest step), and
    ``at`` gives one configuration's Pr and q̂ alone. The values are those of the full tables.
    """

    __slots__ = ("latency", "energy", "deadline", "mean", "_pr", "_acc", "_profile", "_estimator", "_mean_only",
                 "_within", "_idle")

    def __init__(self, latency: np.ndarray, pr: np.ndarray | None, accuracy: np.ndarray | None,
                 energy: np.ndarray, deadline: float, mean: float, *, profile: Profile | None = None,
                 estimator: Estimator | None = None, mean_only: bool = False,
                 idle_power: np.ndarray | None = None) -> None:
        if (pr is None or accuracy is None) and (profile is None or estimator is None):
            raise ValueError("Estimates: give pr and accuracy, or the profile and estimator to compute them")
        self.latency, self.energy, self.deadline, self.mean = latency, energy, deadline, mean
        self._pr, self._acc = pr, accuracy
        self._profile, self._estimator, self._mean_only = profile, estimator, mean_only
        self._within: tuple[float, np.ndarray] | None = None  # the last pr_at_least answer
        self._idle = idle_power  # the DNN-idle power table the energy was computed with

    @property
    def pr(self) -> np.ndarray:
        """Eq. 6 for every configuration (with ``mean_only``, ALERT*: 1 when μ·t ≤ T, else 0)."""
        if self._pr is None:
            assert self._profile is not None and self._estimator is not None
            t = self._profile.t_prof
            if not math.isfinite(self.deadline):
                self._pr = np.ones_like(self.latency)
            elif self._mean_only:
                self._pr = (self.latency <= self.deadline).astype(float)
            else:
                self._pr = self._estimator.prob_within(self.deadline, t)
        return self._pr

    @property
    def accuracy(self) -> np.ndarray:
        """Eq. 7 / Eq. 13 for every configuration (``expected_accuracy``)."""
        if self._acc is None:
            assert self._profile is not None
            self._acc = expected_accuracy(self._profile, self.pr)
        return self._acc

    def accuracy_at_least(self, goal: float) -> np.ndarray:
        """Boolean table: q̂ ≥ ``goal`` (Eq. 7 / Eq. 13), the paper's accuracy constraint.

        Equal to ``accuracy >= goal`` (tests/test_estimate.py compares them cell for cell). Without
        the Pr table, a one-stage row meets it where Pr ≥ (goal − q_fail)/dq (``Profile.pr_needed``),
        which ``Estimator.within`` answers with one comparison per cell; only the rows of anytime
        models, and the rows whose goal lies at their accuracy or at q_fail (where Pr rounds to
        exactly 1 or 0 over whole stretches of settings), get Pr and Eq. 7 / Eq. 13 themselves.
        """
        prof, estimator = self._profile, self._estimator
        if (self._pr is not None or prof is None or estimator is None or self._mean_only
                or not math.isfinite(self.deadline)):
            return self.accuracy >= goal
        need = prof.pr_needed(goal)
        if need is None:
            return self.accuracy >= goal
        ok = estimator.within(self.deadline, need[0], prof.t_prof)
        # from Pr, as expected_accuracy adds it: the rows of multi-stage anytime models (Eq. 13) and
        # the one-stage rows whose goal lies at their accuracy or at q_fail (a one-row block)
        for a, b in need[1] + prof.anytime_blocks:
            gains = prof.dq[a:b, None] * estimator.prob_within_at(self.deadline, prof.t_prof, range(a, b), slice(None))
            np.add.accumulate(gains, axis=0, out=gains)
            gains += prof.q_fail
            np.greater_equal(gains, goal, out=ok[a:b])
        return ok

    def pr_at_least(self, threshold: float) -> np.ndarray:
        """Boolean table: Pr ≥ ``threshold`` (a probability in (0, 1)), the chance constraint."""
        if self._pr is not None or self._estimator is None or self._profile is None:
            return self.pr >= threshold
        if not math.isfinite(self.deadline):
            return np.ones(self.latency.shape, dtype=bool)
        if self._mean_only:  # Pr is 0 or 1
            return self.latency <= self.deadline
        if self._within is None or self._within[0] != threshold:  # latency and accuracy ask alike
            self._within = (threshold, self._estimator.within(self.deadline, threshold, self._profile.t_prof))
        return self._within[1]

    def budget_pr(self, budget: float) -> tuple[np.ndarray, np.ndarray]:
        """(t_E, pr) for an energy budget per input period: ``t_E``, the latency up to which each
        configuration's period keeps the budget (``budget_time``; 0 where it cannot), and ``pr``,
        the probability that the candidate's last stage is on time *and* its period keeps the
        budget, Pr[latency ≤ min(T, t_E)] (a period's energy grows with the latency, so the two
        misses are one event). Where these estimates were built from tables alone (no
        estimator), only the planned energy is known: t_E is ∞ where it fits the budget and 0
        elsewhere, and ``pr`` is Pr where it fits."""
        prof, estimator = self._profile, self._estimator
        if prof is None or estimator is None or self._idle is None:
            fits = self.energy <= budget
            return np.where(fits, math.inf, 0.0), np.where(fits, self.pr, 0.0)
        t_e = budget_time(prof, self._idle, self.deadline, budget)
        by = np.minimum(t_e, self.deadline)
        if self._mean_only:
            return t_e, (self.latency <= by).astype(float)
        return t_e, estimator.prob_within_each(by, prof.t_prof)

    def at(self, candidate: int, setting: int) -> tuple[float, float]:
        """(Pr, q̂) of one configuration, equal to ``pr[c, j]`` and ``accuracy[c, j]``, computed for
        it alone (the stages of its model up to its own) when the tables are not built."""
        if self._acc is not None:
            return float(self.pr[candidate, setting]), float(self._acc[candidate, setting])
        prof = self._profile
        assert prof is not None and self._estimator is not None
        rows = prof.rows_through(candidate)
        if self._pr is not None:
            pr = self._pr[rows.start:rows.stop, setting]
        elif not math.isfinite(self.deadline):
            pr = np.ones(len(rows))
        elif self._mean_only:
            pr = (self.latency[rows.start:rows.stop, setting] <= self.deadline).astype(float)
        else:
            pr = self._estimator.prob_within_at(self.deadline, prof.t_prof, rows, setting)
        acc = 0.0  # Eq. 13's running sum in the order expected_accuracy adds it
        for dq, p in zip(prof.dq[rows.start:rows.stop].tolist(), pr.tolist(), strict=True):
            acc += dq * p
        return float(pr[-1]), acc + prof.q_fail


def expected_accuracy(profile: Profile, pr: np.ndarray) -> np.ndarray:
    """Eq. 7 and Eq. 13 for every candidate at once: the expectation of ``alert.outcome``'s
    delivered accuracy.

    With F_m the probability that stage m has finished by the deadline, Eq. 13 telescopes to
    q̂ = q_fail + Σ_{m≤k} (q_m − q_{m−1})·F_m with q_0 = q_fail; a traditional model is the
    one-stage case, q̂ = Pr·q + (1 − Pr)·q_fail (Eq. 7).
    """
    gains = profile.dq[:, None] * pr
    for a, b in profile.anytime_blocks:  # one running sum per anytime model, over all settings
        np.add.accumulate(gains[a:b], axis=0, out=gains[a:b])
    gains += profile.q_fail
    return gains


def period_energy(profile: Profile, latency: np.ndarray, idle_power: np.ndarray, deadline: float) -> np.ndarray:
    """Eq. 9: e = p·t + p_idle·max(0, T − t) for one input period of length T, where ``latency``
    is the time each configuration would take (e.g. ξ·t_prof) and the paper's DNN-idle power is
    p_idle = φ·p (``idle_power`` broadcasts to candidates × settings).

    This is ``alert.outcome.period_energy`` (rule 3) with ``alert.outcome.run_time``'s pre-emption,
    computed in place on the decision path: an anytime model is stopped at the deadline, so it
    runs t = min(latency, T) (where the latency passes T the idle term is 0 either way, so only the
    run term of the anytime rows needs the cap). The clamp follows docs/controller.md ("Energy of a
    period": a late configuration earns no negative idle energy). With no deadline
    (MinimizeLatency) the period is the inference itself, run to its end: e = p·t.
    """
    run = profile.power * latency
    if not math.isfinite(deadline):
        return run
    for a, b in profile.anytime_spans:  # stopped at the deadline
        np.multiply(profile.power[a:b], np.minimum(latency[a:b], deadline), out=run[a:b])
    idle = np.subtract(deadline, latency)
    np.maximum(idle, 0.0, out=idle)
    idle *= idle_power
    idle += run
    return idle


def budget_time(profile: Profile, idle_power: np.ndarray, deadline: float, budget: float) -> np.ndarray:
    """The inverse of ``period_energy`` for an energy budget: per configuration, the latency t_E
    up to which its period keeps ``budget`` (every latency up to t_E gives e ≤ E; 0 when even an
    instant answer does not, p_idle·T > E; ∞ when no latency breaks it).

    On the period, e(t) = p_idle·T + (p − p_idle)·t until the deadline T, so t_E = (E − p_idle·T) /
    (p − p_idle) where that falls before T; past T the idle term is gone and e = p·t, so t_E = E/p
    (an anytime model, stopped at T, spends p·T at most: ∞). With no deadline, e = p·t throughout."""
    p = profile.power
    with np.errstate(divide="ignore", invalid="ignore"):
        past = np.divide(budget, p)  # past the deadline (or without one): e = p·t
        if not math.isfinite(deadline):
            return np.where(past >= 0, past, 0.0)
        for a, b in profile.anytime_spans:  # stopped at the deadline
            past[a:b] = math.inf
        pi = np.broadcast_to(idle_power, p.shape)
        before = (budget - pi * deadline) / (p - pi)  # where the period's energy reaches E before T
        t_e = np.where(p * deadline <= budget, np.maximum(past, deadline), np.where(p > pi, before, 0.0))
        t_e = np.where(pi * deadline <= budget, t_e, 0.0)
    return np.maximum(np.nan_to_num(t_e, nan=0.0, posinf=math.inf), 0.0)


def idle_reference(profile: Profile, idle_model: str) -> np.ndarray:
    """What φ multiplies to give the DNN-idle power of every configuration.

    ``"ratio"`` (the paper, Eq. 8-9): the configuration's inference power p[i, j].
    ``"setting"`` (an option): the profiled idle power of setting j, for machines whose idle power
    does not scale with the setting (φ then tracks measured idle / profiled idle, starting at 1).
    ``"headroom"`` (an option): the headroom p[i, j] − idle_power[j] between the profiled idle and
    inference powers; φ (starting at 0) is the share of it that other work fills while the DNN
    waits, added to the profiled idle power (``idle_power_table``).
    """
    if idle_model == "ratio":
        return profile.power
    if idle_model == "setting":
        return profile.idle_power[None, :]
    if idle_model == "headroom":
        return profile.idle_headroom
    raise ValueError(f"idle_model must be 'ratio', 'setting' or 'headroom', got {idle_model!r}")


def idle_power_table(profile: Profile, idle_model: str, phi: float) -> np.ndarray:
    """The DNN-idle power of every configuration: φ·``idle_reference``, plus the profiled idle power
    of the setting with ``"headroom"``."""
    table = phi * idle_reference(profile, idle_model)
    if idle_model == "headroom":
        table += profile.idle_power[None, :]
    return table


def estimate(profile: Profile, estimator: Estimator, phi: float, deadline: float,
             pr_th: float | None = None, mean_only: bool = False, idle_model: str = "ratio") -> Estimates:
    """All estimates of §3.4 for every configuration.

    Pr comes from ``estimator.prob_within`` (Eq. 6; with ``mean_only``, ALERT*, Pr is 1 when the
    expected latency meets the deadline and 0 otherwise). Energy uses the expected latency (Eq. 9)
    or, with ``pr_th``, its Pr_th quantile (Eq. 12; ALERT* has no spread and keeps the
    expectation). Idle power is ``idle_power_table(profile, idle_model, phi)``.
    """
    latency = estimator.expected(profile.t_prof)
    t_run = estimator.quantile(pr_th, profile.t_prof) if pr_th is not None and not mean_only else latency
    idle = idle_power_table(profile, idle_model, phi)
    energy = period_energy(profile, t_run, idle, deadline)
    return Estimates(latency, None, None, energy, deadline, estimator.mean, profile=profile,
                     estimator=estimator, mean_only=mean_only, idle_power=idle)
