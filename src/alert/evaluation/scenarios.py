"""Synthetic, paper-shaped scenarios: platforms × tasks × workloads → (profile, trace).

These are generators, not measurements. Every number below is a modelling choice; the table in
docs/evaluation.md gives each one's source (the paper's text, the measured facts of docs/system.md, or
"shape assumption" where the paper gives no number). They are never tuned to make results agree.

Latency model, for input n, candidate c (stage k of an anytime model is the cumulative sum of
its stage increments), setting j::

    t[n, c, j] = t_prof[c, j] · G[n] · S[n, c, j] · E[n, c, j]

- ``G[n]``   per-input factor shared by all configurations (input difficulty, OS noise): lognormal
             with σ = ``input_sigma`` + ``contention_sigma``·intensity[n], times a rare heavy tail
             1 + ``tail_scale``·Pareto(``tail_alpha``) with probability ``tail_prob``.
- ``S``      contention slowdown 1 + intensity[n] · amplitude · model_sensitivity[c] ·
             setting_factor[j]: memory contention hurts memory-bound models and fast (high-cap)
             settings more; compute contention hurts low caps more (the co-located job shares
             the cap). Different per configuration, so ALERT's single global ξ is an approximation.
- ``E``      small independent per-configuration jitter, lognormal σ = ``config_sigma``.

Contention episodes: a job that starts and stops. The first ``first_off`` inputs are quiet, then
"on" and "off" periods alternate with lengths uniform in ±40 % of ``mean_on`` / ``mean_off``;
each episode has an intensity uniform in [0.75, 1.25], with ±10 % per-input jitter.
DNN-idle power rises under contention by ``idle_share``·intensity of the gap between the inference
power and the idle power (the co-located job draws power while the DNN waits).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from alert.evaluation.traces import Trace
from alert.profile import Model, Profile, Setting

Variant = Literal["paper", "noisy"]
WORKLOADS: tuple[str, ...] = ("default", "memory", "compute")
VARIANTS: tuple[str, ...] = ("paper", "noisy")


@dataclass(frozen=True)
class ModelSpec:
    """A candidate DNN: ``work`` in seconds at relative speed 1 (per-stage end times for anytime)."""

    name: str
    kind: Literal["traditional", "anytime"]
    work: tuple[float, ...]
    accuracy: tuple[float, ...]
    mem_sensitivity: float      # relative memory-boundness (1 = average)
    cpu_sensitivity: float      # relative sensitivity to a co-located compute job


@dataclass(frozen=True)
class TaskSpec:
    name: str
    description: str
    models: tuple[ModelSpec, ...]
    q_fail: float
    input_sigma_scale: float    # multiplies the platform's per-input σ (NLP words vary a bit more)


@dataclass(frozen=True)
class ContentionSpec:
    amplitude: float            # slowdown − 1 for an average configuration at intensity 1
    setting_slope: float        # setting_factor spans 1 ± slope across settings (sign by kind)
    idle_share: float           # DNN-idle power rises by this share of (inference − idle) power
    contention_sigma: float     # extra per-input σ under contention at intensity 1 (paper variant)


@dataclass(frozen=True)
class Platform:
    name: str
    description: str
    unit: str
    values: tuple[float, ...]           # setting values (W caps or MHz)
    speed: tuple[float, ...]            # relative throughput per setting (1 = default setting)
    infer_power: tuple[float, ...]      # W while inferring, per setting
    idle_power: tuple[float, ...]       # W while the DNN waits, per setting
    work_scale: float                   # multiplies every model's work
    model_power_spread: float           # inference power × (1 − spread + spread·work/max work)
    input_sigma: float                  # per-input lognormal σ, no contention (paper variant)
    config_sigma: float
    memory: ContentionSpec
    compute: ContentionSpec
    tasks: tuple[str, ...]


@dataclass(frozen=True)
class NoiseVariant:
    """Per-input spread: ``paper`` calibrated to §2.2 (small without contention), ``noisy`` to real
    batch-1 inference (p95/median ≈ 1.35 quiet, ≈ 2 under heavy CPU contention)."""

    input_sigma: float | None     # None: the platform's value (times the task's scale)
    contention_sigma_scale: float  # multiplies the platform's contention σ
    tail_prob: float
    tail_scale: float
    tail_alpha: float


VARIANT_SPECS: dict[str, NoiseVariant] = {
    "paper": NoiseVariant(None, 1.0, tail_prob=0.01, tail_scale=0.25, tail_alpha=3.0),
    # exp(1.645·0.18) = 1.34; on the CPUs exp(1.645·(0.18 + 2·0.12)) = 1.99
    "noisy": NoiseVariant(0.18, 2.0, tail_prob=0.02, tail_scale=0.5, tail_alpha=2.5),
}

# --------------------------------------------------------------------------- tasks
_IMAGE = TaskSpec(
    "image", "image classification: sparse-ResNet-like family + 4-stage depth-nested anytime model (Table 3)",
    (ModelSpec("sparse-resnet-10", "traditional", (0.020,), (0.842,), 1.30, 1.05),
     ModelSpec("sparse-resnet-18", "traditional", (0.034,), (0.881,), 1.15, 1.00),
     ModelSpec("sparse-resnet-34", "traditional", (0.061,), (0.905,), 1.00, 1.00),
     ModelSpec("sparse-resnet-50", "traditional", (0.095,), (0.921,), 0.85, 0.95),
     ModelSpec("sparse-resnet-101", "traditional", (0.170,), (0.932,), 0.75, 0.95),
     ModelSpec("depth-nest", "anytime", (0.022, 0.047, 0.098, 0.175), (0.835, 0.874, 0.901, 0.925), 1.05, 1.00)),
    q_fail=0.1, input_sigma_scale=1.0)
_NLP = TaskSpec(
    "nlp", "next-word prediction, one input per word with a per-word deadline: RNN width family + "
    "width-nested anytime RNN (Table 3)",
    (ModelSpec("rnn-w1", "traditional", (0.006,), (0.300,), 1.20, 1.00),
     ModelSpec("rnn-w2", "traditional", (0.010,), (0.330,), 1.25, 1.00),
     ModelSpec("rnn-w3", "traditional", (0.016,), (0.350,), 1.30, 1.00),
     ModelSpec("rnn-w4", "traditional", (0.026,), (0.362,), 1.35, 1.00),
     ModelSpec("width-nest", "anytime", (0.007, 0.013, 0.020, 0.029), (0.292, 0.322, 0.342, 0.356), 1.30, 1.00)),
    q_fail=0.0001, input_sigma_scale=1.5)
TASK_SPECS: dict[str, TaskSpec] = {"image": _IMAGE, "nlp": _NLP}

# --------------------------------------------------------------------------- platforms
_cpu1_caps = np.arange(10.0, 35.01, 2.5)
_cpu2_caps = np.arange(40.0, 100.01, 5.0)
_gpu_clk = np.array([900.0, 1200.0, 1500.0, 1710.0, 1950.0])
PLATFORMS: dict[str, Platform] = {
    "cpu1": Platform(
        "cpu1", "laptop CPU (Core-i7 class), RAPL package caps 10-35 W in 2.5 W steps (§4)", "W",
        tuple(_cpu1_caps), tuple((_cpu1_caps / 35.0) ** 0.65), tuple(0.97 * _cpu1_caps),
        tuple(2.0 + 0.05 * _cpu1_caps), 1.0, 0.0, input_sigma=0.035, config_sigma=0.015,
        memory=ContentionSpec(0.50, 0.3, 0.25, 0.12), compute=ContentionSpec(0.60, 0.3, 0.45, 0.12),
        tasks=("image", "nlp")),
    "cpu2": Platform(
        "cpu2", "server CPU (Xeon Gold class), RAPL caps 40-100 W in 5 W steps (§2.1 Figure 3: 100 W "
        "more than 2x faster than 40 W; speed saturates near 88 W)", "W",
        tuple(_cpu2_caps), tuple(np.minimum(_cpu2_caps, 88.0) / 88.0), tuple(0.97 * np.minimum(_cpu2_caps, 90.0)),
        tuple(np.full(_cpu2_caps.shape, 32.0)), 0.6, 0.0, input_sigma=0.03, config_sigma=0.015,
        memory=ContentionSpec(0.40, 0.3, 0.20, 0.12), compute=ContentionSpec(0.45, 0.3, 0.35, 0.12),
        tasks=("image", "nlp")),
    "gpu": Platform(
        "gpu", "GPU (RTX 2080 class), five locked SM clocks with a measured-style power table", "MHz",
        tuple(_gpu_clk), tuple((_gpu_clk / _gpu_clk.max()) ** 0.9),
        tuple(60.0 + 160.0 * (_gpu_clk / _gpu_clk.max()) ** 2.5), tuple(np.full(_gpu_clk.shape, 38.0)),
        0.08, 0.2, input_sigma=0.02, config_sigma=0.01,
        memory=ContentionSpec(0.06, 0.1, 0.05, 0.02), compute=ContentionSpec(0.30, 0.1, 0.30, 0.05),
        tasks=("image",)),
}


def cells() -> list[tuple[str, str]]:
    """(platform, task) pairs of the suite: both tasks on the CPUs, image on the GPU (§5.1 footnote 4)."""
    return [(p, t) for p, spec in PLATFORMS.items() for t in spec.tasks]


# --------------------------------------------------------------------------- profile
def profile_for(platform: str, task: str) -> Profile:
    """The quiet-environment profile (mean latencies, powers) ALERT is given for a cell."""
    pl = _platform(platform)
    ts = _task(task)
    speed = np.asarray(pl.speed)
    max_work = max(m.work[-1] for m in ts.models)
    models = []
    for m in ts.models:
        work = np.asarray(m.work) * pl.work_scale
        lat = work[:, None] / speed[None, :]
        pf = 1.0 - pl.model_power_spread + pl.model_power_spread * m.work[-1] / max_work
        pw = np.broadcast_to(np.asarray(pl.infer_power) * pf, lat.shape).copy()
        acc = np.asarray(m.accuracy, dtype=float)
        models.append(Model(m.name, m.kind, acc, lat, pw))
    settings = tuple(Setting(f"{v:g}{pl.unit}", float(v), pl.unit, float(i))
                     for v, i in zip(pl.values, pl.idle_power, strict=False))
    meta = {"platform": pl.description, "task": ts.description, "method": "synthetic: alert.evaluation.scenarios",
            "default_setting": len(settings) - 1}
    return Profile(tuple(models), settings, ts.q_fail, f"{platform}-{task}", meta)


# --------------------------------------------------------------------------- traces
def contention_schedule(n: int, rng: np.random.Generator, first_off: int = 40, mean_on: float = 70.0,
                        mean_off: float = 50.0) -> np.ndarray:
    """Per-input intensity (0 = quiet) of a co-located job that starts and stops repeatedly."""
    inten = np.zeros(n)
    pos = min(first_off, n)
    on = True
    while pos < n:
        length = max(1, int(round((mean_on if on else mean_off) * rng.uniform(0.6, 1.4))))
        if on:
            level = rng.uniform(0.75, 1.25)
            seg = min(length, n - pos)
            inten[pos:pos + seg] = level * (1.0 + 0.1 * rng.uniform(-1, 1, seg))
        pos += length
        on = not on
    return inten


def generate(platform: str, task: str, workload: str, variant: Variant = "paper", n_inputs: int = 300,
             seed: int = 0) -> Trace:
    """Synthesize a trace for one cell; deterministic in (platform, task, workload, variant, seed)."""
    if workload not in WORKLOADS:
        raise ValueError(f"workload {workload!r}: use one of {WORKLOADS}")
    if variant not in VARIANT_SPECS:
        raise ValueError(f"variant {variant!r}: use one of {VARIANTS}")
    if n_inputs < 1:
        raise ValueError("n_inputs must be >= 1")
    pl = _platform(platform)
    ts = _task(task)
    var = VARIANT_SPECS[variant]
    prof = profile_for(platform, task)
    key = f"{platform}/{task}/{workload}/{variant}/{seed}".encode()
    rng = np.random.default_rng(zlib.crc32(key))
    N, (C, L) = n_inputs, prof.shape

    if workload == "default":
        inten = np.zeros(N)
        spec = replace(pl.memory, amplitude=0.0, idle_share=0.0)
    else:
        spec = pl.memory if workload == "memory" else pl.compute
        inten = contention_schedule(N, rng)
    state = (inten > 0).astype(np.int64) if workload != "default" else None

    in_sigma = var.input_sigma if var.input_sigma is not None else pl.input_sigma * ts.input_sigma_scale
    c_sigma = var.contention_sigma_scale * spec.contention_sigma
    sig = in_sigma + c_sigma * inten
    G = np.exp(sig * rng.standard_normal(N))
    tail = rng.random(N) < var.tail_prob
    G *= np.where(tail, 1.0 + var.tail_scale * rng.pareto(var.tail_alpha, N), 1.0)

    # per-configuration contention slowdown
    v = np.asarray(pl.values)
    vn = (v - v.min()) / max(v.max() - v.min(), 1e-12)              # 0 at the lowest setting, 1 at the highest
    if workload == "memory":
        set_f = 1.0 - spec.setting_slope + 2 * spec.setting_slope * vn
        sens = np.array([ts.models[m].mem_sensitivity for m in prof.cand_model])
    else:
        set_f = 1.0 + spec.setting_slope - 2 * spec.setting_slope * vn
        sens = np.array([ts.models[m].cpu_sensitivity for m in prof.cand_model])
    S = 1.0 + inten[:, None, None] * spec.amplitude * sens[None, :, None] * set_f[None, None, :]

    # stage increments (traditional rows: the whole latency) so anytime stages stay cumulative
    inc = prof.stage_increments(prof.t_prof)
    E = np.exp(pl.config_sigma * rng.standard_normal((N, C, L)))
    latency = prof.cumulate_stages(inc[None] * G[:, None, None] * S * E)

    power = prof.power[None] * np.exp(0.02 * rng.standard_normal((N, C, L)))
    idle = prof.idle_power[None, :] + inten[:, None] * spec.idle_share * (np.asarray(pl.infer_power) - prof.idle_power)[None, :]
    idle = idle * np.exp(0.03 * rng.standard_normal((N, L)))
    # correctness: one difficulty per input shared by all models (harder inputs fool every model)
    u = rng.random(N)
    correct = (u[:, None] < prof.q[None, :]).astype(np.int8)
    meta = {"platform": platform, "task": task, "workload": workload, "variant": variant, "seed": seed,
            "generator": "alert.evaluation.scenarios.generate", "intensity": np.round(inten, 4).tolist()}
    names = ("none", workload) if workload != "default" else ("none",)
    return Trace(prof, latency, power, idle, state, names, correct, f"{platform}-{task}-{workload}-{variant}", meta)


def spread(trace: Trace, state: int | None = None) -> dict[str, float]:
    """Median and p95/median of the slowdown t/t_prof over inputs (all configurations pooled)."""
    x = trace.latency / trace.profile.t_prof[None]
    if state is not None:
        x = x[trace.states() == state]
    med = np.median(x, axis=0)
    p95 = np.percentile(x, 95, axis=0)
    return {"median_slowdown": float(np.median(med)), "p95_over_median": float(np.median(p95 / med))}


def _platform(name: str) -> Platform:
    if name not in PLATFORMS:
        raise ValueError(f"platform {name!r}: use one of {sorted(PLATFORMS)}")
    return PLATFORMS[name]


def _task(name: str) -> TaskSpec:
    if name not in TASK_SPECS:
        raise ValueError(f"task {name!r}: use one of {sorted(TASK_SPECS)}")
    return TASK_SPECS[name]
