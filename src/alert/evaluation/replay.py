"""Replay: the paper's per-input semantics, vectorised over inputs × candidates × settings.

For a deadline T and input n run with candidate c at setting j (t = trace latency, p = power,
p_idle = DNN-idle power):

- traditional model: finished by T → accuracy q_c, the period is T and its energy
  ``p·t + p_idle·(T − t)``; late → accuracy q_fail (no output by the deadline), the model runs to
  completion, the period is t and its energy ``p·t`` (no idle time left).
- anytime model stopped after stage k: the runtime stops it at the deadline, so it runs for
  ``min(t_k, T)`` and delivers the q of the last stage ≤ k finished by T (q_fail if none);
  energy ``p·min(t_k, T) + p_idle·(T − min(t_k, T))`` (paper §3.5, Eq. 9 with the max of NOTES.md).
- with ``preempt=False`` (a runtime that cannot stop an anytime model inside a stage, like
  ``alert.runtime.run_stages``) the chosen stage runs to its end: run time ``t_k`` even past T,
  energy ``p·t_k + p_idle·max(0, T − t_k)``; what is delivered does not change.
- a *latency miss* is an input with no output by its deadline (a late traditional model, or an
  anytime model whose first stage did not finish).

``Outcomes`` holds these tables once per (trace, deadline); a scheme's run is a gather of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alert.evaluation.traces import Trace


@dataclass(frozen=True)
class Outcomes:
    """Delivered per-input results of every configuration: arrays of shape (inputs, candidates, settings)."""

    deadline: float
    accuracy: np.ndarray     # q delivered (q_c, a finished stage's q, or q_fail)
    energy: np.ndarray       # joules over the input's period (inference + DNN-idle)
    run_time: np.ndarray     # seconds the DNN ran (min(t, T) for anytime rows, t for traditional)
    late: np.ndarray         # bool: no output by the deadline (latency miss)
    observed: np.ndarray     # latency a runtime observes: t, or for a stopped anytime model the
                             # end time of its last finished stage (NaN when none finished)
    observed_cand: np.ndarray  # candidate row whose profiled latency ``observed`` refers to (-1: none)


def outcomes(trace: Trace, deadline: float, preempt: bool = True) -> Outcomes:
    """Evaluate every configuration on every input of ``trace`` for one deadline (vectorised).
    ``preempt``: an anytime model is stopped at the deadline (True) or finishes its stage (False)."""
    prof = trace.profile
    T = float(deadline)
    lat = trace.latency
    done = lat <= T                                            # (N, C, L)
    anytime = prof.is_anytime[None, :, None]
    # Eq. 13 in hindsight: q_fail + sum of dq over finished stages up to the candidate's stage.
    acc_any = prof.q_fail + np.einsum("cr,nrl->ncl", prof.accumulate, done * prof.dq[None, :, None])
    acc_trad = np.where(done, prof.q[None, :, None], prof.q_fail)
    accuracy = np.where(anytime, acc_any, acc_trad)
    run_time = np.where(anytime, np.minimum(lat, T), lat) if preempt else lat
    idle_time = np.maximum(0.0, T - run_time)
    energy = trace.power * run_time + trace.idle_power[:, None, :] * idle_time
    # anytime: no output iff stage 1 of the model missed (group_start: stage-1 row of candidate c)
    first_row = prof.group_start                                # (C,)
    first_done = done[:, first_row, :]
    late = np.where(anytime, ~first_done, ~done)
    # last finished stage per anytime candidate: the highest row r ≤ c (same model) with done.
    n_done = np.einsum("cr,nrl->ncl", prof.accumulate, done.astype(float)).astype(np.intp)  # stages finished
    last_row = first_row[None, :, None] + n_done - 1            # valid where n_done ≥ 1
    obs_cand_any = np.where(n_done >= 1, last_row, -1)
    c_idx = np.arange(prof.shape[0])[None, :, None]
    obs_cand = np.where(anytime, obs_cand_any, np.broadcast_to(c_idx, lat.shape))
    safe = np.maximum(obs_cand, 0)
    observed = np.take_along_axis(lat, safe, axis=1)
    observed = np.where(obs_cand >= 0, observed, np.nan)
    return Outcomes(T, accuracy, energy, run_time, late, observed, obs_cand)


@dataclass(frozen=True)
class Delivered:
    """What a scheme delivered on each input (arrays of shape (inputs,))."""

    candidate: np.ndarray
    setting: np.ndarray
    accuracy: np.ndarray
    energy: np.ndarray
    run_time: np.ndarray
    late: np.ndarray


def deliver(out: Outcomes, candidate: np.ndarray, setting: np.ndarray) -> Delivered:
    """Gather the outcomes of per-input choices ``candidate[n]``, ``setting[n]``."""
    c = np.asarray(candidate, dtype=np.intp)
    j = np.asarray(setting, dtype=np.intp)
    n = np.arange(c.shape[0])
    return Delivered(c, j, out.accuracy[n, c, j], out.energy[n, c, j], out.run_time[n, c, j], out.late[n, c, j])
