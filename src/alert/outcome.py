"""What one input delivers: the single rule behind the live runtime, the demo, the replays, the
oracles and the fidelity check. ``alert.estimate`` computes its expectation.

An input runs candidate c (an anytime model stopped after its stage k; a traditional model has
one stage) at setting j. e_1 < … < e_k are the end times of its stages counted from the model's
start (a traditional model: e_1 = its latency), p its power, p_idle the setting's DNN-idle power.

1. **Execution.** A traditional model runs to completion and produces its output at e_1. An
   anytime model is stopped ``stop`` seconds after its start (the input's deadline less what was
   spent before the model started): its output is that of the last stage with e_m ≤ stop, none
   when stage 1 did not finish. It runs for max(0, min(e_k, stop)) when it can be stopped inside
   a stage (``preempt``), otherwise until the end of the first stage that ends after ``stop``
   (e_k when none does), as ``alert.runtime.run_stages`` does.
2. **Judgement.** The latency that counts runs from the input's arrival to its output:
   ``start + e_out``, where ``start`` is what was spent before the model started (the runtime's
   decide and apply; in a sentence, the words before). The input is *on time* when it has an
   output and that latency is ≤ the deadline. It delivers the q of its output's stage (q_i for a
   traditional model) when on time and q_fail otherwise; an input that is not on time is a
   latency miss.
3. **Energy.** Its period of length P (a paced stream's period: the deadline) costs
   p·run + p_idle·max(0, P − run) (Eq. 9, with the clamp of docs/controller.md "Energy of a
   period"); without a period (P = ∞) only p·run.

The controller observes the latency of the output and its stage; when an anytime model produced
nothing, it observes the stop time with stage 0: a lower bound of stage 1's latency, and a miss
(``observation``).

Expected form: ``alert.estimate`` replaces the indicator e_m ≤ T by Pr_m, the probability that
stage m finishes by the deadline (Eq. 6), so q̂ = q_fail + Σ_{m≤k} (q_m − q_{m−1})·Pr_m is the
expectation of rule 2's accuracy (Eq. 7, Eq. 13), and Eq. 9 is rule 3 at the expected latency.

Both forms are here: ``table`` over arrays of inputs × candidates × settings (the replays, the
oracles, fidelity) and ``input_outcome`` / ``judge_one`` for one input (the live runtime, the demo,
the sentence replay). Tests check that they agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from alert.profile import Profile

NO_OUTPUT = -1  # the row of an input whose anytime model finished no stage


# ================================================================================ rule 3: energy
def period_energy(power: Any, run_time: Any, idle_power: Any, period: float | None) -> Any:
    """Energy of one input's period (rule 3): p·run + p_idle·max(0, P − run); p·run without a
    period (``None`` or infinite). Works on numbers and on broadcastable arrays."""
    busy = power * run_time
    if period is None or not np.all(np.isfinite(period)):
        return busy
    return busy + idle_energy(idle_power, period, run_time)


def idle_energy(idle_power: Any, period: Any, busy_time: Any) -> Any:
    """Idle part of a period: p_idle·max(0, P − busy time) (a late input earns no negative idle)."""
    if isinstance(busy_time, np.ndarray) or isinstance(period, np.ndarray):
        return idle_power * np.maximum(0.0, period - busy_time)
    return idle_power * max(0.0, period - busy_time)


# ================================================================================ vectorised form
@dataclass(frozen=True)
class OutcomeTable:
    """The rule applied to every input × candidate × setting: arrays of shape (..., C, L)."""

    row: np.ndarray          # row whose output the model produced (NO_OUTPUT: none)
    output_time: np.ndarray  # seconds from the model's start to that output (NaN when none)
    on_time: np.ndarray      # an output by the deadline
    accuracy: np.ndarray     # its q when on time, q_fail otherwise
    run_time: np.ndarray     # seconds the model ran
    energy: np.ndarray       # of the input's period


def produced(profile: Profile, ends: np.ndarray, stop: Any) -> np.ndarray:
    """Rule 1, which output each configuration produces: ``ends`` (..., C, L) holds the end time of
    every row (for an anytime row, of its stage) counted from the model's start; ``stop``
    broadcasts to it. Returns the row of the output (NO_OUTPUT when an anytime model finished no
    stage); a traditional row produces its own output."""
    n_done = profile.stages_done(ends <= stop)
    own = np.arange(profile.shape[0])[:, None]
    return np.where(profile.is_anytime[:, None], profile.stage_rows(n_done), own)


def run_time(profile: Profile, ends: np.ndarray, stop: Any, row: np.ndarray, preempt: bool = True) -> np.ndarray:
    """Rule 1, how long each configuration's model runs (``row`` as ``produced`` returns it)."""
    if not profile.has_anytime:
        return ends
    if preempt:
        stopped = np.maximum(np.minimum(ends, stop), 0.0)
    else:  # the stage after the output (stage 1 when none) started and runs to its end
        nxt = profile.stage_after(row)
        stopped = np.take_along_axis(ends, np.broadcast_to(nxt, ends.shape), axis=-2)
    return np.where(profile.is_anytime[:, None], stopped, ends)


def output_time(ends: np.ndarray, row: np.ndarray) -> np.ndarray:
    """End time of the output ``row`` of each configuration (NaN where there is none)."""
    t = np.take_along_axis(ends, np.maximum(row, 0), axis=-2)
    return np.where(row >= 0, t, np.nan)


def judge(profile: Profile, row: np.ndarray, latency: np.ndarray, deadline: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rule 2: (accuracy, on_time) of outputs ``row`` whose latency from the input's arrival is
    ``latency`` (NaN where there is no output)."""
    on_time = (row >= 0) & (latency <= deadline)
    return np.where(on_time, profile.q[np.maximum(row, 0)], profile.q_fail), on_time


def table(profile: Profile, ends: np.ndarray, power: np.ndarray, idle_power: np.ndarray, deadline: float,
          stop: Any = None, start: Any = 0.0, preempt: bool = True, period: float | None = None) -> OutcomeTable:
    """The whole rule for every configuration. ``ends``, ``power``: (..., C, L); ``idle_power``
    broadcasts to them (e.g. (N, 1, L)). ``stop`` defaults to the deadline less ``start``,
    ``period`` to the deadline."""
    stop = deadline - start if stop is None else stop
    row = produced(profile, ends, stop)
    t_out = output_time(ends, row)
    acc, on_time = judge(profile, row, start + t_out, deadline)
    run = run_time(profile, ends, stop, row, preempt)
    energy = period_energy(power, run, idle_power, deadline if period is None else period)
    return OutcomeTable(row, t_out, on_time, acc, run, energy)


# ================================================================================ scalar form
@dataclass(frozen=True)
class InputOutcome:
    """The rule applied to one input."""

    row: int             # row whose output the model produced (NO_OUTPUT: none)
    stage: int | None    # its 1-based stage (anytime; 0 when none), None for a traditional model
    output_time: float   # seconds from the model's start to that output (NaN when none)
    on_time: bool
    accuracy: float
    run_time: float
    energy: float        # of its period (NaN when no power was given)


def output_row(profile: Profile, candidate: int, stage: int | None) -> int:
    """Row of the output a run of ``candidate`` returned: its own (traditional, ``stage`` None),
    NO_OUTPUT (``stage`` 0: no stage finished) or that of its 1-based ``stage``."""
    if stage is None:
        return int(candidate)
    return NO_OUTPUT if stage == 0 else profile.stage_row(candidate, stage)


def judge_one(profile: Profile, row: int, latency: float, deadline: float) -> tuple[bool, float]:
    """Rule 2 for one input: (on_time, accuracy) of output ``row`` ready ``latency`` seconds after
    the input's arrival."""
    on_time = row >= 0 and latency <= deadline
    return bool(on_time), (float(profile.q[row]) if on_time else float(profile.q_fail))


def input_outcome(profile: Profile, candidate: int, ends: np.ndarray, deadline: float, stop: float | None = None,
                  start: float = 0.0, preempt: bool = True, power: float = math.nan, idle_power: float = 0.0,
                  period: float | None = math.nan) -> InputOutcome:
    """The rule for one input run with ``candidate``. ``ends``: end time of every row at the
    chosen setting (C,), counted from the model's start. ``stop`` defaults to the deadline less
    ``start`` and ``period`` (NaN) to the deadline; ``period=None``: inference energy only."""
    c = int(candidate)
    stop = deadline - start if stop is None else stop
    if profile.is_anytime[c]:
        rows = profile.rows_through(c)
        n_done = sum(1 for r in rows if ends[r] <= stop)
        row = rows[n_done - 1] if n_done else NO_OUTPUT
        stage: int | None = n_done
        if preempt:
            run = max(min(float(ends[c]), stop), 0.0)
        else:  # the stage after the output (stage 1 when none) started and runs to its end
            run = float(ends[rows[min(n_done, len(rows) - 1)]])
    else:
        row, stage, run = c, None, float(ends[c])
    t_out = float(ends[row]) if row >= 0 else math.nan
    on_time, acc = judge_one(profile, row, start + t_out, deadline)
    per = deadline if period is not None and math.isnan(period) else period
    return InputOutcome(row, stage, t_out, on_time, acc, run, period_energy(power, run, idle_power, per))


def observation(profile: Profile, candidate: int, row: int, output_time: float, stop: float
                ) -> tuple[float, int, int | None]:
    """What the controller observes after an input: (latency, row it refers to, stage: 1-based,
    None for a traditional model). With no output from an anytime model: the stop time against
    stage 1, as stage 0 (no stage finished; the stop time is a lower bound of stage 1's latency,
    and the input is a latency miss, ``Controller.observe``)."""
    if row < 0:
        first = profile.first_row(candidate)
        return max(float(stop), 0.0), first, 0
    return float(output_time), int(row), profile.stage_number(row)
