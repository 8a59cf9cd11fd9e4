"""A built-in simulated stream for ``alert demo``: calm, then a slowdown episode, then calm.

The environment multiplies every configuration's profiled latency by a slowdown that is 1 while
calm and ``episode_slowdown`` during the episode, times per-input log-normal noise (small while
calm, larger in the episode). ALERT is compared with the static configuration that is best for the
goal in the calm profile (what one would pick offline).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from alert import outcome as kernel
from alert.controller import Controller, ControllerConfig
from alert.goals import MaximizeAccuracy
from alert.profile import Profile


@dataclass(frozen=True)
class DemoConfig:
    inputs: int = 90
    episode: tuple[int, int] = (30, 60)
    episode_slowdown: float = 1.6
    calm_noise: float = 0.03
    episode_noise: float = 0.15
    deadline_factor: float = 1.25   # deadline = factor x calm latency of the largest anytime model
    power_budget: float = 25.0      # W averaged over each input period
    seed: int = 0


def default_profile() -> Profile:
    """The laptop-shaped example profile shipped with the package."""
    ref = resources.files("alert") / "data" / "laptop-cpu.json"
    with resources.as_file(ref) as p:
        return Profile.load(Path(p))


@dataclass
class Outcome:
    latency: float         # time the inference ran (an anytime model is stopped at the deadline)
    accuracy: float        # profiled accuracy of the output available at the deadline
    energy: float          # inference plus DNN-idle energy of the period
    missed: bool           # no output by the deadline, or energy budget missed
    observed: float        # latency to report to the controller ...
    stage: int | None      # ... and the 1-based anytime stage it belongs to


def outcome(profile: Profile, c: int, j: int, slowdown: float, deadline: float, budget: float) -> Outcome:
    """What an input delivers (the rule of ``alert.outcome``) when every stage takes ``slowdown``
    times its profiled time: anytime models stop at the deadline with their last finished stage; a
    late traditional model delivers q_fail; energy covers inference plus DNN-idle time."""
    o = kernel.input_outcome(profile, c, profile.t_prof[:, j] * slowdown, deadline,
                             power=float(profile.power[c, j]), idle_power=float(profile.idle_power[j]))
    observed, _, stage = kernel.observation(profile, c, o.row, o.output_time, deadline)
    missed = not o.on_time or o.energy > budget * (1 + 1e-9)
    return Outcome(o.run_time, o.accuracy, o.energy, missed, observed, stage)


def run_demo(profile: Profile, cfg: DemoConfig, echo=print) -> dict[str, dict[str, float]]:
    anytime_rows = np.flatnonzero(profile.is_anytime)
    ref_row = anytime_rows[-1] if anytime_rows.size else int(np.argmax(profile.t_prof[:, -1]))
    deadline = cfg.deadline_factor * float(profile.t_prof[ref_row].min())
    goal = MaximizeAccuracy(deadline=deadline, power=cfg.power_budget)
    budget = goal.energy_budget()
    ctl = Controller(profile, goal, ControllerConfig(overhead=0.0))
    # static choice: what ALERT picks for the calm profile with no feedback
    static = Controller(profile, goal, ControllerConfig(overhead=0.0)).decide()
    rng = np.random.default_rng(cfg.seed)
    echo(f"goal: maximise accuracy, deadline {deadline * 1e3:.1f} ms, power budget {cfg.power_budget:g} W "
         f"({budget:.3f} J per input); slowdown x{cfg.episode_slowdown:g} during inputs "
         f"{cfg.episode[0]}-{cfg.episode[1] - 1}")
    echo(f"static baseline: {static.label} @ {static.setting_name}")
    echo(f"{'n':>3} {'env':>5} {'choice':<22}{'setting':>8} {'mu':>5} {'sigma':>5} {'lat ms':>7} {'acc':>6} "
         f"{'E (J)':>6}  {'static acc':>10} {'E':>6}")
    phases: dict[str, list[tuple[float, ...]]] = {"calm": [], "episode": [], "calm again": []}
    for n in range(cfg.inputs):
        in_ep = cfg.episode[0] <= n < cfg.episode[1]
        phase = "episode" if in_ep else ("calm" if n < cfg.episode[0] else "calm again")
        s = (cfg.episode_slowdown if in_ep else 1.0) * math.exp(rng.normal(0, cfg.episode_noise if in_ep else cfg.calm_noise))
        d = ctl.decide()
        o = outcome(profile, d.candidate, d.setting, s, deadline, budget)
        so = outcome(profile, static.candidate, static.setting, s, deadline, budget)
        ctl.observe(o.observed, stage=o.stage, idle_power=profile.idle_power[d.setting])
        phases[phase].append((o.accuracy, o.energy, o.missed, so.accuracy, so.energy, so.missed))
        echo(f"{n:>3} {s:>5.2f} {d.label:<22}{d.setting_name:>8} {ctl.estimator.mean:>5.2f} "
             f"{ctl.estimator.std:>5.2f} {o.latency * 1e3:>7.1f} {o.accuracy:>6.3f} {o.energy:>6.3f}{'*' if o.missed else ' '}"
             f" {so.accuracy:>10.3f} {so.energy:>6.3f}{'*' if so.missed else ''}")
    summary = {}
    echo("\nsummary (* = input missed its deadline or energy budget)")
    echo(f"{'phase':<12}{'ALERT acc':>10}{'ALERT E':>9}{'misses':>8}{'static acc':>12}{'static E':>10}{'misses':>8}")
    for name, rows in phases.items():
        if not rows:
            continue
        a = np.asarray(rows, dtype=float)
        m = a.mean(axis=0)
        summary[name] = {"alert_accuracy": m[0], "alert_energy": m[1], "alert_miss_rate": m[2],
                         "static_accuracy": m[3], "static_energy": m[4], "static_miss_rate": m[5]}
        echo(f"{name:<12}{m[0]:>10.3f}{m[1]:>9.3f}{m[2]:>8.0%}{m[3]:>12.3f}{m[4]:>10.3f}{m[5]:>8.0%}")
    echo(f"bad measurements rejected: {ctl.stats.latency_rejected}, clamped: {ctl.stats.slowdown_clamped}")
    return summary
