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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from alert import outcome, strictjson
from alert.goals import GoalError, format_goal
from alert.live.policies import Policy
from alert.live.runner import Runner, fraction_correct
from alert.live.worker import InferenceThread
from alert.system.base import EnergyReading, Knob, Meter

#: the ``format`` of a JSON-lines run log's header
JSONL_FORMAT = "alert-run-log"

LOG_COLUMNS = ("input", "time_s", "goal", "deadline_s", "model", "stage", "setting", "setting_value", "applied",
               "expected_latency_s", "pr", "expected_accuracy", "expected_energy_j", "latency_s", "response_s", "run_s", "stage_reached",
               "met_deadline", "delivered_accuracy", "energy_j", "energy_method", "prediction", "label", "correct",
               "overhead_s", "state", "queue_s")


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
    queue_s: float = 0.0  # a served request: arrival to the start of its decision (0 for a stream)


def _join(v: Any) -> str:
    if v is None:
        return ""
    import numpy as np

    return " ".join(str(int(a)) for a in np.atleast_1d(np.asarray(v)).reshape(-1))


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
        self._observe_key: object = None  # the policy's observe whose signature was read
        self._observe_elapsed = True
        #: meter readings that were NaN, infinite or negative (logged as read, never observed)
        self.meter_rejected = 0

    def _checked(self, r: EnergyReading) -> EnergyReading:
        """Count (and warn once about) a meter reading that is not a finite energy >= 0."""
        try:
            ok = math.isfinite(r.energy_j) and r.energy_j >= 0
        except TypeError:
            ok = False
        if not ok:
            self.meter_rejected += 1
            if self.meter_rejected == 1:
                import warnings

                warnings.warn(f"meter {r.method!r} read {r.energy_j!r} J: not a finite energy >= 0. It is logged "
                              "as read and not fed to the controller; later ones are only counted "
                              "(Runtime.meter_rejected). Fix: check the meter (alert doctor)", RuntimeWarning,
                              stacklevel=2)
        return r

    def step(self, x: Any, label: Any = None) -> InputRecord:
        """Serve one input now; returns its record (observe happens here unless paced)."""
        rec, _ = self._run_one(x, label)
        self._observe(rec, None)
        return rec

    def _run_one(self, x: Any, label: Any, metered: bool = True,
                  t_start: float | None = None) -> tuple[InputRecord, Any]:
        """Decide, apply, run one input. ``metered``: a meter window around the run alone (unpaced
        serving); paced serving meters whole periods itself and fills ``energy_j`` later.
        ``t_start``: when the input's handling began (default: now). Returns the record and the
        runner's :class:`RunOutput`."""
        clock = self.clock
        t_start = clock() if t_start is None else t_start
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
        reading = self._checked(self.meter.stop()) if metered else EnergyReading(0.0, 0.0, "")
        overhead = (t_run - t_start) + (clock() - t_end)  # decide + apply (+ meter start/stop)
        goal_deadline = float(getattr(self.ctl.goal, "deadline", math.inf))
        response = (t_end - t_start) - (run_s - latency)  # until the delivered output was ready
        met, q = outcome.judge_one(prof, outcome.output_row(prof, d.candidate, out.stage), response, goal_deadline)
        pred = out.prediction
        correct = fraction_correct(pred, label)
        rec = InputRecord(self._n, t_start - self._t0, _goal_text(self.ctl.goal), d.deadline, d.model, d.stage,
                          d.setting_name, float(d.setting_value), applied, d.expected_latency, d.pr,
                          d.expected_accuracy, d.expected_energy, latency, response, run_s, out.stage, met, q,
                          reading.energy_j, reading.method, _join(pred), _join(label),
                          correct, overhead, self.state())
        self._n += 1
        return rec, out

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

    def _takes_elapsed(self) -> bool:
        """Whether the policy's ``observe`` takes ``elapsed`` (the :class:`Policy` protocol's since
        2026-12-01); a policy written before gets the call it was written for, and a warning once."""
        fn = self.ctl.observe
        key = getattr(fn, "__func__", fn)
        if key is not self._observe_key:
            import inspect

            try:
                ps = inspect.signature(fn).parameters.values()
                ok = any(p.name == "elapsed" or p.kind is p.VAR_KEYWORD for p in ps)
            except (TypeError, ValueError):  # no signature to read: call it as the protocol says
                ok = True
            self._observe_key, self._observe_elapsed = key, ok
            if not ok:
                import warnings

                warnings.warn(f"{type(self.ctl).__name__}.observe takes no 'elapsed' (the model's run time): it is "
                              "called without it, so an anytime model stopped at the deadline may look idle after "
                              "its last output. Fix: add elapsed: float | None = None to observe "
                              "(alert.live.policies.Policy)", RuntimeWarning, stacklevel=3)
        return self._observe_elapsed

    def _observe(self, rec: InputRecord, period: float | None) -> None:
        """Feed the controller one input. ``period``: the meter window of a paced input (its whole
        period); None when the meter window covered the run alone (unpaced), which has no idle
        phase for the idle-power filter (Eq. 8) to read. The model's run time goes with it: an
        anytime model stopped at the deadline ran past the output it delivered."""
        t0 = self.clock()
        # the stage reached; 0 for an anytime model that finished none (a miss, and a lower bound of
        # stage 1's latency for the estimator), None for a traditional model
        stage = rec.stage_reached if rec.stage_reached is not None and (rec.stage_reached > 0 or
                                                                       rec.stage is not None) else None
        e = rec.energy_j if math.isfinite(rec.energy_j) and rec.energy_j >= 0 else None
        run = rec.run_s if math.isfinite(rec.run_s) and rec.run_s >= 0 else None
        if period is None and run is not None:  # the window of the run alone: no idle phase in it
            period = max(run, rec.latency_s)
        if self._takes_elapsed():
            self.ctl.observe(latency=rec.latency_s, energy=e, stage=stage, period=period, elapsed=run)
        else:
            self.ctl.observe(latency=rec.latency_s, energy=e, stage=stage, period=period)
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
                    fh.write(strictjson.dumps({"kind": "input", **asdict(rec), "estimates": before,
                                               "estimator_after": self._estimator_doc()}) + "\n")
                elif writer is not None:
                    writer.writerow(asdict(rec))
                if len(records) % self.config.flush_every == 0:
                    fh.flush()

        pending: InputRecord | None = None  # paced: the input whose period is still being metered

        def close_period() -> None:
            # one meter window per input, from its arrival to the next one: the windows tile the
            # run, so the controller's own time (decide, observe, logging) is in some input's energy
            assert pending is not None
            e = self._checked(self.meter.stop())
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


def summarize(records: list[InputRecord]) -> dict[str, float | int | None]:
    """Deadline misses, mean latency, energy and delivered accuracy of a served stream. A value
    that cannot be computed is None (never NaN); energy means skip readings that were not a finite
    energy >= 0, counted in ``meter_rejected``."""
    import numpy as np

    if not records:
        return {}
    lat = np.array([r.response_s for r in records])
    energy = np.array([r.energy_j for r in records], dtype=float)
    good = np.isfinite(energy) & (energy >= 0)
    return {"inputs": len(records), "deadline_miss_rate": float(np.mean([not r.met_deadline for r in records])),
            "mean_response_s": float(lat.mean()), "p95_response_s": float(np.percentile(lat, 95)),
            "mean_energy_j": float(energy[good].mean()) if good.any() else None,
            "meter_rejected": int((~good).sum()),
            "mean_delivered_accuracy": float(np.mean([r.delivered_accuracy for r in records])),
            "accuracy_measured": float(np.mean([r.correct for r in records if r.correct >= 0]))
            if any(r.correct >= 0 for r in records) else None,
            "mean_overhead_s": float(np.mean([r.overhead_s for r in records])),
            "setting_changes": int(sum(r.applied for r in records))}


