"""Every scheme of the evaluation and of ``alert run --policy``, in one registry (paper Table 3;
docs/evaluation.md, "Evaluation conventions").

A scheme is a :class:`Scheme`: a name, a description and what it can do, each a capability:

- ``image``: replay on a per-input trace, ``run(ctx) -> Choices``: given a trace, the replay
  outcomes for the constraint's deadline and the constraint, the configuration it used on every
  input. Causal schemes only look at input n's outcome after choosing for it (they observe it,
  as a runtime would); the oracles (``hindsight``) look at everything.
- ``sequence``: replay on a sentence trace (one deadline per sentence, word by word;
  ``alert.evaluation.sentence``), ``run(trace, lengths, constraint) -> SentenceOutcome``.
- ``live``: a policy for the live runtime, ``make(profile, goal, **config) -> Policy``
  (``alert run --policy NAME``).

and what it needs from a profile (``needs_anytime``, ``needs_traditional``, ``needs_settings``:
several settings). A trace that cannot support a scheme is skipped with a note
(:func:`split_supported`). ``reports`` names the report tables a scheme appears in.

``alert evaluate``, ``alert reproduce`` (simulated, measured and sentence), the report and
``alert run --policy`` all read the registry; ``alert schemes`` lists it. A new scheme is one
:func:`register` call (``tests/evaluation/test_scheme_registry.py`` registers a toy scheme from
the test file alone and runs it through every command).

The built-in schemes (docs/evaluation.md has the table):

- ``Oracle``, ``OracleStatic``, ``OracleStatic_strict``, ``OracleStatic_split``, ``Oracle_State``,
  ``Oracle_State_split``: see ``oracles``.
- ``ALERT``: the library's ``alert.Controller`` with ``ControllerConfig()``, the project's
  default; ``ALERT_paper``: ``ControllerConfig(estimator="paper")``, the paper's controller.
  ``ALERT_Pr90``, ``ALERT_first``, ``ALERT_Pr90_first`` are the default with ``pr_th=0.9`` and/or
  ``anytime_deadline="first"``. The paper's ablations keep the paper's estimator:
  ``ALERT_Any``, ``ALERT_Trad``, ``ALERT*`` (``candidates="anytime"``, ``"traditional"``,
  ``mean_only=True``). Overhead accounting is fixed at 0 in replay so replay is deterministic.
  After each input the controller observes what a runtime would measure: the latency of the
  output it got (for an anytime model stopped at the deadline: the end time of its last finished
  stage and that stage; if none finished, the deadline as stage 0: a lower bound of stage 1's
  latency, and a miss, ``alert.outcome.observation``) and the DNN-idle power when the period had
  idle time.
- ``Static_profile``: the best fixed configuration according to the quiet profile, no hindsight
  (``alert.static.best_by_profile``): what a user would run without ALERT.
- ``App-only``: the (largest) anytime model at the default system setting (the highest), run to
  the deadline.
- ``Sys-only``: the fastest traditional model with the Kalman latency power controller.
- ``No-coord``: the anytime model run to the deadline with that power controller, which sees only
  the latency the application delivers (the two levels do not share information).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

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


# ----------------------------------------------------------------------------- oracles
def _oracle(ctx: SchemeContext) -> Choices:
    return Choices(*oracles.oracle(ctx.out, ctx.constraint))


def _oracle_static(ctx: SchemeContext) -> Choices:
    return Choices(*oracles.oracle_static(ctx.out, ctx.constraint))


def _oracle_static_strict(ctx: SchemeContext) -> Choices:
    return Choices(*oracles.oracle_static(ctx.out, ctx.constraint, allowance=0.0))


def _oracle_static_split(ctx: SchemeContext) -> Choices:
    return Choices(*oracles.oracle_static_split(ctx.out, ctx.constraint))


def _oracle_state(ctx: SchemeContext) -> Choices:
    return Choices(*oracles.oracle_state(ctx.out, ctx.constraint, ctx.trace.states()))


def _oracle_state_split(ctx: SchemeContext) -> Choices:
    return Choices(*oracles.oracle_static_split(ctx.out, ctx.constraint, state=ctx.trace.states()))


# ----------------------------------------------------------------------------- ALERT
@contextmanager
def replaying() -> Iterator[None]:
    """Silence the robust estimator's profile-departure warnings while a replay runs the
    controller: over many recorded cells, a configuration that departs from the profile is a fact
    of the trace (the live runtime, which serves one stream, warns). Image and sentence replays."""
    from alert.estimators.robust import ProfileDepartureWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProfileDepartureWarning)
        yield


def run_controller(ctx: SchemeContext, candidates: str = "all", mean_only: bool = False,
                   pr_th: float | None = None, runtime_stages: bool = False, **options: Any) -> Choices:
    """``_run_controller`` under :func:`replaying`."""
    with replaying():
        return _run_controller(ctx, candidates, mean_only, pr_th, runtime_stages, **options)


def _run_controller(ctx: SchemeContext, candidates: str = "all", mean_only: bool = False,
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
        run = float(out.run_time[n, c, j])
        idle = float(idle_p[n, j]) if run < T else None  # (none when the model ran the whole period)
        # the input's period energy and the model's run time, as the live runtime reports them:
        # ACI sees every budget miss, an anytime model stopped at T among them, and the run time
        # tells the controller that such a model left no idle phase
        ctl.observe(lat, energy=float(out.energy[n, c, j]), idle_power=idle, stage=stage, elapsed=run)
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


def _static_profile(ctx: SchemeContext) -> Choices:
    """The best fixed configuration by the profile given to the controller (no hindsight)."""
    from alert.static import best_by_profile

    row, j = best_by_profile(ctx.profile, ctx.constraint.goal())
    label = ctx.profile.candidates[row].label
    index = {c.label: c.index for c in ctx.trace.profile.candidates}
    N = ctx.trace.n_inputs
    return Choices(np.full(N, index[label], dtype=np.intp), np.full(N, j, dtype=np.intp))




# ----------------------------------------------------------------------------- sequence and live forms
def _seq(fn_name: str, *args: Any, **kwargs: Any) -> SequenceRun:
    """A sequence run that calls ``alert.evaluation.sentence.<fn_name>`` (imported on use:
    the sentence module imports this one)."""

    def run(trace: Trace, lengths: np.ndarray, c: Constraint) -> Any:
        from alert.evaluation import sentence

        return getattr(sentence, fn_name)(trace, lengths, c, *args, **kwargs)

    return run


def _with_pr_th(goal: Any, pr_th: float | None) -> Any:
    """``goal`` with the chance constraint ``pr_th`` (goals without one are returned unchanged)."""
    if pr_th is None or "pr_th" not in getattr(goal, "__dataclass_fields__", {}):
        return goal
    return dataclasses.replace(goal, pr_th=pr_th)


@dataclass(frozen=True)
class ControllerScheme:
    """An ALERT-family scheme: ``alert.Controller`` with ``config`` (``ControllerConfig`` fields),
    the goal's chance constraint ``pr_th``, the sentence sharing ``rule`` and, for replays of the
    live runtime's stage-granular anytime execution, ``runtime_stages``."""

    config: Mapping[str, Any] = field(default_factory=dict)
    pr_th: float | None = None
    rule: str = "even"
    runtime_stages: bool = False

    def image(self, ctx: SchemeContext) -> Choices:
        return run_controller(ctx, pr_th=self.pr_th, runtime_stages=self.runtime_stages, **self.config)

    def sequence(self, trace: Trace, lengths: np.ndarray, c: Constraint) -> Any:
        from alert.evaluation import sentence

        return sentence.run_alert(trace, lengths, c, rule=self.rule, pr_th=self.pr_th, **self.config)

    def live(self, profile: Profile, goal: Any, **config: Any) -> Any:
        """A controller for the live runtime (``config`` overrides the scheme's options, e.g.
        ``candidates``; overhead accounting stays the live default)."""
        from alert.controller import Controller, ControllerConfig

        return Controller(profile, _with_pr_th(goal, self.pr_th), ControllerConfig(**{**self.config, **config}))

    def describe(self) -> str:
        opts = [f"{k}={v!r}" for k, v in self.config.items()]
        if self.pr_th is not None:
            opts.append(f"pr_th={self.pr_th}")
        if self.rule != "even":
            opts.append(f"rule={self.rule!r}")
        return f"ControllerConfig({', '.join(opts)})"


def _live_static_profile(profile: Profile, goal: Any, **config: Any) -> Any:
    from alert.controller import Controller, ControllerConfig
    from alert.runtime import StaticPolicy

    return StaticPolicy.best_quiet(Controller(profile, goal, ControllerConfig(**config)))


def _live_app_only(profile: Profile, goal: Any, **config: Any) -> Any:
    from alert.controller import Controller, ControllerConfig
    from alert.runtime import StaticPolicy

    ctl = Controller(profile, goal, ControllerConfig(**{**config, "candidates": "all"}))
    cand = profile.candidates[anytime_row(profile)]
    return StaticPolicy(ctl, cand.model, cand.stage, profile.settings[default_setting(profile)].name)


# ----------------------------------------------------------------------------- the registry
ImageRun = Callable[[SchemeContext], Choices]
SequenceRun = Callable[[Trace, np.ndarray, Constraint], Any]   # -> sentence.SentenceOutcome
LiveRun = Callable[..., Any]                                     # (profile, goal, **config) -> Policy
CAPABILITIES: tuple[str, ...] = ("image", "sequence", "live")
#: report tables a scheme can appear in (``Scheme.reports``)
REPORTS: tuple[str, ...] = ("table4", "table5", "extra", "measured", "headline", "fair")


@dataclass(frozen=True)
class Scheme:
    """One registered scheme: its runs per capability (None: not capable) and what it needs.

    ``suite``: run by default (``alert reproduce``, ``alert evaluate --schemes all``, the
    sentence task). ``hindsight``: an oracle (sees the whole trace; never live). ``preempt``:
    replayed with an anytime model stopped at the deadline (False: a started stage runs to its
    end, as in the live runtime). ``reports``: report tables it appears in (:data:`REPORTS`;
    ``fair``: one of the schemes whose common settings define the fair mean)."""

    name: str
    description: str
    image: ImageRun | None = None
    sequence: SequenceRun | None = None
    live: LiveRun | None = None
    needs_anytime: bool = False
    needs_traditional: bool = False
    needs_settings: bool = False
    suite: bool = True
    hindsight: bool = False
    preempt: bool = True
    reports: frozenset[str] = frozenset()
    controller: ControllerScheme | None = None

    def __post_init__(self) -> None:
        if not self.name or any(ch.isspace() or ch in ",:" for ch in self.name):
            raise ValueError(f"scheme name {self.name!r}: use a non-empty name without spaces, ',' or ':'")
        if self.image is None and self.sequence is None and self.live is None:
            raise ValueError(f"scheme {self.name!r}: give at least one of image, sequence, live")
        unknown = set(self.reports) - set(REPORTS)
        if unknown:
            raise ValueError(f"scheme {self.name!r}: unknown report tables {sorted(unknown)}; use {REPORTS}")
        object.__setattr__(self, "reports", frozenset(self.reports))

    def __call__(self, ctx: SchemeContext) -> Choices:
        """The image replay (``schemes.get(name)(ctx)``)."""
        if self.image is None:
            raise ValueError(f"scheme {self.name!r} has no image replay ({self.capabilities()})")
        return self.image(ctx)

    def capabilities(self) -> tuple[str, ...]:
        return tuple(c for c in CAPABILITIES if getattr(self, c) is not None)

    def needs(self) -> tuple[str, ...]:
        return tuple(n for n, flag in (("anytime", self.needs_anytime), ("traditional", self.needs_traditional),
                                       ("settings", self.needs_settings)) if flag)

    def unsupported(self, profile: Profile, capability: str | None = None) -> str | None:
        """Why this scheme cannot run on ``profile`` (with ``capability``), or None when it can."""
        if capability is not None and getattr(self, capability, None) is None:
            return f"no {capability} replay" if capability != "live" else "no live policy"
        if self.needs_anytime and not profile.is_anytime.any():
            return "no anytime model in the profile"
        if self.needs_traditional and not (~profile.is_anytime).any():
            return "no traditional model in the profile"
        if self.needs_settings and profile.shape[1] < 2:
            return "one setting only (it needs several)"
        return None

    def flags(self) -> dict[str, Any]:
        """What ``alert schemes`` prints: capabilities, needs and the other flags."""
        return {"capabilities": list(self.capabilities()), "needs": list(self.needs()), "suite": self.suite,
                "hindsight": self.hindsight, "preempt": self.preempt, "reports": sorted(self.reports),
                "controller": None if self.controller is None else self.controller.describe(),
                "description": self.description}

    def line(self) -> str:
        """One line for ``alert schemes``: the name first, then its flags."""
        caps = ",".join(self.capabilities())
        needs = ",".join(self.needs()) or "-"
        extra = [w for w, on in (("suite", self.suite), ("hindsight", self.hindsight),
                                 ("stage-granular", not self.preempt)) if on]
        return (f"{self.name:<20} {caps:<20} needs={needs:<22} {' '.join(extra):<16} "
                f"{self.description}")


_REGISTRY: dict[str, Scheme] = {}


def register(scheme: Scheme, replace: bool = False) -> Scheme:
    """Add ``scheme`` to the registry (``replace``: overwrite one of the same name)."""
    if scheme.name in _REGISTRY and not replace:
        raise ValueError(f"a scheme named {scheme.name!r} is already registered (pass replace=True)")
    _REGISTRY[scheme.name] = scheme
    return scheme


def unregister(name: str) -> None:
    """Remove a scheme (a test's toy scheme)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> Scheme:
    """The scheme called ``name`` (a clear error lists the valid names). Calling it runs its
    image replay: ``schemes.get("ALERT")(ctx)``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown scheme {name!r}; use one of {', '.join(_REGISTRY)} (see `alert schemes`)")
    return _REGISTRY[name]


def registered() -> tuple[Scheme, ...]:
    """Every registered scheme, in registration order."""
    return tuple(_REGISTRY.values())


def names(capability: str | None = None, suite: bool | None = None, report: str | None = None) -> tuple[str, ...]:
    """Names of the registered schemes with ``capability``, in the default suite (``suite=True``)
    or not, and in report table ``report``; registration order."""
    if capability is not None and capability not in CAPABILITIES:
        raise ValueError(f"capability {capability!r}: use one of {CAPABILITIES}")
    if report is not None and report not in REPORTS:
        raise ValueError(f"report table {report!r}: use one of {REPORTS}")
    return tuple(s.name for s in _REGISTRY.values()
                 if (capability is None or getattr(s, capability) is not None)
                 and (suite is None or s.suite == suite) and (report is None or report in s.reports))


def split_supported(scheme_names: Iterable[str], profile: Profile, capability: str = "image"
                    ) -> tuple[list[str], list[tuple[str, str]]]:
    """(the names that can run on ``profile`` with ``capability``, [(name, why not)] for the rest).
    Unknown names raise (``get``)."""
    ok: list[str] = []
    skipped: list[tuple[str, str]] = []
    for n in scheme_names:
        why = get(n).unsupported(profile, capability)
        if why is None:
            ok.append(n)
        else:
            skipped.append((n, why))
    return ok, skipped


def needs(name: str, profile: Profile) -> str | None:
    """Why ``name`` cannot run (image replay) on ``profile`` (None when it can)."""
    return get(name).unsupported(profile, "image")


def _controller_scheme(name: str, description: str, reports: Iterable[str] = (), suite: bool = True,
                       image: bool = True, sequence: bool = True, live: bool = True, preempt: bool = True,
                       needs_anytime: bool = False, needs_traditional: bool = False,
                       pr_th: float | None = None, rule: str = "even", runtime_stages: bool = False,
                       **config: Any) -> Scheme:
    cs = ControllerScheme(config, pr_th, rule, runtime_stages)
    return Scheme(name, description, cs.image if image else None, cs.sequence if sequence else None,
                  cs.live if live else None, needs_anytime, needs_traditional, False, suite, False, preempt,
                  frozenset(reports), cs)


HEADLINE = ("headline", "measured", "extra")
_BUILTIN: tuple[Scheme, ...] = (
    _controller_scheme("ALERT", "the project's default controller, ControllerConfig()",
                       ("table4", "table5", "fair", *HEADLINE)),
    _controller_scheme("ALERT_paper", "the paper's controller: ControllerConfig(estimator='paper'), Eq. 5 Kalman "
                       "filter, the paper's selection", ("table4", "table5", "fair", *HEADLINE), estimator="paper"),
    _controller_scheme("ALERT_Pr90", "the default controller with the chance constraint Pr >= 0.9 (Eq. 10-12)",
                       ("fair", *HEADLINE), pr_th=0.9),
    _controller_scheme("ALERT_Any", "the paper's controller, anytime candidates only (paper §5.3)",
                       ("table4", "table5"), needs_anytime=True, estimator="paper", candidates="anytime"),
    _controller_scheme("ALERT_Trad", "the paper's controller, traditional candidates only (paper §5.3)",
                       ("table5",), needs_traditional=True, estimator="paper", candidates="traditional"),
    _controller_scheme("ALERT*", "the paper's controller ignoring the slowdown's variance (mean_only, §5.3)",
                       ("extra",), estimator="paper", mean_only=True),
    _controller_scheme("ALERT_first", "the default controller; an anytime candidate meets the deadline with its "
                       "first output (anytime_deadline='first')", ("extra",), sequence=False,
                       anytime_deadline="first"),
    _controller_scheme("ALERT_Pr90_first", "ALERT_Pr90 with anytime_deadline='first'", ("extra",), sequence=False,
                       pr_th=0.9, anytime_deadline="first"),
    _controller_scheme("ALERT_greedy", "the default controller; each word may use all the sentence time left",
                       image=False, live=False, rule="greedy"),
    _controller_scheme("ALERT_reserve", "the default controller; each word keeps a reserve for the words left",
                       image=False, live=False, rule="reserve"),
    Scheme("Static_profile", "the best fixed configuration by the quiet profile, no hindsight (what a user runs "
           "without ALERT)", _static_profile, _seq("run_static_profile"), _live_static_profile,
           reports=frozenset({"fair", *HEADLINE})),
    Scheme("App-only", "the largest anytime model at the default (highest) setting, run to the deadline",
           _app_only, _seq("run_app_only"), _live_app_only, needs_anytime=True, reports=frozenset({"table4",
                                                                                                  "measured"})),
    Scheme("Sys-only", "the fastest traditional model with the Kalman latency power controller", _sys_only,
           _seq("run_sys_only"), needs_traditional=True, reports=frozenset({"table4", "measured"})),
    Scheme("No-coord", "the anytime model run to the deadline with the power controller (no coordination)",
           _no_coord, _seq("run_no_coord"), needs_anytime=True, reports=frozenset({"table4", "measured"})),
    Scheme("Oracle_State", "knows each input's contention state, not its noise: OracleStatic per state (hindsight)",
           _oracle_state, hindsight=True, reports=frozenset(HEADLINE)),
    Scheme("Oracle_State_split", "Oracle_State with each state's inputs split in two by their order, each half "
           "getting the choice made on the other half", _oracle_state_split, hindsight=True),
    Scheme("Oracle", "the best configuration for every input in hindsight (sentences: the best fixed "
           "configuration per sentence)", _oracle, _seq("oracle_per_sentence"), hindsight=True,
           reports=frozenset({"table4", *HEADLINE})),
    Scheme("OracleStatic", "the best fixed configuration in hindsight with at most 10 % of inputs missing (the "
           "normaliser)", _oracle_static, _seq("oracle_static"), hindsight=True,
           reports=frozenset({"fair", "headline", "measured"})),
    Scheme("OracleStatic_strict", "the best fixed configuration in hindsight that meets every input (the second "
           "normaliser)", _oracle_static_strict, _seq("oracle_static", allowance=0.0), hindsight=True,
           reports=frozenset({"headline", "measured"})),
    Scheme("OracleStatic_split", "OracleStatic chosen on the other half of the inputs (odd for even, even for "
           "odd): the normaliser without hindsight on the inputs it is scored on", _oracle_static_split,
           hindsight=True, reports=frozenset({"measured"})),
    # Not part of the suite: replays of the live runtime (stage-granular anytime execution) for the
    # fidelity check; "first" matches runs made with anytime_deadline="first". They are evaluated
    # without pre-emption (``replay.outcomes(..., preempt=False)``): a started stage runs to its end.
    _controller_scheme("ALERT_runtime", "ALERT replayed with the live runtime's stage-granular anytime rule "
                       "(fidelity check)", suite=False, sequence=False, live=False, preempt=False,
                       runtime_stages=True),
    _controller_scheme("ALERT_first_runtime", "ALERT_first replayed with the live runtime's stage-granular "
                       "anytime rule (fidelity check)", suite=False, sequence=False, live=False, preempt=False,
                       runtime_stages=True, anytime_deadline="first"),
    _controller_scheme("ALERT_paper_runtime", "ALERT_paper replayed with the live runtime's stage-granular "
                       "anytime rule (fidelity check of live runs made with the paper preset)", suite=False,
                       sequence=False, live=False, preempt=False, runtime_stages=True, estimator="paper"),
)
for _s in _BUILTIN:
    register(_s)


def stage_granular() -> frozenset[str]:
    """Schemes replayed without pre-emption (a started anytime stage runs to its end)."""
    return frozenset(s.name for s in _REGISTRY.values() if not s.preempt)


#: names ``alert run --policy`` accepts for registered schemes
POLICY_ALIASES: dict[str, str] = {"alert": "ALERT", "paper": "ALERT_paper", "static-best": "Static_profile"}


def live_policy(spec: str, profile: Profile, goal: Any, candidates: str = "all",
                estimator_params: Mapping[str, Any] | None = None) -> Any:
    """The live policy ``alert run --policy SPEC`` serves with: a registered scheme with a live
    policy (``alert schemes``; aliases ``alert`` = ALERT, ``paper`` = ALERT_paper, ``static-best`` =
    Static_profile) or a
    fixed configuration ``MODEL[@STAGE]:SETTING``. ``candidates`` restricts the candidate models
    where it is not ``"all"``; ``estimator_params`` (``--estimator-param``) are passed to the
    controller's estimator (``ControllerConfig.estimator_params``), for a scheme with a controller."""
    from alert.controller import Controller, ControllerConfig

    config: dict[str, Any] = {} if candidates == "all" else {"candidates": candidates}
    no_estimator = ValueError(f"--estimator-param: --policy {spec!r} has no estimator to take it. Fix: drop "
                              "--estimator-param, or serve a controller policy (e.g. --policy ALERT)")
    if ":" in spec:
        if estimator_params:
            raise no_estimator
        from alert.runtime import StaticPolicy

        cfg, _, setting = spec.rpartition(":")
        model, _, stage = cfg.partition("@")
        try:
            st = int(stage) if stage else None
        except ValueError:
            raise ValueError(f"--policy {spec!r}: stage {stage!r} is not a number (MODEL@STAGE:SETTING)") from None
        return StaticPolicy(Controller(profile, goal, ControllerConfig(**config)), model, st, setting)
    name = POLICY_ALIASES.get(spec, spec)
    if name not in _REGISTRY:
        raise ValueError(f"--policy {spec!r}: not a scheme with a live policy ({', '.join(names('live'))}; aliases "
                         f"{', '.join(POLICY_ALIASES)}) nor MODEL[@STAGE]:SETTING")
    s = _REGISTRY[name]
    if estimator_params:
        if s.controller is None:
            raise no_estimator
        config["estimator_params"] = dict(estimator_params)
        _check_estimator_params(s.controller.config, config)
    why = s.unsupported(profile, "live")
    if why is not None:
        raise ValueError(f"--policy {spec!r}: scheme {name!r} cannot run live on profile {profile.name!r}: {why}")
    assert s.live is not None
    return s.live(profile, goal, **config)


def _check_estimator_params(scheme_config: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """Build the scheme's estimator with ``--estimator-param``'s values once, alone: a parameter it
    does not take, or a value it refuses, is an error naming the option (and nothing else is)."""
    from alert.controller import ControllerConfig
    from alert.estimators import make_estimator

    params = config["estimator_params"]
    try:
        cc = ControllerConfig(**{**scheme_config, **config})
        if isinstance(cc.estimator, str):
            make_estimator(cc.estimator, max_slowdown=cc.max_slowdown, **cc.estimator_params)
    except ValueError as e:
        raise ValueError(f"--estimator-param {' '.join(f'{k}={v}' for k, v in params.items())}: {e}. Fix: give "
                         "parameters the policy's estimator takes, in their ranges (docs/controller.md, the "
                         "estimators' parameter tables); max_slowdown is not one of them") from None
