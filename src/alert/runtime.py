"""The live runtime: serve a stream of inputs with a controller, a knob and a meter (§3.2).

Per input: decide; apply the setting only if it changed; run the model (an anytime model stops
at its chosen stage or at the deadline, whichever comes first, and returns its latest output);
measure latency and energy; observe. Inputs come from an iterator, optionally paced like a
sensor (one every ``period`` seconds; the energy of an input then covers its whole period,
inference plus idle). Every input is logged as one CSV row (:data:`LOG_COLUMNS`); a log whose
name ends in ``.jsonl`` is JSON lines instead (:data:`JSONL_FORMAT`): a header with the goal string,
the candidates and the settings, then one object per input with the same fields plus every
estimate (the estimator's state before and after the input, the idle-power ratio, and the
latency, probability, accuracy and energy estimates of every configuration at the decision).

    rt = Runtime(controller, knob, meter, runners={"depth-nested": torch_runner(net), ...})
    with KnobGuard([knob]):
        records = rt.serve(zip(images, labels), period=0.05, log="run.csv")
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from alert import strictjson
from alert.goals import GoalError, format_goal
from alert.system.base import EnergyReading, Knob, Meter

#: the ``format`` of a JSON-lines run log's header
JSONL_FORMAT = "alert-run-log"

LOG_COLUMNS = ("input", "time_s", "goal", "deadline_s", "model", "stage", "setting", "setting_value", "applied",
               "expected_latency_s", "pr", "expected_accuracy", "expected_energy_j", "latency_s", "response_s", "run_s", "stage_reached",
               "met_deadline", "delivered_accuracy", "energy_j", "energy_method", "prediction", "label", "correct",
               "overhead_s", "state")


@dataclass(frozen=True)
class RunOutput:
    """What a runner returns: the output available, the 1-based stage that produced it
    (0: nothing by the deadline; None: traditional model) and the predicted classes if known
    (one per item of the batch)."""

    output: Any
    stage: int | None
    prediction: Any = None
    output_time: float | None = None  # seconds from the start to the returned output (anytime)


class Runner(Protocol):
    """Run ``x`` (an anytime model up to ``stage`` or the ``deadline`` in seconds from the call).

    ``stage_ends`` are the expected end times of stages 1..stage (μ·t_prof at the applied
    setting); a runner that cannot pre-empt a stage uses them to skip a stage that would end
    after the deadline."""

    def __call__(self, x: Any, stage: int | None, deadline: float | None,
                 stage_ends: Sequence[float] | None = None) -> RunOutput: ...


def _argmax(out: Any) -> list[int] | None:
    """Predicted class of every item of a batch of logits."""
    if out is None:
        return None
    import numpy as np

    a = np.asarray(out.detach() if hasattr(out, "detach") else out)
    return a.reshape(-1, a.shape[-1]).argmax(-1).tolist()


def _fraction_correct(pred: Any, label: Any) -> float:
    """Share of the batch predicted right; -1 when there is no label; 0 when there is no output."""
    import numpy as np

    if label is None:
        return -1.0
    lab = np.atleast_1d(np.asarray(label)).reshape(-1)
    if pred is None:
        return 0.0
    p = np.atleast_1d(np.asarray(pred)).reshape(-1)
    return float(np.mean(p == lab)) if p.shape == lab.shape else 0.0


def run_stages(model: Any, x: Any, stage: int | None, deadline: float | None,
               stage_ends: Sequence[float] | None = None,
               clock: Callable[[], float] = time.perf_counter) -> RunOutput:
    """Run an anytime model (``init_state``/``run_stage``) stage by stage.

    Stops after ``stage``; before a stage, stops when its expected duration (from ``stage_ends``)
    would carry it past ``deadline``; a stage that still ends late is not delivered (the earlier
    output is). Stage 1 always runs."""
    k_max = int(stage or model.n_stages)
    t0 = clock()
    state = model.init_state(x)
    out, reached, t_out = None, 0, None
    for k in range(k_max):
        if deadline is not None and k > 0 and stage_ends is not None:
            if clock() - t0 + (stage_ends[k] - stage_ends[k - 1]) > deadline:
                break
        o = model.run_stage(k, state)
        t = clock() - t0
        if deadline is not None and t > deadline:
            break
        out, reached, t_out = o, k + 1, t
    return RunOutput(out, reached, _argmax(out), t_out)


def torch_runner(model: Any) -> Runner:
    """Wrap a torch model: an :class:`alert.nn.anytime.AnytimeNet` with several stages runs stage
    by stage (:func:`run_stages`); anything else is called once (traditional)."""
    import torch

    multi = hasattr(model, "run_stage") and getattr(model, "n_stages", 1) > 1

    def run(x: Any, stage: int | None, deadline: float | None,
            stage_ends: Sequence[float] | None = None) -> RunOutput:
        with torch.inference_mode():
            if multi:
                return run_stages(model, x, stage, deadline, stage_ends)
            out = model(x)
            if isinstance(out, (list, tuple)):
                out = out[-1]
            return RunOutput(out, None, _argmax(out))

    return run


class InferenceThread:
    """One long-lived thread that runs the models, so that a cgroup v1 quota can hold it alone
    (``CgroupConfig(tids=(worker.native_id,))``) while the controller runs unthrottled."""

    def __init__(self) -> None:
        import queue
        import threading

        self._req: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done = threading.Event()
        self._result: tuple[bool, Any] = (True, None)
        self._thread = threading.Thread(target=self._loop, name="alert-inference", daemon=True)
        self._thread.start()
        self.native_id: int = self.call(lambda: __import__("threading").get_native_id())

    def _loop(self) -> None:
        while True:
            item = self._req.get()
            if item is None:
                return
            fn, args = item
            try:
                self._result = (True, fn(*args))
            except BaseException as e:  # handed to the caller
                self._result = (False, e)
            self._done.set()

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on the inference thread and return its result (or raise its error)."""
        self._done.clear()
        self._req.put((fn, args))
        self._done.wait()
        ok, value = self._result
        if not ok:
            raise value
        return value

    def close(self) -> None:
        self._req.put(None)
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class RuntimeConfig:
    """``period``: seconds between arrivals (None: back to back). ``log``: CSV path (None: no file).
    ``state``: optional callable naming the environment state per input (e.g. contention on/off)."""

    period: float | None = None
    log: Path | None = None
    flush_every: int = 1


@dataclass
class InputRecord:
    """One row of the per-input log."""

    input: int
    time_s: float
    goal: str
    deadline_s: float
    model: str
    stage: int | None
    setting: str
    setting_value: float
    applied: bool
    expected_latency_s: float
    pr: float
    expected_accuracy: float
    expected_energy_j: float
    latency_s: float  # start of the model to the output it delivered (what the controller observes)
    response_s: float  # start of the input (before decide) to that output: judged against the deadline
    run_s: float  # time the model ran (an anytime stage started before the deadline finishes late)
    stage_reached: int | None
    met_deadline: bool
    delivered_accuracy: float
    energy_j: float
    energy_method: str
    prediction: str  # predicted classes of the batch, space separated
    label: str
    correct: float  # share of the batch predicted right, -1 when there is no label
    overhead_s: float
    state: str


def _join(v: Any) -> str:
    if v is None:
        return ""
    import numpy as np

    return " ".join(str(int(a)) for a in np.atleast_1d(np.asarray(v)).reshape(-1))


class Policy(Protocol):
    """What the runtime needs from a controller: ``decide``/``observe`` and a ``goal`` and ``profile``."""

    goal: Any
    profile: Any

    def decide(self) -> Any: ...

    def observe(self, latency: float, energy: float | None = None, idle_power: float | None = None,
                stage: int | None = None, period: float | None = None) -> None: ...


class StaticPolicy:
    """A fixed configuration with the controller's interface (the static baselines)."""

    def __init__(self, controller: Any, model: str, stage: int | None, setting: str) -> None:
        self.ctl = controller
        self.profile, self.goal = controller.profile, controller.goal
        self.row = self.profile.candidate_index(model, stage)
        self.col = self.profile.setting_index(setting)

    @classmethod
    def best_quiet(cls, controller: Any) -> StaticPolicy:
        """The configuration the quiet profile says is best for the goal (mean latency, no variance)."""
        from alert.controller import Controller, ControllerConfig

        d = Controller(controller.profile, controller.goal, ControllerConfig(mean_only=True, overhead=0.0)).decide()
        return cls(controller, d.model, d.stage, d.setting_name)

    def decide(self) -> Any:
        from alert.controller import Decision

        p, goal = self.profile, self.goal
        est = self.ctl.estimates(goal.deadline)
        c, j = self.row, self.col
        cand, st = p.candidates[c], p.settings[j]
        return Decision(c, cand.model, cand.stage, j, st.name, st.value, goal.deadline, float(est.latency[c, j]),
                        float(est.pr[c, j]), float(est.accuracy[c, j]), float(est.energy[c, j]), {}, ())

    def observe(self, latency: float, energy: float | None = None, idle_power: float | None = None,
                stage: int | None = None, period: float | None = None) -> None:
        pass


class Runtime:
    """Serve inputs: decide, apply (only when changed), run, measure, observe, log."""

    def __init__(self, controller: Policy, knob: Knob, meter: Meter, runners: Mapping[str, Runner],
                 config: RuntimeConfig | None = None, state: Callable[[], str] | None = None,
                 clock: Callable[[], float] = time.perf_counter, worker: InferenceThread | None = None) -> None:
        self.ctl, self.knob, self.meter = controller, knob, meter
        self.worker = worker
        self.config = config or RuntimeConfig()
        self.runners = dict(runners)
        self.state = state or (lambda: "")
        self.clock = clock
        prof = controller.profile
        if prof.unit != knob.unit:
            raise ValueError(f"profile {prof.name!r} has settings in {prof.unit!r} but the {knob.kind} knob "
                             f"sets {knob.unit!r}. Fix: use a profile recorded with this knob")
        missing = sorted({m.name for m in prof.models} - set(self.runners))
        if missing:
            raise ValueError(f"no runner for profile models {missing}. Fix: provide a model for every "
                             f"model named in profile {prof.name!r} (have {sorted(self.runners)})")
        for s in prof.settings:
            knob.check(s.value)
        self._n = 0
        self._t0: float | None = None

    def step(self, x: Any, label: Any = None) -> InputRecord:
        """Serve one input now; returns its record (observe happens here unless paced)."""
        rec, _ = self._run_one(x, label)
        self._observe(rec, None)
        return rec

    def _run_one(self, x: Any, label: Any, metered: bool = True) -> tuple[InputRecord, float]:
        """Decide, apply, run one input. ``metered``: a meter window around the run alone (unpaced
        serving); paced serving meters whole periods itself and fills ``energy_j`` later."""
        clock = self.clock
        t_start = clock()
        if self._t0 is None:
            self._t0 = t_start
        d = self.ctl.decide()
        prof = self.ctl.profile
        applied = self.knob.apply(d.setting_value)
        if metered:
            self.meter.start()
        t_run = clock()
        args: tuple[Any, ...] = (x, None, None)
        if d.stage is not None:
            est = getattr(self.ctl, "estimator", None)
            rows = slice(prof.stage_row(d.candidate, 1), d.candidate + 1)
            expected = prof.t_prof if est is None else est.expected(prof.t_prof)
            # the model stops at the input's real deadline, counted from the input's start: the
            # overhead reserve the controller planned with (d.deadline) is not cut from the run
            real = getattr(self.ctl, "input_deadline", None)
            left = (real(reserve_overhead=False) if real is not None else d.deadline) - (t_run - t_start)
            args = (x, d.stage, max(left, 1e-9), expected[rows, d.setting].tolist())
        runner = self.runners[d.model]
        # wall time seen by the caller: with a worker thread, the hand-off (and any throttling of
        # the worker around it) is part of what the application waits for
        out = self.worker.call(runner, *args) if self.worker is not None else runner(*args)
        t_end = clock()
        run_s = t_end - t_run
        latency = out.output_time if out.output_time is not None else run_s
        reading = self.meter.stop() if metered else EnergyReading(0.0, 0.0, "")
        overhead = (t_run - t_start) + (clock() - t_end)  # decide + apply (+ meter start/stop)
        goal_deadline = float(getattr(self.ctl.goal, "deadline", math.inf))
        response = (t_end - t_start) - (run_s - latency)  # until the delivered output was ready
        met = response <= goal_deadline and out.stage != 0
        if out.stage is None:  # traditional: its accuracy if on time, else q_fail
            q = float(prof.q[d.candidate]) if met else prof.q_fail
        elif out.stage >= 1:
            row = prof.stage_row(d.candidate, out.stage)
            q = float(prof.q[row]) if met else prof.q_fail
        else:
            q = prof.q_fail
        pred = out.prediction
        correct = _fraction_correct(pred, label)
        rec = InputRecord(self._n, t_start - self._t0, _goal_text(self.ctl.goal), d.deadline, d.model, d.stage,
                          d.setting_name, float(d.setting_value), applied, d.expected_latency, d.pr,
                          d.expected_accuracy, d.expected_energy, latency, response, run_s, out.stage, met, q,
                          reading.energy_j, reading.method, _join(pred), _join(label),
                          correct, overhead, self.state())
        self._n += 1
        return rec, t_start

    def _controller(self) -> Any:
        return getattr(self.ctl, "ctl", self.ctl)  # a static policy wraps the controller

    def _log_header(self) -> dict[str, Any]:
        p = self.ctl.profile
        return {"kind": "header", "format": JSONL_FORMAT, "version": 1, "goal": _goal_text(self.ctl.goal),
                "profile": p.name, "unit": p.unit, "candidates": [c.label for c in p.candidates],
                "settings": [s.name for s in p.settings], "columns": list(LOG_COLUMNS)}

    def _estimator_doc(self) -> dict[str, Any]:
        ctl = self._controller()
        doc: dict[str, Any] = {}
        est = getattr(ctl, "estimator", None)
        if est is not None:
            doc["slowdown"] = est.summary()
        idle = getattr(ctl, "idle", None)
        if idle is not None and hasattr(idle, "phi"):
            doc["idle_ratio"] = float(idle.phi)
        return doc

    def _estimates_doc(self, deadline: float) -> dict[str, Any]:
        """Every estimate at the decision of the input being logged (the controller has not
        observed it yet): the estimator's state and the per-configuration matrices, rows in the
        header's candidate order and columns in its setting order."""
        doc = self._estimator_doc()
        estimates = getattr(self._controller(), "estimates", None)
        if estimates is not None:
            e = estimates(deadline)
            doc.update({"deadline_s": deadline, "latency_s": e.latency, "pr": e.pr, "accuracy": e.accuracy,
                        "energy_j": e.energy})
        return doc

    def _observe(self, rec: InputRecord, period: float | None) -> None:
        t0 = self.clock()
        stage = rec.stage_reached if rec.stage_reached not in (None, 0) else None
        self.ctl.observe(latency=rec.latency_s, energy=rec.energy_j, stage=stage, period=period)
        rec.overhead_s += self.clock() - t0

    def serve(self, inputs: Iterable[Any], period: float | None = None, limit: int | None = None,
              log: str | Path | None = None) -> list[InputRecord]:
        """Serve ``inputs`` (each ``x`` or ``(x, label)``); pace them every ``period`` seconds if given."""
        period = self.config.period if period is None else period
        log = self.config.log if log is None else log
        records: list[InputRecord] = []
        writer, fh = None, None
        jsonl = log is not None and str(log).endswith(".jsonl")
        if log is not None:
            fh = open(log, "w", newline="")
            if jsonl:
                fh.write(strictjson.dumps(self._log_header()) + "\n")
            else:
                writer = csv.DictWriter(fh, fieldnames=LOG_COLUMNS)
                writer.writeheader()

        def done(rec: InputRecord, window: float | None) -> None:
            before = self._estimates_doc(rec.deadline_s) if jsonl else None
            self._observe(rec, window)
            records.append(rec)
            if fh is not None:
                if jsonl:
                    after = self._estimator_doc()
                    fh.write(strictjson.dumps({"kind": "input", **asdict(rec), "estimates": before,
                                               "estimator_after": after}) + "\n")
                elif writer is not None:
                    writer.writerow(asdict(rec))
                if len(records) % self.config.flush_every == 0:
                    fh.flush()

        pending: InputRecord | None = None  # paced: the input whose period is still being metered

        def close_period() -> None:
            # one meter window per input, from its arrival to the next one: the windows tile the
            # run, so the controller's own time (decide, observe, logging) is in some input's energy
            assert pending is not None
            e = self.meter.stop()
            self.meter.start()
            pending.energy_j, pending.energy_method = e.energy_j, e.method
            done(pending, e.seconds if e.seconds > 0 else period)

        try:
            it: Iterator[Any] = iter(inputs)
            arrival = self.clock()
            for i, item in enumerate(it):
                if limit is not None and i >= limit:
                    break
                x, label = item if isinstance(item, tuple) else (item, None)
                if period is None:
                    rec, _ = self._run_one(x, label)
                    done(rec, None)
                    continue
                wait = arrival - self.clock()
                if wait > 0:
                    time.sleep(wait)
                if pending is None:
                    self.meter.start()
                else:
                    close_period()
                pending, _ = self._run_one(x, label, metered=False)
                # arrivals keep the sensor's schedule; an input that ends after the next arrival
                # delays that one to its end (no backlog)
                arrival = max(arrival + period, self.clock())
            if pending is not None:
                wait = arrival - self.clock()
                if wait > 0:
                    time.sleep(wait)
                close_period()
                self.meter.stop()
        finally:
            if fh is not None:
                fh.close()
        return records


def _goal_text(goal: Any) -> str:
    """The goal as ``alert run --goal`` takes it (``min-energy:deadline=0.1,accuracy=0.9``)."""
    try:
        return format_goal(goal)
    except GoalError:  # a goal type of the caller's own
        return str(goal)


def summarize(records: list[InputRecord]) -> dict[str, float]:
    """Deadline misses, mean latency, energy and delivered accuracy of a served stream."""
    import numpy as np

    if not records:
        return {}
    lat = np.array([r.response_s for r in records])
    return {"inputs": len(records), "deadline_miss_rate": float(np.mean([not r.met_deadline for r in records])),
            "mean_response_s": float(lat.mean()), "p95_response_s": float(np.percentile(lat, 95)),
            "mean_energy_j": float(np.mean([r.energy_j for r in records])),
            "mean_delivered_accuracy": float(np.mean([r.delivered_accuracy for r in records])),
            "accuracy_measured": float(np.mean([r.correct for r in records if r.correct >= 0]))
            if any(r.correct >= 0 for r in records) else float("nan"),
            "mean_overhead_s": float(np.mean([r.overhead_s for r in records])),
            "setting_changes": int(sum(r.applied for r in records))}


def load_entry_point(spec: str) -> Callable[..., Any]:
    """``pkg.module:function`` or ``path/to/file.py:function``."""
    import importlib
    import importlib.util

    mod_name, sep, fn = spec.rpartition(":")
    if not sep or not mod_name or not fn:
        raise ValueError(f"entry point {spec!r}: expected module:function or file.py:function")
    if mod_name.endswith(".py"):
        path = Path(mod_name)
        if not path.exists():
            raise ValueError(f"entry point {spec!r}: file {path} not found")
        s = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
        assert s is not None and s.loader is not None
        mod = importlib.util.module_from_spec(s)
        s.loader.exec_module(mod)
    else:
        mod = importlib.import_module(mod_name)
    f = getattr(mod, fn, None)
    if not callable(f):
        raise ValueError(f"entry point {spec!r}: {mod_name} has no function {fn!r}")
    return f


def make_knob(name: str, period_us: int = 100_000, tids: tuple[int, ...] = (),
              settings: Sequence[float] = ()) -> Knob:
    """Build a knob by name, with this machine's defaults (``tids``: cgroup v1 thread placement;
    ``settings``: the levels of the simulated knob)."""
    if name == "simulated":
        from alert.system.simulated import SimulatedKnob

        return SimulatedKnob(settings or [1.0], unit="level")
    if name in ("cgroup", "cgroup+threads"):
        from alert.system.cgroup import CgroupConfig, CgroupCpuQuota

        q = CgroupCpuQuota(CgroupConfig(period_us=period_us, tids=tids))
        if name == "cgroup":
            return q
        from alert.system.threads import QuotaWithThreads, ThreadCount

        return QuotaWithThreads(q, ThreadCount())
    if name == "threads":
        from alert.system.threads import ThreadCount

        return ThreadCount()
    if name == "rapl":
        from alert.system.rapl import RaplPowerCap, find_rapl_zones

        zones = find_rapl_zones()
        if not zones:
            from alert.system.errors import KnobUnavailable

            raise KnobUnavailable("/sys/class/powercap", "no RAPL zone", "see alert doctor")
        return RaplPowerCap(zones[0])
    if name == "cpufreq":
        from alert.system.cpufreq import CpufreqCap

        return CpufreqCap()
    if name in ("nvml-power", "nvml-clocks"):
        from alert.system.nvml import NvmlLockedClocks, NvmlPowerLimit, load_nvml

        return (NvmlPowerLimit if name == "nvml-power" else NvmlLockedClocks)(load_nvml())
    raise ValueError(f"unknown knob {name!r}")


def make_meter(name: str, knob: Knob | None = None, watts_per_core: float = 10.0,
               idle_power: float = 2.0) -> Meter:
    """Build a meter by name (``watts_per_core``, ``idle_power``: the CPU-time meter's model;
    ``knob``: what the simulated meter reads)."""
    from alert.system import meters

    if name == "cpu-time":
        return meters.CpuTimeMeter(watts_per_core, idle_power)
    if name == "rapl":
        from alert.system.rapl import find_rapl_zones

        zones = find_rapl_zones()
        if not zones:
            from alert.system.errors import MeterUnavailable

            raise MeterUnavailable("/sys/class/powercap", "no RAPL zone", "see alert doctor")
        return meters.RaplMeter(zones[0])
    if name == "nvml":
        from alert.system.nvml import load_nvml

        return meters.NvmlMeter(load_nvml(), continuous=True)
    if name == "simulated":
        k = knob
        return meters.SimulatedMeter(lambda: k.read() if k is not None else 1.0)
    raise ValueError(f"unknown meter {name!r}")


def load_inputs(data: str, n: int, batch: int = 1, seed: int = 0) -> Iterator[tuple[Any, Any]]:
    """``n`` inputs of ``batch`` Fashion-MNIST test images with their labels, or random images (no labels)."""
    import torch

    if data == "random":
        g = torch.Generator().manual_seed(seed)
        for _ in range(n):
            yield torch.randn(batch, 1, 28, 28, generator=g), None
        return
    from alert.nn.data import load_split

    split = load_split(data, "test")
    x = torch.from_numpy(split.normalized())
    for i in range(n):
        k = (i * batch) % (len(split) - batch)
        yield x[k:k + batch], split.labels[k:k + batch].astype(int)


