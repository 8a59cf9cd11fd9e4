"""Record a workload trace on real hardware (``alert trace record``): every input of a stream under
every configuration of a profile, input by input, while the workload runs.

For each input n the recorder runs every model of the profile at every setting of the knob, in
an order shuffled per input (so no model or setting always runs first after a setting change, or
always at the same point of a contention phase). An anytime model runs all its stages once
(``init_state``/``run_stage``); its row for stage k is the end time of stage k, so the rows are
cumulative by construction. Per cell it records:

- ``latency[n, c, j]``: end time of the candidate's output, seconds from the start of the run;
- ``power[n, c, j]``: with the CPU-time model (:class:`alert.system.meters.CpuTimeMeter`), busy
  core-seconds of this process up to that stage × W per core / latency + idle W (per stage);
  with any other meter, energy / time of the whole run (the same for every stage);
- ``correct[n, c]``: 1 when most images of the input's batch are predicted right by that
  candidate's output (the exact counts are kept in ``metadata["correct_count"]``).

``idle_power[n, j]`` is the meter's idle reading. With the CPU-time model and a gap, it is the
model applied to the gaps after the runs at setting j: idle W + W per core × CPU seconds this
process burnt while "idle" (intra-op threads that spin-wait after a multi-threaded run) / gap
time; without a gap, the model's idle watts. Co-located jobs are other processes and are not
counted. Other meters: a short idle window per input and setting. ``state[n]`` is the workload's state while
input n was recorded: the larger of the states at its start and at its end (on/off: 1 = contention on
during any part of it; a level schedule: the index of the higher step level). With a level schedule,
``metadata["contention_intensity"][n]`` is the mean scheduled intensity (0-1, drift included) sampled
before each of the input's runs.

The knob is only applied here; the caller restores it (``alert.system.guard.KnobGuard``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alert.evaluation.traces import Trace, TraceBuilder
from alert.profile import Profile, Setting, build_profile, measured_model
from alert.profiler import _no_grad, n_stages
from alert.system.base import Knob, Meter


@dataclass(frozen=True)
class RecorderConfig:
    """How to record. ``warmup``: runs of every model before the first input (at the top setting).
    ``idle_s``: idle window per input and setting for meters other than the CPU-time model.
    ``gap_s``: idle time after every recorded run, so the next run starts like a paced input after
    an idle period (with a CPU quota: at least one CFS period, so the quota's budget has refilled);
    with the CPU-time model the gap is metered and gives the idle power of the run's setting.
    ``warm_runs``: unrecorded runs of the same configuration on the same input right before the
    recorded one, each followed by the gap, so the recorded run finds the caches and the thread
    pool as a stream of that configuration leaves them (a live controller repeats its choice on
    most inputs; without them every recorded run follows the other configurations)."""

    warmup: int = 3
    seed: int = 0
    idle_s: float = 0.0
    name: str = "trace"
    progress: bool = True
    gap_s: float = 0.0
    warm_runs: int = 0

    def __post_init__(self) -> None:
        if self.warmup < 0 or self.idle_s < 0 or self.gap_s < 0 or self.warm_runs < 0:
            raise ValueError(f"warmup, idle_s, gap_s and warm_runs must be >= 0, got {self.warmup}, {self.idle_s}, "
                             f"{self.gap_s}, {self.warm_runs}")


@dataclass(frozen=True)
class StageRun:
    """One run of a model on one input: per stage end time (s), busy CPU seconds, predictions."""

    ends: np.ndarray          # (K,)
    busy: np.ndarray          # (K,)
    predictions: np.ndarray   # (K, batch)


def _classes(out: Any) -> np.ndarray:
    a = np.asarray(out.detach() if hasattr(out, "detach") else out)
    return a.reshape(-1, a.shape[-1]).argmax(-1)


def run_all_stages(model: Any, x: Any, clock: Callable[[], float] = time.perf_counter,
                   cpu: Callable[[], float] = time.process_time) -> StageRun:
    """Run every stage of ``model`` on ``x``; clocks are read right after each stage, before argmax."""
    with _no_grad():
        c0 = cpu()
        t0 = clock()
        outs, ends, busy = [], [], []
        if n_stages(model) > 1:
            state = model.init_state(x)
            for k in range(model.n_stages):
                outs.append(model.run_stage(k, state))
                ends.append(clock() - t0)
                busy.append(cpu() - c0)
        else:
            out = model(x)
            ends.append(clock() - t0)
            busy.append(cpu() - c0)
            outs.append(out[-1] if isinstance(out, (list, tuple)) else out)
    return StageRun(np.asarray(ends), np.asarray(busy), np.stack([_classes(o) for o in outs]))


def _model_rows(profile: Profile, models: Mapping[str, Any]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for m in profile.models:
        if m.name not in models:
            raise ValueError(f"profile {profile.name!r} names model {m.name!r} but no model of that name was "
                             f"given (have {sorted(models)}). Fix: the models entry point must return every "
                             "model of the profile")
        k = n_stages(models[m.name])
        if k != m.n_stages:
            raise ValueError(f"model {m.name!r}: the profile has {m.n_stages} stage(s) but the model runs {k}. "
                             "Fix: record with the profile made for these models")
        rows[m.name] = list(profile.model_rows(m.name))
    return rows


def record_trace(models: Mapping[str, Any], profile: Profile, inputs: Sequence[tuple[Any, Any]], knob: Knob,
                 meter: Meter, config: RecorderConfig | None = None,
                 state: Callable[[], int] = lambda: 0, state_names: Sequence[str] = ("none",),
                 metadata: Mapping[str, Any] | None = None,
                 clock: Callable[[], float] = time.perf_counter, cpu: Callable[[], float] = time.process_time,
                 sleep: Callable[[float], None] = time.sleep,
                 intensity: Callable[[], float] | None = None) -> Trace:
    """Record ``inputs`` (each ``(x, labels)``; labels may be None) under every configuration.
    ``intensity``: the workload's scheduled intensity now, sampled before every run and kept per
    input (mean) in ``metadata["contention_intensity"]``."""
    from alert.system.meters import CpuTimeMeter

    cfg = config or RecorderConfig()
    rows = _model_rows(profile, models)
    values = [knob.check(s.value) for s in profile.settings]
    N, (C, L) = len(inputs), profile.shape
    if N == 0:
        raise ValueError("no inputs to record. Fix: pass at least one input")
    cpu_model = meter if isinstance(meter, CpuTimeMeter) else None
    tb = TraceBuilder(profile, N)
    idle_busy = np.zeros((N, L))
    idle_time = np.zeros((N, L))
    count = np.zeros((N, C), dtype=np.int64)
    batch = np.zeros(N, dtype=np.int64)
    st = np.zeros(N, dtype=np.int64)
    level = np.zeros(N)
    changed = 0
    rng = np.random.default_rng(cfg.seed)
    cells = [(j, m) for j in range(L) for m in rows]
    top = int(np.argmax(values))
    knob.apply(values[top])
    for _ in range(cfg.warmup):
        for m in rows:
            run_all_stages(models[m], inputs[0][0], clock, cpu)
    bar = _progress(N, cfg.progress)
    for n, (x, labels) in enumerate(inputs):
        s0 = int(state())
        for i in rng.permutation(len(cells)):
            j, m = cells[i]
            if intensity is not None:
                level[n] += intensity() / len(cells)
            knob.apply(values[j])
            for _ in range(cfg.warm_runs):
                run_all_stages(models[m], x, clock, cpu)
                if cfg.gap_s > 0:
                    sleep(cfg.gap_s)
            if cpu_model is None:
                meter.start()
            r = run_all_stages(models[m], x, clock, cpu)
            if cpu_model is None:
                reading = meter.stop()
                pw = np.full(len(r.ends), reading.energy_j / max(reading.seconds, 1e-12))
            else:
                pw = cpu_model.watts_per_core * r.busy / np.maximum(r.ends, 1e-12) + cpu_model.idle_power
            if cfg.gap_s > 0:  # idle after the run, metered: threads that spin after their work show here
                c_a, t_a = cpu(), clock()
                sleep(cfg.gap_s)
                idle_busy[n, j] += cpu() - c_a
                idle_time[n, j] += clock() - t_a
            tb.put(m, j, r.ends, pw, inputs=n)
            if labels is not None:
                lab = np.atleast_1d(np.asarray(labels)).reshape(-1)
                count[n, rows[m]] = (r.predictions == lab[None, :]).sum(axis=1)
                batch[n] = lab.size
        for j in range(L):
            if cpu_model is not None:
                tb.idle_power[n, j] = cpu_model.idle_power + (
                    cpu_model.watts_per_core * idle_busy[n, j] / idle_time[n, j] if idle_time[n, j] > 0 else 0.0)
            elif cfg.idle_s > 0:
                knob.apply(values[j])
                meter.start()
                sleep(cfg.idle_s)
                rd = meter.stop()
                tb.idle_power[n, j] = rd.energy_j / max(rd.seconds, 1e-12)
            # otherwise the profile's idle power
        s1 = int(state())
        st[n] = max(s0, s1)
        changed += int(s0 != s1)
        bar(n)
    has_labels = bool(batch.any())
    if has_labels:
        tb.correct = np.where(2 * count > batch[:, None], 1, 0).astype(np.int8)
    model = getattr(meter, "power_model", None)
    if model is not None:
        metadata = {"power_model": model.as_dict(), **dict(metadata or {})}
    meta = {"source": "alert trace record", "meter": getattr(meter, "method", type(meter).__name__),
            "knob": knob.kind, "order": f"every (setting, model) once per input, shuffled (seed {cfg.seed})",
            "inputs_with_state_change": changed, "warm_runs": cfg.warm_runs, **dict(metadata or {})}
    if intensity is not None:
        meta["contention_intensity"] = [round(float(v), 4) for v in level]
    if has_labels:
        meta["batch"] = int(batch.max())
        meta["correct_count"] = count.tolist()
    return tb.build(cfg.name, meta, st if len(state_names) > 1 else None, state_names)


def _progress(total: int, on: bool) -> Callable[[int], None]:
    if not on:
        return lambda n: None
    t0 = time.perf_counter()

    def step(n: int) -> None:
        if (n + 1) % 25 == 0 or n + 1 == total:
            el = time.perf_counter() - t0
            print(f"  recorded {n + 1}/{total} inputs in {el:.0f} s", file=sys.stderr, flush=True)
    return step


def measured_accuracy(trace: Trace) -> np.ndarray | None:
    """Share of images predicted right per candidate (from ``metadata["correct_count"]``), or None."""
    cnt = trace.metadata.get("correct_count")
    b = trace.metadata.get("batch")
    if cnt is None or not b:
        return None
    return np.asarray(cnt, dtype=float).sum(axis=0) / (float(b) * trace.n_inputs)


def profile_from_trace(trace: Trace, base: Profile, states: Sequence[int] = (0,)) -> Profile:
    """A profile whose latency (mean, std, p95 per stage), power and idle power are those of the
    trace's inputs in ``states`` (a quiet recording), and whose accuracies come from ``base``."""
    keep = np.isin(trace.states(), list(states))
    if not keep.any():
        raise ValueError(f"trace {trace.name!r}: no input in states {list(states)}. Fix: record a quiet trace")
    lat, pw = trace.latency[keep], trace.power[keep]
    models = []
    for m in base.models:
        rows = list(base.model_rows(m.name))
        models.append(measured_model(m.name, m.accuracy, lat[:, rows, :], pw[:, rows, :].mean(0), kind=m.kind))
    idle = trace.idle_power[keep].mean(0)
    settings = tuple(Setting(s.name, s.value, s.unit, float(idle[j])) for j, s in enumerate(base.settings))
    meta = {**base.metadata, "method": f"latency and power: mean of {int(keep.sum())} inputs of trace "
            f"{trace.name!r} (alert trace record); accuracy: {base.metadata.get('method', 'base profile')}",
            "recorded": dict(trace.metadata)}
    meta["recorded"].pop("correct_count", None)
    return build_profile(models, settings, base.q_fail, base.name, meta)


def save_compressed(trace: Trace, path: Any) -> None:
    """Write ``trace`` as a compressed ``.npz`` (``Trace.load`` reads it like any other)."""
    import json

    arrays: dict[str, Any] = {"header": np.array(json.dumps(trace.header())), "latency": trace.latency,
                                     "power": trace.power, "idle_power": trace.idle_power}
    if trace.state is not None:
        arrays["state"] = trace.state
    if trace.correct is not None:
        arrays["correct"] = trace.correct
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


