"""The per-input control loop of ALERT (paper §3.2): measure, adjust the goal, estimate, pick.

    ctl = Controller(profile, MinimizeEnergy(deadline=0.05, accuracy=0.9))
    for x in stream:
        d = ctl.decide()                       # model, stage, setting and their estimates
        ...run d.model at d.setting...
        ctl.observe(latency=measured_seconds)  # the estimator learns latency vs t_prof

The same object drives the live runtime and the replay of recorded traces.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast

import numpy as np

from alert.estimate import Estimates, estimate, idle_reference
from alert.estimators import Estimator, make_estimator
from alert.filters import IdlePowerFilter, MeasurementGuard, check_count, check_real
from alert.goals import DEFAULT_PRIORITY, Dimension, Goal, check_goal, check_priority
from alert.profile import Profile
from alert.select import AnytimeDeadline, Fallback, select

CandidateSet = Literal["all", "anytime", "traditional"]

#: Selection options (and the idle-power model) of each estimator preset, used where
#: ``ControllerConfig`` leaves them at ``"auto"``: the paper's ALERT (expectation constraints, §4
#: priority fallback, idle power φ·p) for ``paper``, and the measured combination of
#: docs/controller.md ("The robust estimator", "Energy of a period") for ``robust`` and its
#: per-configuration variant ``robust-config``.
_ROBUST_SELECTION = MappingProxyType({"chance": 0.07, "aci_step": 0.01, "chance_energy": "quantile", "fallback": "safe",
                                      "idle_model": "headroom", "accuracy_tie": 0.005, "anytime_deadline": "free"})
PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "paper": MappingProxyType({"chance": None, "aci_step": 0.0, "chance_energy": "expected", "fallback": "priority",
                               "idle_model": "ratio", "accuracy_tie": None, "anytime_deadline": "stop"}),
    "robust": _ROBUST_SELECTION,
    "robust-config": _ROBUST_SELECTION,
})
#: The project's default: what ``ControllerConfig()`` is.
DEFAULT_OPTIONS: Mapping[str, Any] = MappingProxyType({"estimator": "robust", **PRESETS["robust"]})
ShareRule = Literal["even", "greedy", "reserve"]


@dataclass(frozen=True)
class ControllerConfig:
    """Options of the controller.

    * ``estimator``: the latency estimator, a registered name (``"robust"``, the default: the
      project's robust estimator; ``"paper"``: Eq. 5's Kalman filter with a Gaussian belief, the
      paper's ALERT; see ``alert.estimators``) or an
      :class:`~alert.estimators.Estimator` instance; ``estimator_params`` are passed to the
      registered factory (for ``"paper"``: ``q0, r, alpha, mean0, variance0, gain0``).
    * ``candidates``: ``"anytime"`` gives ALERT_Any, ``"traditional"`` ALERT_Trad (§5.3).
    * ``mean_only``: ALERT* — Pr is 1 when μ·t ≤ T and 0 otherwise (§5.3).
    * ``priority``: the order in which goals are kept when infeasible (§4).
    * ``m0, s, v``: Eq. 8.
    * ``overhead``: ``"measured"`` subtracts the worst decide+observe time of the last
      ``overhead_window`` inputs from the deadline (§3.2 step 2); a number subtracts that many
      seconds (0 for deterministic replay).
    * ``overhead_clock``: how ``"measured"`` times the controller: ``"cpu"`` (the calling thread's
      CPU time: the controller's own work) or ``"wall"`` (elapsed time, which also counts the
      time the thread waited while preempted or throttled by a CPU quota it shares with the model;
      one such stall then cuts the deadline of the next ``overhead_window`` inputs).
    * ``max_slowdown``: ξ observations are clamped to [1/max_slowdown, max_slowdown] (passed to
      a registered estimator's factory).
    * ``anytime_deadline``: ``"stop"`` (the paper's t_{i,j}: an anytime candidate's latency
      constraint is on its stopping stage), ``"first"`` (on its first output, since the runtime
      stops it at the deadline with its latest output) or ``"free"`` (``"first"`` for a
      max-accuracy goal where running on to the deadline costs what waiting costs, e.g. a
      reserved CPU share; ``"stop"`` elsewhere); see ``alert.goals``. ``"auto"`` (the default)
      takes the estimator's preset: ``"stop"`` for ``"paper"``, ``"free"`` for the robust ones.
    * ``idle_model``: ``"ratio"`` (the paper: DNN-idle power is φ·p[i, j], Eq. 8-9),
      ``"setting"`` (φ scales the profiled idle power of each setting) or ``"headroom"`` (the
      profiled idle power plus the share φ of the headroom p[i, j] − idle_power[j] that other
      work fills while the DNN waits; φ starts at 0); see ``alert.estimate.idle_reference``.
      ``"auto"`` (the default) takes the estimator's preset: ``"ratio"`` for ``"paper"`` (and
      estimators without a preset), ``"headroom"`` for ``"robust"`` and ``"robust-config"``.

    Selection options beyond the paper (``alert.select``, docs/controller.md); left at ``"auto"``
    they take the estimator's preset (:data:`PRESETS`): the paper's selection for ``"paper"`` (and
    for estimators without a preset), the measured combination for ``"robust"`` and
    ``"robust-config"``:

    * ``chance``: allowed miss probability α of a *chance constraint* for goals without their own
      Pr_th: q_i ≥ Q_goal and Pr ≥ 1 − α (Eq. 10/11 with Pr_th = 1 − α). None: the paper's
      expectation constraint.
    * ``aci_step``: adaptive conformal miss target (ACI): after each input α ← α + step·(chance −
      miss), clipped to ``aci_range``, where miss is 1 when the input finished after its deadline,
      stopped at a stage below the accuracy goal, finished no stage (``observe(stage=0)``), or its
      energy passed the budget. The long-run
      miss rate then tracks ``chance`` whatever the estimator's calibration. 0: α stays ``chance``.
    * ``chance_energy``: energy under the chance constraint from the expected latency
      (``"expected"``) or its 1 − α quantile (``"quantile"``, Eq. 12).
    * ``expected_latency``: keep the paper's latency constraint t_{i,j} ≤ T on the expected
      latency (Eq. 1, 2, 10, 11); False leaves the deadline to Pr and q̂.
    * ``fallback``: ``"priority"`` (§4) or ``"safe"`` (the most probable configuration among
      those meeting the accuracy goal and the budget; ``alert.select``).
    * ``accuracy_tie``: with an accuracy objective, q̂ within this much (absolute) of the best
      counts as a tie, which the least expected latency breaks (then energy), among the tied
      configurations that plan no more energy than the best under an energy budget; None: ties
      within a relative 1e-9, broken by energy (``alert.select``).
    """

    estimator: str | Estimator = "robust"
    estimator_params: Mapping[str, Any] = field(default_factory=dict)
    candidates: CandidateSet = "all"
    mean_only: bool = False
    priority: tuple[Dimension, ...] = DEFAULT_PRIORITY
    m0: float = 0.01
    s: float = 0.0001
    v: float = 0.001
    overhead: Literal["measured"] | float = "measured"
    overhead_window: int = 50
    overhead_clock: Literal["cpu", "wall"] = "cpu"
    max_slowdown: float = 50.0
    idle_model: Literal["ratio", "setting", "headroom", "auto"] = "auto"
    anytime_deadline: AnytimeDeadline | Literal["auto"] = "auto"
    chance: float | None | Literal["auto"] = "auto"
    aci_step: float | Literal["auto"] = "auto"
    aci_range: tuple[float, float] = (0.005, 0.5)
    chance_energy: Literal["expected", "quantile", "auto"] = "auto"
    expected_latency: bool = True
    fallback: Fallback | Literal["auto"] = "auto"
    accuracy_tie: float | None | Literal["auto"] = "auto"

    def __post_init__(self) -> None:
        check_priority(self.priority)
        name = self.estimator if isinstance(self.estimator, str) else getattr(self.estimator, "name", "")
        preset = PRESETS.get(name, PRESETS["paper"])  # an estimator of its own gets the paper's selection
        for key in ("chance", "aci_step", "chance_energy", "fallback", "idle_model", "accuracy_tie", "anytime_deadline"):
            if getattr(self, key) == "auto":
                object.__setattr__(self, key, preset[key])
        object.__setattr__(self, "estimator_params", MappingProxyType(dict(self.estimator_params)))
        if not isinstance(self.estimator, (str, Estimator)):
            raise ValueError(f"estimator must be a registered name or an Estimator, got {self.estimator!r}")
        if isinstance(self.estimator, Estimator) and self.estimator_params:
            raise ValueError("estimator_params apply to a registered estimator name, not an instance")
        if "max_slowdown" in self.estimator_params:
            raise ValueError("estimator_params: max_slowdown is ControllerConfig's own field (the bound every "
                             "estimator's guard takes); set ControllerConfig(max_slowdown=...) instead")
        if self.candidates not in ("all", "anytime", "traditional"):
            raise ValueError(f"candidates must be 'all', 'anytime' or 'traditional', got {self.candidates!r}")
        if self.overhead != "measured" and not (isinstance(self.overhead, (int, float)) and self.overhead >= 0):
            raise ValueError(f"overhead must be 'measured' or a number of seconds >= 0, got {self.overhead!r}")
        if self.overhead_clock not in ("cpu", "wall"):
            raise ValueError(f"overhead_clock must be 'cpu' or 'wall', got {self.overhead_clock!r}")
        check_real("ControllerConfig", m0=self.m0, s=self.s, v=self.v, max_slowdown=self.max_slowdown)
        if not (self.m0 >= 0 and self.s >= 0 and self.v > 0):
            raise ValueError(f"ControllerConfig: m0 and s must be >= 0 and v > 0 (Eq. 8's idle-power filter), "
                             f"got m0={self.m0!r}, s={self.s!r}, v={self.v!r}")
        if self.max_slowdown <= 1:
            raise ValueError(f"ControllerConfig: max_slowdown must be > 1, got {self.max_slowdown!r}")
        if self.anytime_deadline not in ("stop", "first", "free"):
            raise ValueError(f"anytime_deadline must be 'stop', 'first' or 'free', got {self.anytime_deadline!r}")
        if self.idle_model not in ("ratio", "setting", "headroom"):
            raise ValueError(f"idle_model must be 'ratio', 'setting' or 'headroom', got {self.idle_model!r}")
        if self.chance is not None and not (isinstance(self.chance, (int, float)) and 0 < self.chance < 1):
            raise ValueError(f"chance (allowed miss probability) must be in (0, 1) or None, got {self.chance!r}")
        lo, hi = self.aci_range
        if not (0 < lo <= hi < 1):
            raise ValueError(f"aci_range must be (low, high) with 0 < low <= high < 1, got {self.aci_range!r}")
        if not (isinstance(self.aci_step, (int, float)) and self.aci_step >= 0 and math.isfinite(self.aci_step)):
            raise ValueError(f"aci_step must be a finite number >= 0, got {self.aci_step!r}")
        if self.step > 0 and self.chance is None:
            raise ValueError("aci_step needs a chance constraint: set chance (e.g. 0.07)")
        if self.chance_energy not in ("expected", "quantile"):
            raise ValueError(f"chance_energy must be 'expected' or 'quantile', got {self.chance_energy!r}")
        if self.fallback not in ("priority", "safe"):
            raise ValueError(f"fallback must be 'priority' or 'safe', got {self.fallback!r}")
        tie = self.accuracy_tie
        if tie is not None and (isinstance(tie, bool) or not isinstance(tie, (int, float))
                                or not (0 <= tie < 1)):
            raise ValueError(f"accuracy_tie must be None or a number in [0, 1) (an absolute difference of "
                             f"expected accuracy), got {tie!r}")


    # The selection options once "auto" is resolved (__post_init__ resolves it), typed.
    @property
    def allowed_miss(self) -> float | None:
        """``chance``: the allowed miss probability α, or None (no chance constraint)."""
        return cast("float | None", self.chance)

    @property
    def step(self) -> float:
        """``aci_step``: the ACI step (0: α stays ``chance``)."""
        return float(cast(float, self.aci_step))

    @property
    def fallback_rule(self) -> Fallback:
        """``fallback``: ``"priority"`` or ``"safe"``."""
        return cast(Fallback, self.fallback)

    @property
    def anytime_rule(self) -> AnytimeDeadline:
        """``anytime_deadline``: ``"stop"``, ``"first"`` or ``"free"``."""
        return cast(AnytimeDeadline, self.anytime_deadline)

    @property
    def accuracy_tolerance(self) -> float | None:
        """``accuracy_tie``: the q̂ difference that counts as a tie, or None."""
        return None if self.accuracy_tie is None else float(cast(float, self.accuracy_tie))


@dataclass(frozen=True)
class Decision:
    """A configuration for the next input with ALERT's estimates for it."""

    candidate: int
    model: str
    stage: int | None
    setting: int
    setting_name: str
    setting_value: float
    deadline: float
    expected_latency: float
    pr: float
    expected_accuracy: float
    expected_energy: float
    goals_met: dict[str, bool]
    gave_up: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.model if self.stage is None else f"{self.model}@{self.stage}"

    def as_dict(self) -> dict[str, object]:
        return {"model": self.model, "stage": self.stage, "setting": self.setting_name,
                "setting_value": self.setting_value, "deadline": self.deadline,
                "expected_latency": self.expected_latency, "pr": self.pr,
                "expected_accuracy": self.expected_accuracy, "expected_energy": self.expected_energy,
                "goals_met": dict(self.goals_met), "gave_up": list(self.gave_up)}


@dataclass
class _Sequence:
    deadline: float
    length: int | None
    rule: ShareRule
    elapsed: float = 0.0
    done: int = 0


@dataclass
class MeasurementStats:
    """How many observations were accepted, rejected or clamped; ``misses`` counts inputs that
    missed their deadline, accuracy goal or budget (as ACI judges them); ``profile_departures``
    the configurations whose live latency departs from the profile by more than the estimator's
    documented factor (see ``alert.estimators.robust``); ``history`` holds (latency, mean
    slowdown, its std) after each observation."""

    observed: int = 0
    misses: int = 0
    profile_departures: int = 0
    latency_rejected: int = 0
    slowdown_clamped: int = 0
    idle_rejected: int = 0
    energy_rejected: int = 0
    history: deque = field(default_factory=lambda: deque(maxlen=10_000))


class Controller:
    """ALERT's run-time controller: one ``decide()`` and one ``observe()`` per input."""

    def __init__(self, profile: Profile, goal: Goal, config: ControllerConfig | None = None) -> None:
        self.config = config or ControllerConfig()
        cfg = self.config
        self.profile = profile if cfg.candidates == "all" else profile.subset(
            ["anytime"] if cfg.candidates == "anytime" else ["traditional"])
        self.goal = check_goal(goal)
        self.estimator: Estimator = (cfg.estimator if isinstance(cfg.estimator, Estimator) else
                                     make_estimator(cfg.estimator, max_slowdown=cfg.max_slowdown,
                                                    **cfg.estimator_params))
        self.estimator.bind(self.profile.t_prof)
        phi0 = initial_idle_ratio(self.profile) if cfg.idle_model == "ratio" else {"setting": 1.0, "headroom": 0.0}[
            cfg.idle_model]
        self.idle = IdlePowerFilter(phi0, cfg.m0, cfg.s, cfg.v)
        self._idle_ref = idle_reference(self.profile, cfg.idle_model)
        self.stats = MeasurementStats()
        self._energy_guard = MeasurementGuard(0.0, math.inf)
        self._overheads: deque[float] = deque(maxlen=max(1, cfg.overhead_window))
        self._overhead_max = 0.0  # max(self._overheads), kept as inputs come and go
        self._decide_time = 0.0
        self._clock = time.thread_time if cfg.overhead_clock == "cpu" else time.perf_counter
        self._last: Decision | None = None
        self._observed = False  # the last decision's input was observed (a second observe is refused)
        self._real_deadline = math.inf
        self._sequence: _Sequence | None = None
        self.miss_allowance: float | None = cfg.allowed_miss  # α of the chance constraint (ACI adapts it)
        self._reserve = 0.0

    # ------------------------------------------------------------------ goals
    def set_goal(self, goal: Goal) -> None:
        """Change the goal; it applies from the next ``decide()``. Anything but a goal of
        :mod:`alert.goals` is a TypeError."""
        self.goal = check_goal(goal)

    def begin_sequence(self, deadline: float, length: int | None = None, rule: ShareRule = "even") -> None:
        """Inputs that follow share one ``deadline`` (e.g. the words of a sentence, §3.2 step 2).

        Each input gets the time that remains: divided evenly over the ``length`` inputs left
        (``rule="even"``), or all of it (``rule="greedy"``, also used when the length is unknown),
        or all of it minus a reserve for the inputs after it, each at the expected latency of the
        fastest configuration, μ·min t_prof (``rule="reserve"``; never less than the even share).
        """
        check_real("begin_sequence", deadline=deadline)
        if not deadline > 0:
            raise ValueError(f"begin_sequence: deadline must be > 0 seconds, got {deadline!r}")
        if length is not None:
            check_count("begin_sequence", length=length)
            if length < 1:
                raise ValueError(f"begin_sequence: length must be >= 1 (the inputs of the sequence), got {length!r}")
        if rule not in ("even", "greedy", "reserve"):
            raise ValueError(f"rule must be 'even', 'greedy' or 'reserve', got {rule!r}")
        self._sequence = _Sequence(float(deadline), length, rule)

    def end_sequence(self) -> None:
        self._sequence = None

    def set_reserve(self, seconds: float) -> None:
        """Keep ``seconds`` of the next inputs' deadlines for what follows them (work queued behind,
        the load to come, the answer's way back): the controller plans each input for its deadline
        less this reserve (and its own overhead, §3.2 step 2), while the input keeps its whole
        deadline to be judged by, to stop an anytime model at, and for the miss rate ACI tracks.
        0 (the default) until set again; the serving layer sets it per request
        (``alert.live.serving.QueryServer``)."""
        check_real("set_reserve", seconds=seconds)
        r = float(seconds)
        if not r >= 0:
            raise ValueError(f"set_reserve: seconds must be >= 0, got {seconds!r}")
        self._reserve = r

    def input_deadline(self, reserve_overhead: bool = True) -> float:
        """T_goal for the next input: the goal's deadline (or the sequence's share of what remains)
        minus the controller's recent worst-case overhead (§3.2 step 2) and the reserve for what
        follows it (``set_reserve``). ``reserve_overhead=False``:
        the input's real deadline, without the reserve (where a running anytime model stops)."""
        t = self.goal.deadline if self._sequence is None else self._share()
        return self._planned(t) if reserve_overhead else t

    def _planned(self, t: float) -> float:
        """The deadline the controller plans an input for, given its real deadline ``t``: less its
        own recent worst-case overhead and the reserve for what follows (``set_reserve``)."""
        if not math.isfinite(t):
            return t
        return max(t - self.overhead() - self._reserve, 1e-9)

    def _share(self) -> float:
        """The deadline of the next input of a sequence (``begin_sequence``)."""
        seq = self._sequence
        assert seq is not None
        remaining = seq.deadline - seq.elapsed
        if seq.rule == "even" and seq.length is not None:
            return remaining / max(1, seq.length - seq.done)
        if seq.rule == "reserve" and seq.length is not None:
            left = max(1, seq.length - seq.done)
            return max(remaining - (left - 1) * self.fastest_latency(), remaining / left)
        return remaining

    def fastest_latency(self) -> float:
        """The expected latency of the fastest configuration, μ·min t_prof under the paper's
        estimator: the least time an input can be expected to take (what a sequence or a queue
        reserves for each input still to come)."""
        return float(self.estimator.expected(self.profile.t_prof).min())

    def overhead(self) -> float:
        ovh = self.config.overhead
        if ovh == "measured":
            return self._overhead_max
        return float(ovh)

    # --------------------------------------------------------------- decide
    def pr_threshold(self) -> float | None:
        """The Pr_th in force: the goal's own, else 1 − α of the chance constraint, else None."""
        if self.goal.pr_th is not None:
            return self.goal.pr_th
        return None if self.miss_allowance is None else 1.0 - self.miss_allowance

    def estimates(self, deadline: float | None = None) -> Estimates:
        """Estimates of every configuration under the current estimator state (Eq. 6, 7, 9, 12, 13)."""
        t = self.input_deadline() if deadline is None else deadline
        pr_th = self.goal.pr_th
        if pr_th is None and self.config.chance_energy == "quantile":
            pr_th = self.pr_threshold()
        return estimate(self.profile, self.estimator, self.idle.phi, t,
                        pr_th, self.config.mean_only, self.config.idle_model)

    def decide(self) -> Decision:
        """Pick the model (and stopping stage) and the setting for the next input."""
        t0 = self._clock()
        t_real = self.input_deadline(reserve_overhead=False)
        t_goal = self._planned(t_real)
        cfg = self.config
        est = self.estimates(t_goal)
        sel = select(self.profile, est, self.goal, cfg.priority, cfg.anytime_rule, self.pr_threshold(),
                     cfg.expected_latency, cfg.fallback_rule, cfg.accuracy_tolerance, self._sequence is not None)
        c, j = sel.candidate, sel.setting
        cand = self.profile.candidates[c]
        st = self.profile.settings[j]
        pr, acc = est.at(c, j)
        d = Decision(c, cand.model, cand.stage, j, st.name, st.value, t_goal,
                     float(est.latency[c, j]), pr, acc, float(est.energy[c, j]), sel.met, sel.gave_up)
        self._last = d
        self._observed = False
        self._real_deadline = t_real
        self._decide_time = self._clock() - t0
        return d

    # -------------------------------------------------------------- observe
    def observe(self, latency: float, energy: float | None = None, idle_power: float | None = None,
                stage: int | None = None, period: float | None = None, elapsed: float | None = None) -> None:
        """Feed back the last input (§3.2 step 1).

        ``latency``: seconds from the start of the input to its (last) output. ``stage``: the
        1-based anytime stage actually reached when it differs from the decided one (stopped at
        the deadline), so ξ compares like with like; 0 when an anytime model finished no stage
        (then ``latency`` is the time it was stopped, a lower bound of stage 1's latency: an
        estimator that takes censored observations gets that bound for stage 1, and ACI counts
        the input as missed). ``idle_power``: measured DNN-idle power (W),
        feeds Eq. 8. ``energy``: energy of the whole input period (J); when ``idle_power`` is not
        given, the idle power is derived from it as (energy − p·t_run) / (period − t_run), with
        t_run the larger of ``latency`` and ``elapsed``, provided the idle part is at least 5 % of
        the period (``period`` defaults to the deadline).
        ``elapsed``: the time the model ran when it differs from ``latency`` (an anytime model
        stopped at its deadline or budget ran past its last finished stage); by default the
        latency. The period's idle phase starts there, and in a sequence it is the time this input
        took from the shared deadline.
        Bad values are rejected or clamped (see ``MeasurementGuard``) and counted in ``stats``.
        """
        t0 = self._clock()
        d = self._last
        if d is None:
            raise RuntimeError("observe() called before decide()")
        if self._observed:
            raise RuntimeError("observe() called twice after one decide(): each input is observed once; call "
                               "decide() for the next input")
        if stage is not None or period is not None or elapsed is not None:
            stage, period, elapsed = _call_args(stage, period, elapsed)
            if stage is not None and stage > (d.stage or 1):
                raise ValueError(f"observe(stage={stage}): the input ran {d.label} at {d.setting_name}, which "
                                 f"stops at stage {d.stage or 1}; pass the 1-based stage it reached (0: none)")
        self._observed = True
        latency = _measured(latency)
        idle_power = None if idle_power is None else _measured(idle_power)
        if energy is not None:  # a bad energy reading is rejected here, before anything counts it
            energy = self._energy_guard.admit(_measured(energy))
            if energy is None:
                self.stats.energy_rejected += 1
        self.stats.observed += 1
        row = d.candidate
        no_output = stage == 0 and d.stage is not None  # an anytime model that finished no stage
        if stage is not None and d.stage is not None and stage != d.stage:
            row = self.profile.stage_row(d.candidate, max(1, min(int(stage), d.stage)))
        t_prof = self.profile.t_prof[row, d.setting]
        lat_ok = math.isfinite(latency) and latency > 0
        if lat_ok:
            clamped_before = self.estimator.guard.clamped
            # stopped before the decided stage: that stage's latency is only known to pass the
            # deadline (stage 1's when no stage finished); an estimator that takes censored
            # observations gets that, others the stage reached (stage 1 at the stop time)
            censored = row if no_output else d.candidate
            if (row == d.candidate and not no_output) or not self.estimator.update_censored(
                    max(latency, self._real_deadline), float(self.profile.t_prof[censored, d.setting]),
                    (censored, d.setting)):
                self.estimator.update(latency, float(t_prof), (row, d.setting))
            self.stats.slowdown_clamped += self.estimator.guard.clamped - clamped_before
            self.stats.profile_departures = self.estimator.departures
        else:
            self.stats.latency_rejected += 1
        if self.config.step > 0 and lat_ok:
            self._aci(no_output or self._missed(latency, row, energy), self.config)
        if self._sequence is not None:
            used = elapsed if elapsed is not None else (latency if lat_ok else None)
            if used is not None and math.isfinite(used) and used >= 0:
                self._sequence.elapsed += float(used)
        if self._sequence is not None:
            self._sequence.done += 1
        p_last = float(self.profile.power[row, d.setting])
        if idle_power is None and energy is not None and lat_ok:
            per = d.deadline if period is None else float(period)
            ran = float(latency) if elapsed is None else max(float(latency), elapsed)
            idle_t = per - ran  # the model ran until `ran`: what is left of the period was idle
            if math.isfinite(per) and idle_t >= 0.05 * per:
                idle_power = (energy - p_last * ran) / idle_t
        if idle_power is not None:
            n_before = self.idle.n
            ref = self._idle_ref[row if self._idle_ref.shape[0] > 1 else 0, d.setting]
            if self.config.idle_model == "headroom" and math.isfinite(idle_power) and idle_power >= 0:
                # the share of the headroom filled: none when the idle draw is at or below the profile's
                # (a bad measurement goes on to the filter's guard, which rejects it)
                idle_power = max(0.0, float(idle_power) - float(self.profile.idle_power[d.setting]))
            self.idle.update(idle_power, float(ref))  # Eq. 8: φ ← measured idle / reference
            if self.idle.n == n_before:
                self.stats.idle_rejected += 1
        self.stats.history.append((float(latency) if lat_ok else math.nan, self.estimator.mean, self.estimator.std))
        spent = self._decide_time + (self._clock() - t0)
        full = len(self._overheads) == self._overheads.maxlen
        gone = self._overheads[0] if full else -1.0
        self._overheads.append(spent)
        if spent >= self._overhead_max:
            self._overhead_max = spent
        elif gone >= self._overhead_max:  # the worst one left the window
            self._overhead_max = max(self._overheads)


    def _missed(self, latency: float, row: int, energy: float | None) -> bool:
        """Whether the last input missed: late, stopped at a stage below the accuracy goal, or over budget
        (an anytime model that finished no stage is a miss before this is asked)."""
        if latency > self._real_deadline:
            return True
        goal = self.goal
        acc = getattr(goal, "accuracy", None)
        if acc is not None and float(self.profile.q[row]) < acc - 1e-9:
            return True
        budget = goal.energy_budget()  # (energy: a reading the guard admitted, else None)
        return energy is not None and math.isfinite(budget) and energy > budget

    def _aci(self, missed: bool, cfg: ControllerConfig) -> None:
        """Adaptive conformal update of the allowed miss probability (Gibbs and Candès, 2021)."""
        self.stats.misses += int(missed)
        chance = cfg.allowed_miss
        assert chance is not None and self.miss_allowance is not None
        a = self.miss_allowance + cfg.step * (chance - float(missed))
        lo, hi = cfg.aci_range
        self.miss_allowance = min(hi, max(lo, a))


def _measured(x: Any) -> float:
    """A measurement as a float; NaN (rejected and counted by the guards) for anything that is not
    a real number: non-numeric, complex, bool, or an integer too large for a float."""
    if type(x) is float:  # the common case, without numpy's type inspection
        return x
    if isinstance(x, (bool, np.bool_)) or np.iscomplexobj(x):
        return math.nan
    try:
        return float(x)  # numpy scalars and 0-d arrays too
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _call_args(stage: Any, period: Any, elapsed: Any) -> tuple[int | None, float | None, float | None]:
    """Check ``observe``'s non-measurement arguments: a clear TypeError or ValueError."""
    if stage is not None:
        if isinstance(stage, (bool, np.bool_)) or not isinstance(stage, (int, np.integer)):
            raise TypeError(f"observe(stage=...) must be an int (the 1-based stage reached), got {stage!r}")
        if stage < 0:
            raise ValueError(f"observe(stage=...) must be >= 0, got {stage}")
    out: list[float | None] = []
    for name, v in (("period", period), ("elapsed", elapsed)):
        if v is None:
            out.append(None)
            continue
        f = _measured(v)
        if math.isnan(f) and not (isinstance(v, float) and math.isnan(v)):
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                raise ValueError(f"observe({name}=...) is too large for a float")
            raise TypeError(f"observe({name}=...) must be a real number of seconds, got {v!r}")
        if not (math.isfinite(f) and f >= 0):
            raise ValueError(f"observe({name}=...) must be a finite number of seconds >= 0, got {v!r}")
        out.append(f)
    return (None if stage is None else int(stage)), out[0], out[1]


def initial_idle_ratio(profile: Profile) -> float:
    """Initial φ of Eq. 8 from the profile: the median over configurations of idle_power[j] / p[i, j]
    (docs/controller.md, "Energy of a period")."""
    return float(np.median(profile.idle_power[None, :] / profile.power))
