"""Every scheme of the evaluation behind one interface (paper Table 3; docs/evaluation.md,
"Evaluation conventions").

A scheme is a function ``run(ctx) -> Choices``: given a trace, the replay outcomes for the
constraint's deadline and the constraint, it returns the configuration it used on every input.
Causal schemes only look at input n's outcome after choosing for it (they observe it, as a
runtime would); the oracles look at everything.

- ``Oracle``, ``OracleStatic``, ``Oracle_State``: see ``oracles``.
- ``ALERT``, ``ALERT_Pr90``, ``ALERT_Any``, ``ALERT_Trad``, ``ALERT*``: the library's
  ``alert.Controller`` itself, with the options ``pr_th=0.9``, ``candidates="anytime"``,
  ``candidates="traditional"``, ``mean_only=True``; overhead accounting fixed at 0 so replay is
  deterministic. After each input the controller observes what a runtime would measure: the
  latency of the output it got (for an anytime model stopped at the deadline: the end time of its
  last finished stage and that stage; if none finished, the deadline against stage 1, a lower
  bound of ξ) and the DNN-idle power when the period had idle time.
- ``App-only``: the (largest) anytime model at the default system setting (the highest), run to
  the deadline.
- ``Sys-only``: the fastest traditional model with the Kalman latency power controller.
- ``No-coord``: the anytime model run to the deadline with that power controller, which sees only
  the latency the application delivers (the two levels do not share information).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from alert import outcome
from alert.evaluation import oracles
from alert.evaluation.metrics import Constraint
from alert.evaluation.powerctl import KalmanPowerController, PowerControllerConfig
from alert.evaluation.replay import Outcomes
from alert.evaluation.traces import Trace
from alert.profile import Profile


@dataclass(frozen=True)
class SchemeContext:
    """What a scheme gets: the trace, its outcomes at the constraint's deadline, the constraint,
    and the profile the controller is given (the trace's own unless another is passed)."""

    trace: Trace
    out: Outcomes
    constraint: Constraint
    profile: Profile


@dataclass(frozen=True)
class Choices:
    """Per-input candidate and setting indices (rows/columns of the trace's profile)."""

    candidate: np.ndarray
    setting: np.ndarray
    xi: np.ndarray | None = None          # observed slowdown per input (controller schemes)


Scheme = Callable[[SchemeContext], Choices]


# ----------------------------------------------------------------------------- oracles
def _oracle(ctx: SchemeContext) -> Choices:
    return Choices(*oracles.oracle(ctx.out, ctx.constraint))


def _oracle_static(ctx: SchemeContext) -> Choices:
    return Choices(*oracles.oracle_static(ctx.out, ctx.constraint))


def _oracle_state(ctx: SchemeContext) -> Choices:
    return Choices(*oracles.oracle_state(ctx.out, ctx.constraint, ctx.trace.states()))


# ----------------------------------------------------------------------------- ALERT
def run_controller(ctx: SchemeContext, candidates: str = "all", mean_only: bool = False,
                   pr_th: float | None = None, runtime_stages: bool = False, **options: object) -> Choices:
    """Replay ``alert.Controller`` on the trace: decide, look up input n's outcome, observe.
    ``options`` are further ``ControllerConfig`` fields (e.g. ``idle_model="setting"``).

    ``runtime_stages``: apply the live runtime's rule for anytime models that cannot be pre-empted
    within a stage (``alert.runtime.run_stages``): stage m+1 is not started when the end of stage m
    plus its expected duration μ·(t_prof[m+1] − t_prof[m]) passes the deadline, and nothing runs
    after a stage that ended late. The input then counts as stopping after the last stage started."""
    from alert.controller import Controller, ControllerConfig

    cfg = ControllerConfig(candidates=candidates, mean_only=mean_only, overhead=0.0, **options)  # type: ignore[arg-type]
    ctl = Controller(ctx.profile, ctx.constraint.goal(pr_th), cfg)
    tp = ctx.trace.profile
    index = {c.label: c.index for c in tp.candidates}
    rowmap = [index[c.label] for c in ctl.profile.candidates]
    out, T = ctx.out, ctx.out.deadline
    N = ctx.trace.n_inputs
    cand = np.empty(N, dtype=np.intp)
    sett = np.empty(N, dtype=np.intp)
    xi = np.empty(N)
    obs_lat = out.observed                                          # (N, C, L)
    anytime = tp.is_anytime.tolist()
    idle_p = ctx.trace.idle_power
    lat_trace = ctx.trace.latency
    for n in range(N):
        d = ctl.decide()
        c = rowmap[d.candidate]
        j = d.setting
        if runtime_stages and anytime[c]:
            mu = ctl.estimator.mean
            rows = tp.rows_through(c)
            for r, nxt in zip(rows, rows[1:], strict=False):
                end = float(lat_trace[n, r, j])
                if end > T or end + mu * float(tp.t_prof[nxt, j] - tp.t_prof[r, j]) > T:
                    c = r
                    break
        cand[n] = c
        sett[n] = j
        lat, row, stage = outcome.observation(tp, c, int(out.observed_cand[n, c, j]), float(obs_lat[n, c, j]), T)
        idle = float(idle_p[n, j]) if out.run_time[n, c, j] < T else None
        ctl.observe(lat, idle_power=idle, stage=stage)
        xi[n] = lat / tp.t_prof[row, j]
    return Choices(cand, sett, xi)


# ----------------------------------------------------------------------------- baselines
def default_setting(profile: Profile) -> int:
    """The system default: the highest setting (no cap / the top clock)."""
    return int(np.argmax(profile.setting_values))


def anytime_row(profile: Profile) -> int:
    """The last stage of the most accurate anytime model."""
    rows = np.flatnonzero(profile.is_anytime)
    if rows.size == 0:
        raise ValueError(f"profile {profile.name!r} has no anytime model; App-only and No-coord need one")
    return int(rows[np.argmax(profile.q[rows])])


def fastest_traditional(profile: Profile) -> int:
    rows = np.flatnonzero(~profile.is_anytime)
    if rows.size == 0:
        raise ValueError(f"profile {profile.name!r} has no traditional model; Sys-only needs one")
    j = default_setting(profile)
    return int(rows[np.argmin(profile.t_prof[rows, j])])


def _app_only(ctx: SchemeContext) -> Choices:
    N = ctx.trace.n_inputs
    p = ctx.trace.profile
    return Choices(np.full(N, anytime_row(p), dtype=np.intp), np.full(N, default_setting(p), dtype=np.intp))


def _power_controlled(ctx: SchemeContext, row: int, config: PowerControllerConfig | None = None) -> Choices:
    p = ctx.trace.profile
    pc = KalmanPowerController(p.t_prof[row], p.power[row], p.idle_power, config)
    out, T = ctx.out, ctx.out.deadline
    budget = ctx.constraint.energy_budget
    N = ctx.trace.n_inputs
    sett = np.empty(N, dtype=np.intp)
    run_time = out.run_time[:, row, :]
    for n in range(N):
        j = pc.choose(T, budget)
        sett[n] = j
        pc.observe(float(run_time[n, j]), j)
    return Choices(np.full(N, row, dtype=np.intp), sett)


def _sys_only(ctx: SchemeContext) -> Choices:
    return _power_controlled(ctx, fastest_traditional(ctx.trace.profile))


def _no_coord(ctx: SchemeContext) -> Choices:
    return _power_controlled(ctx, anytime_row(ctx.trace.profile))


SCHEMES: dict[str, Scheme] = {
    "Oracle": _oracle,
    "OracleStatic": _oracle_static,
    "Oracle_State": _oracle_state,
    "ALERT": lambda ctx: run_controller(ctx),
    "ALERT_Pr90": lambda ctx: run_controller(ctx, pr_th=0.9),
    "ALERT_Any": lambda ctx: run_controller(ctx, candidates="anytime"),
    "ALERT_Trad": lambda ctx: run_controller(ctx, candidates="traditional"),
    "ALERT*": lambda ctx: run_controller(ctx, mean_only=True),
    # beyond the paper: an anytime candidate meets the deadline with its first output
    "ALERT_first": lambda ctx: run_controller(ctx, anytime_deadline="first"),
    "ALERT_Pr90_first": lambda ctx: run_controller(ctx, pr_th=0.9, anytime_deadline="first"),
    "App-only": _app_only,
    "Sys-only": _sys_only,
    "No-coord": _no_coord,
}
ALL_SCHEMES: tuple[str, ...] = tuple(SCHEMES)
# Not part of the suite: replays of the live runtime (stage-granular anytime execution) for
# the fidelity check; "first" matches runs made with anytime_deadline="first". They are evaluated
# without pre-emption (``replay.outcomes(..., preempt=False)``): a started stage runs to its end.
SCHEMES.update({
    "ALERT_runtime": lambda ctx: run_controller(ctx, runtime_stages=True),
    "ALERT_first_runtime": lambda ctx: run_controller(ctx, runtime_stages=True, anytime_deadline="first"),
})
STAGE_GRANULAR: frozenset[str] = frozenset({"ALERT_runtime", "ALERT_first_runtime"})


def get(name: str) -> Scheme:
    """The scheme called ``name`` (a clear error lists the valid names)."""
    if name not in SCHEMES:
        raise ValueError(f"unknown scheme {name!r}; use one of {', '.join(SCHEMES)}")
    return SCHEMES[name]


def needs(name: str, profile: Profile) -> str | None:
    """Why ``name`` cannot run on ``profile`` (None when it can)."""
    has_any = bool(profile.is_anytime.any())
    has_trad = bool((~profile.is_anytime).any())
    if name in ("App-only", "No-coord", "ALERT_Any") and not has_any:
        return "no anytime model in the profile"
    if name in ("Sys-only", "ALERT_Trad") and not has_trad:
        return "no traditional model in the profile"
    return None
