"""The profiler (``alert profile``): measure models under the settings of a knob, write a profile.

For every (model, setting): apply the setting, let it settle, warm up, then run ``repeats``
batch-1 inputs, recording each stage's end time (anytime models run every stage; traditional
models one call), and the energy of the whole block with the meter (power = energy / time).
Latency mean, std and p95 go into the profile per stage. Idle power is measured per setting
over a quiet window. Accuracy per stage comes from a batched pass over labelled samples
(independent of the setting). Every finished cell is written to a checkpoint, so an
interrupted run resumes where it stopped. With ``trace``, the per-input stage end times are
also written as an ``alert-trace`` (the evaluation suite's format).

``period`` (paced mode, ``alert profile --period S``) measures inputs as a stream serves them:
one input every ``period`` seconds with the machine idle in between, instead of back to back
(under a CPU quota or a sleeping thread pool the two differ by up to several times). The
block's energy then includes that idle time; the power of the model is
(energy - idle power x idle time) / busy time, with the setting's measured idle power.

Models come from an entry point ``module:function`` (or ``file.py:function``) returning
``{name: model}``; a model is a torch module, an :class:`alert.nn.anytime.AnytimeNet`, or any
callable. The project's Fashion-MNIST family is available as ``alert.profiler:project_models``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alert.profile import Profile, Setting, build_profile, measured_model
from alert.system.base import Knob, Meter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProfilerConfig:
    """How much to measure, where to checkpoint, and how to name the result."""

    repeats: int = 50
    warmup: int = 5
    settle_s: float = 0.2
    idle_s: float = 0.5
    name: str = "profile"
    q_fail: float = 0.1
    checkpoint: Path | None = None
    progress: bool = True
    metadata: tuple[tuple[str, Any], ...] = ()
    period: float | None = None

    def __post_init__(self) -> None:
        if self.period is not None and not (self.period > 0):
            raise ValueError(f"period must be > 0 seconds (or None: back to back), got {self.period}")
        if self.repeats < 2:
            raise ValueError(f"repeats must be >= 2 to estimate a spread, got {self.repeats}")
        if self.warmup < 0 or self.settle_s < 0 or self.idle_s <= 0:
            raise ValueError("warmup and settle_s must be >= 0 and idle_s > 0")
        if not 0 <= self.q_fail <= 1:
            raise ValueError(f"q_fail must be in [0, 1], got {self.q_fail}")


@dataclass
class Cell:
    """Measurements of one (model, setting)."""

    model: str
    setting: float
    stage_ends: list[list[float]]  # [repeat][stage]
    energy_j: float
    seconds: float
    method: str
    predictions: list[list[int]] | None = None  # [repeat][stage]
    busy_s: float | None = None  # paced: seconds the model ran within the block
    idle_j: float = 0.0  # paced: idle power x idle seconds of the block

    @property
    def power_w(self) -> float:
        if self.busy_s:
            return max(self.energy_j - self.idle_j, 0.0) / self.busy_s
        return self.energy_j / self.seconds

    def stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = np.asarray(self.stage_ends)
        return t.mean(0), t.std(0, ddof=1), np.percentile(t, 95, axis=0)


CHECKPOINT_FIX = "delete the checkpoint to start over (a run writes a new one), or correct the field"


def _is_number(v: Any, lo: float | None = None) -> bool:
    """A finite int or float (not a bool), >= ``lo`` where given."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v) and (lo is None or v >= lo)
    except OverflowError:  # an integer too large for a float
        return False


def _show(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def _no_grad() -> contextlib.AbstractContextManager[Any]:
    torch = sys.modules.get("torch")
    return torch.inference_mode() if torch is not None else contextlib.nullcontext()


def n_stages(model: Any) -> int:
    """Stages of a model that keeps the :class:`alert.nn.anytime.AnytimeNet` contract (``n_stages``,
    ``init_state``, ``run_stage``; a wrapper that keeps it counts too), 1 for anything else."""
    return int(getattr(model, "n_stages", 1)) if hasattr(model, "run_stage") else 1


def _argmax(out: Any) -> int:
    """Predicted class of the first item of a batch of logits."""
    a = np.asarray(out.detach() if hasattr(out, "detach") else out)
    return int(a.reshape(-1, a.shape[-1])[0].argmax())


def stage_times(model: Any, x: Any, clock: Callable[[], float] = time.perf_counter) -> tuple[list[float], list[int]]:
    """End time of every stage (seconds from the start) and each stage's prediction, for one input.

    An anytime model runs through ``init_state``/``run_stage`` (the :class:`AnytimeNet` contract)
    so every stage's output is seen; argmax is taken after the clock is read."""
    with _no_grad():
        if n_stages(model) > 1:
            t0 = clock()
            state = model.init_state(x)
            ends, outs = [], []
            for k in range(model.n_stages):
                outs.append(model.run_stage(k, state))
                ends.append(clock() - t0)
            return ends, [_argmax(o) for o in outs]
        t0 = clock()
        out = model(x)
        t = clock() - t0
        if isinstance(out, (list, tuple)):
            out = out[-1]
        return [t], [_argmax(out)]


def stage_accuracy(model: Any, x: Any, y: np.ndarray, batch: int = 500) -> list[float]:
    """Accuracy of every stage's output over labelled samples (batched; ``model(x)`` returns the
    list of stage logits for an anytime model, or the logits)."""
    k = n_stages(model)
    correct = np.zeros(k)
    with _no_grad():
        for i in range(0, len(y), batch):
            outs = model(x[i:i + batch])
            if not isinstance(outs, (list, tuple)):
                outs = [outs]
            outs = outs[-k:]
            for s, o in enumerate(outs):
                pred = np.asarray(o.detach() if hasattr(o, "detach") else o).argmax(-1)
                correct[s] += int((pred == y[i:i + batch]).sum())
    return (correct / max(1, len(y))).tolist()


def setting_name(value: float, unit: str) -> str:
    short = {"cores": "c", "threads": "t", "W": "W", "MHz": "MHz"}.get(unit, "")
    return f"{value:g}{short}"


class Profiler:
    """Measures ``models`` on ``samples`` for each of ``settings`` of ``knob`` with ``meter``."""

    def __init__(self, models: Mapping[str, Any], samples: Sequence[Any], knob: Knob, settings: Sequence[float],
                 meter: Meter, config: ProfilerConfig | None = None, labels: Sequence[int] | None = None,
                 accuracy: Mapping[str, Sequence[float]] | None = None,
                 accuracy_data: tuple[Any, np.ndarray] | None = None,
                 clock: Callable[[], float] = time.perf_counter, sleep: Callable[[float], None] = time.sleep) -> None:
        self.clock, self.sleep = clock, sleep
        self.models, self.samples = dict(models), list(samples)
        self.knob, self.meter = knob, meter
        self.settings = [knob.check(v) for v in settings]
        self.config = config or ProfilerConfig()
        self.labels = None if labels is None else [int(v) for v in labels]
        self.given_accuracy = dict(accuracy or {})
        self.accuracy_data = accuracy_data
        if not self.models:
            raise ValueError("no models to profile. Fix: the entry point must return {name: model}")
        if len(self.samples) < 1:
            raise ValueError("no input samples. Fix: pass at least one sample")
        if self.accuracy_data is None:
            missing = sorted(set(self.models) - set(self.given_accuracy))
            if missing:
                raise ValueError(f"no accuracy for model {missing[0]!r}. Fix: give labelled samples "
                                 f"or --accuracy {missing[0]}=Q[,Q...] (one Q per stage)")
        self.cells: dict[str, Cell] = {}
        self.idle: dict[str, float] = {}
        self._load_checkpoint()

    # ------------------------------------------------------------- checkpoint
    def _key(self, model: str, setting: float) -> str:
        return f"{model}|{setting:g}"

    def _load_checkpoint(self) -> None:
        ck = self.config.checkpoint
        if ck is None or not Path(ck).exists():
            return
        from alert.safeio import InputError, read_json

        doc = read_json(ck)
        if not isinstance(doc, dict) or not isinstance(doc.get("cells"), dict) or not isinstance(doc.get("idle"), dict):
            raise ValueError(f"{ck}: not a profiler checkpoint. Fix: delete it (a run writes a new one)")
        if (doc.get("settings") != self.settings or doc.get("repeats") != self.config.repeats
                or doc.get("period") != self.config.period):
            raise ValueError(f"{ck}: checkpoint of another run (settings {doc.get('settings')}, repeats "
                             f"{doc.get('repeats')}, period {doc.get('period')}). Fix: delete it or pass the "
                             f"same settings, repeats and period")
        for k, v in doc["idle"].items():
            if not _is_number(v, 0.0):
                raise InputError(str(ck), f"idle[{json.dumps(k)}]", f"idle power {_show(v)}, expected a finite number >= 0",
                                 CHECKPOINT_FIX)
        self.cells = {k: self._checked_cell(str(ck), k, v) for k, v in doc["cells"].items()}
        self.idle = {k: float(v) for k, v in doc["idle"].items()}

    def _checked_cell(self, ck: str, key: str, v: Any) -> Cell:
        """The cell ``key`` of checkpoint ``ck``, every field checked (errors name the file, the
        cell, the field and the fix: delete the checkpoint)."""
        from alert.safeio import InputError

        def bad(name: str, problem: str) -> InputError:
            return InputError(ck, f"cells[{json.dumps(key)}]{'.' + name if name else ''}", problem, CHECKPOINT_FIX)

        fields = set(Cell.__dataclass_fields__)
        if not isinstance(v, dict):
            raise bad("", f"a {type(v).__name__}, expected an object with the fields {sorted(fields)}")
        if set(v) != fields:
            missing, unknown = sorted(fields - set(v)), sorted(set(v) - fields)
            raise bad("", f"missing fields {missing}, unknown fields {unknown}")
        if not isinstance(v["model"], str) or not _is_number(v["setting"]) or key != self._key(v["model"], v["setting"]):
            raise bad("model", f"model {_show(v['model'])} at setting {_show(v['setting'])} does not match the "
                               f"cell's key")
        ends = v["stage_ends"]
        k = n_stages(self.models[v["model"]]) if v["model"] in self.models else None
        if (not isinstance(ends, list) or len(ends) != self.config.repeats
                or not all(isinstance(r, list) and r and len(r) == len(ends[0]) for r in ends)):
            raise bad("stage_ends", f"{_show(ends)}, expected {self.config.repeats} lists (one per repeat) of "
                                    f"the same number of stage end times")
        if k is not None and len(ends[0]) != k:
            raise bad("stage_ends", f"{len(ends[0])} stage end time(s) per repeat, but model {v['model']!r} has "
                                    f"{k} stage(s)")
        if not all(_is_number(t, 0.0) for r in ends for t in r):
            raise bad("stage_ends", "expected finite stage end times >= 0 (seconds), got "
                                    f"{_show(next(t for r in ends for t in r if not _is_number(t, 0.0)))}")
        for name, lo, open_ in (("energy_j", 0.0, False), ("seconds", 0.0, True), ("idle_j", 0.0, False)):
            if not _is_number(v[name], lo) or (open_ and v[name] == lo):
                raise bad(name, f"{_show(v[name])}, expected a finite number {'>' if open_ else '>='} {lo:g}")
        if v["busy_s"] is not None and not _is_number(v["busy_s"], 0.0):
            raise bad("busy_s", f"{_show(v['busy_s'])}, expected null or a finite number >= 0")
        if not isinstance(v["method"], str):
            raise bad("method", f"{_show(v['method'])}, expected the meter's method, a string")
        preds = v["predictions"]
        if preds is not None and not (isinstance(preds, list) and all(
                isinstance(r, list) and all(c is None or (isinstance(c, int) and not isinstance(c, bool)) for c in r)
                for r in preds)):
            raise bad("predictions", f"{_show(preds)}, expected null or lists of class indices (integers)")
        return Cell(**v)

    def _save_checkpoint(self) -> None:
        ck = self.config.checkpoint
        if ck is None:
            return
        doc = {"settings": self.settings, "repeats": self.config.repeats, "period": self.config.period,
               "cells": {k: asdict(c) for k, c in self.cells.items()}, "idle": self.idle}
        tmp = Path(str(ck) + ".tmp")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, ck)

    # ------------------------------------------------------------- measuring
    def _progress(self, total: int) -> Callable[[str], None]:
        if not self.config.progress:
            return lambda msg: None
        try:
            from tqdm import tqdm

            bar = tqdm(total=total, desc="profile", leave=False, file=sys.stderr)

            def upd(msg: str) -> None:
                bar.update(1)
                bar.set_postfix_str(msg)
            return upd
        except ImportError:
            state = {"n": 0}

            def upd(msg: str) -> None:
                state["n"] += 1
                log.info(f"  profile {state['n']}/{total} {msg}")
            return upd

    def measure_cell(self, name: str, setting: float) -> Cell:
        """Measure one model at the setting currently applied."""
        model = self.models[name]
        cfg = self.config
        if cfg.period is not None:
            return self._measure_paced(name, setting)
        for i in range(cfg.warmup):
            stage_times(model, self.samples[i % len(self.samples)], self.clock)
        ends, preds = [], []
        self.meter.start()
        for i in range(cfg.repeats):
            t, p = stage_times(model, self.samples[i % len(self.samples)], self.clock)
            ends.append(t)
            preds.append(p)
        r = self.meter.stop()
        return Cell(name, setting, ends, r.energy_j, r.seconds, r.method, preds)

    def _measure_paced(self, name: str, setting: float) -> Cell:
        """One input every ``period`` seconds (warm-up inputs too); an input that ends after the
        next arrival delays it to its end. The meter window spans the block from the first
        arrival to the end of the last period."""
        model, cfg = self.models[name], self.config
        period = float(cfg.period)  # type: ignore[arg-type]
        ends, preds = [], []
        busy = 0.0
        arrival = self.clock()
        for i in range(cfg.warmup + cfg.repeats):
            wait = arrival - self.clock()
            if wait > 0:
                self.sleep(wait)
            if i == cfg.warmup:
                self.meter.start()
            t, p = stage_times(model, self.samples[i % len(self.samples)], self.clock)
            if i >= cfg.warmup:
                ends.append(t)
                preds.append(p)
                busy += t[-1]
            arrival = max(arrival + period, self.clock())
        wait = arrival - self.clock()
        if wait > 0:
            self.sleep(wait)
        r = self.meter.stop()
        idle_w = self.idle.get(f"{setting:g}", 0.0)
        return Cell(name, setting, ends, r.energy_j, r.seconds, r.method, preds, busy,
                    idle_w * max(r.seconds - busy, 0.0))

    def measure_idle(self) -> float:
        self.meter.start()
        self.sleep(self.config.idle_s)
        r = self.meter.stop()
        return r.energy_j / r.seconds

    def run(self) -> Profile:
        """Measure every missing cell (resuming from the checkpoint) and build the profile."""
        todo = [(s, m) for s in self.settings for m in self.models if self._key(m, s) not in self.cells]
        step = self._progress(len(todo))
        for s in self.settings:
            cells = [m for m in self.models if self._key(m, s) not in self.cells]
            if not cells and f"{s:g}" in self.idle:
                continue
            self.knob.apply(s)
            self.sleep(self.config.settle_s)
            if f"{s:g}" not in self.idle:
                self.idle[f"{s:g}"] = self.measure_idle()
            for m in cells:
                self.cells[self._key(m, s)] = self.measure_cell(m, s)
                self._save_checkpoint()
                step(f"{m} @ {setting_name(s, self.knob.unit)}")
        return self.build()

    def accuracy(self, name: str) -> list[float]:
        if name in self.given_accuracy:
            return [float(a) for a in self.given_accuracy[name]]
        if self.accuracy_data is not None:
            x, y = self.accuracy_data
            return stage_accuracy(self.models[name], x, np.asarray(y))
        raise ValueError(f"no accuracy for model {name!r}. Fix: give labelled samples or --accuracy {name}=Q[,Q...]")

    def build(self) -> Profile:
        unit = self.knob.unit
        settings = tuple(Setting(setting_name(s, unit), s, unit, self.idle[f"{s:g}"]) for s in self.settings)
        models = []
        methods: set[str] = set()
        for name in self.models:
            cells = [self.cells[self._key(name, s)] for s in self.settings]
            methods.update(c.method for c in cells)
            ends = np.stack([np.asarray(c.stage_ends, dtype=float) for c in cells], axis=2)  # (repeats, k, L)
            models.append(measured_model(name, self.accuracy(name), ends, [c.power_w for c in cells]))
        meta = {"method": "measured with alert profile", "knob": self.knob.kind, "meter": sorted(methods),
                "repeats": self.config.repeats, "warmup": self.config.warmup,
                "timing": "back to back" if self.config.period is None else f"paced every {self.config.period:g} s",
                **dict(self.config.metadata)}
        return build_profile(models, settings, self.config.q_fail, self.config.name, meta)

    def trace(self, profile: Profile) -> Any:
        """Per-input stage end times of every candidate and setting, as an ``alert-trace``."""
        from alert.evaluation.traces import TraceBuilder

        tb = TraceBuilder(profile, self.config.repeats)
        for name in self.models:
            for j, s in enumerate(self.settings):
                tb.put(name, j, np.asarray(self.cells[self._key(name, s)].stage_ends, dtype=float))
            if self.labels is not None:  # correctness of every stage's output, at the first setting
                preds = self.cells[self._key(name, self.settings[0])].predictions or []
                flags = np.full((self.config.repeats, len(profile.model_rows(name))), -1, dtype=np.int8)
                for i, p in enumerate(preds[: flags.shape[0]]):
                    for s, cls in enumerate(p[: flags.shape[1]]):
                        if cls is not None:
                            flags[i, s] = int(cls == self.labels[i % len(self.labels)])
                tb.put_correct(name, flags)
        return tb.build(f"{profile.name}-trace", {"source": "alert profile --trace", "environment": "quiet"})


# =============================================================================== models
def project_models(names: Sequence[str] = ("depth-nested", "depth-1", "depth-2", "depth-4", "width-16", "width-32"),
                   weights_dir: str | Path | None = None) -> dict[str, Any]:
    """The project's Fashion-MNIST networks (alert.nn), loaded from exported weights
    (``<weights_dir>/<name>*.pt``) when present, otherwise freshly initialised."""
    import torch

    from alert.nn.families import build_model
    from alert.nn.train import load_weights

    wdir = Path(weights_dir) if weights_dir else Path(__file__).resolve().parent / "data" / "weights"
    out = {}
    for n in names:
        found = sorted(wdir.glob(f"{n}*.pt")) if wdir.is_dir() else []
        if found:
            model, _ = load_weights(found[0])
            model = model.float()
        else:
            torch.manual_seed(0)
            model = build_model(n)
        out[n] = model.eval()
    return out


