"""Replay: the paper's per-input semantics, vectorised over inputs × candidates × settings.

The rule for what an input delivers is ``alert.outcome`` (the one definition the live runtime,
the demo and the sentence replay use too), applied here with the trace's latencies, the stop time
and the period both equal to the deadline T. In short, for input n run with candidate c at
setting j (t = trace latency, p = power, p_idle = DNN-idle power):

- traditional model: finished by T → accuracy q_c, energy ``p·t + p_idle·(T − t)``; late →
  q_fail (no output by the deadline), the model runs to completion, energy ``p·t``.
- anytime model stopped after stage k: stopped at the deadline, it runs for ``min(t_k, T)`` and
  delivers the q of the last stage ≤ k finished by T (q_fail if none); energy
  ``p·min(t_k, T) + p_idle·(T − min(t_k, T))``.
- with ``preempt=False`` (a runtime that cannot stop an anytime model inside a stage, like
  ``alert.runtime.run_stages``) the stage running at T runs to its end, and no stage after it
  starts; what is delivered does not change.
- a *latency miss* is an input with no output by its deadline (a late traditional model, or an
  anytime model whose first stage did not finish).

``Outcomes`` holds these tables once per (trace, deadline); a scheme's run is a gather of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alert import outcome
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
    """Evaluate every configuration on every input of ``trace`` for one deadline (vectorised; the
    rule is ``alert.outcome``). ``preempt``: an anytime model is stopped at the deadline (True) or
    finishes the stage it is in (False)."""
    T = float(deadline)
    o = outcome.table(trace.profile, trace.latency, trace.power, trace.idle_power[:, None, :], T, preempt=preempt)
    return Outcomes(T, o.accuracy, o.energy, o.run_time, ~o.on_time, o.output_time, o.row)


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
