"""ALERT behind Ray Serve (PyPI ``ray[serve]``, imported only here and only when used): a
deployment whose every replica runs the user's models with its own ALERT controller and its own
knob (torch threads by default; as root a cgroup CPU quota per replica process).

Requests are JSON: the input and the goal (docs/serving.md has the schema and a ``curl``
example). A replica serves one request at a time on one thread (decide, apply, run, measure,
observe, in the thread that runs the model, so a thread-count setting applies to it); requests
that arrive meanwhile wait, and the wait is subtracted from their deadline (§3.2 goal
adjustment, :class:`alert.live.serving.QueryServer`). :class:`Replica` is the plain-Python
replica (testable without Ray); :func:`build_app` wraps it in a Ray Serve deployment.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from alert.goals import GoalError, MaximizeAccuracy, MinimizeEnergy

GOAL_KEYS = ("deadline", "accuracy", "energy", "power", "pr_th")
MAX_TRANSIT_S = 60.0  # a request's sent_at further back than this is a clock that disagrees, not a transit
MAX_DIMS = 8  # dimensions of an input (batch included)
MAX_REQUEST_BYTES = 64 * 2**20  # the default limit of a request's body (alert serve --max-request-mb)


class RequestError(ValueError):
    """A request that does not follow the schema (answered with HTTP 400 and this message)."""


@dataclass(frozen=True)
class FleetConfig:
    """What every replica loads: ``models`` (entry point ``FILE.py:FN`` or ``module:FN``; the
    file must be readable on every node), ``profile`` (a path, recorded with ``knob``), the knob
    and meter by name, the policy (a scheme with a live policy, an alias ``alert``, ``paper``,
    ``static-best``, or a fixed configuration), the controller's candidate set and its estimator's
    parameters (``--estimator-param``)."""

    models: str
    profile: str
    knob: str = "threads"
    meter: str = "cpu-time"
    watts_per_core: float = 10.0
    idle_power: float = 2.0
    cfs_period_us: int = 100_000
    policy: str = "ALERT"
    candidates: str = "all"
    state_dir: str | None = None
    estimator_params: tuple[tuple[str, Any], ...] = ()


def parse_goal_json(g: Any) -> Any:
    """The request's ``goal`` object: ``deadline`` (seconds, required) plus ``accuracy`` (minimise
    energy subject to it) or ``energy`` (J per request) / ``power`` (W; budget power x deadline)
    (maximise accuracy within it; with neither, maximise accuracy), and optional ``pr_th``."""
    if not isinstance(g, dict):
        raise RequestError("goal: expected an object such as {\"deadline\": 0.05, \"accuracy\": 0.9}")
    unknown = sorted(set(g) - set(GOAL_KEYS))
    if unknown:
        raise RequestError(f"goal: unknown field(s) {unknown}; the fields are {list(GOAL_KEYS)}")
    if "deadline" not in g:
        raise RequestError("goal.deadline: missing. Fix: give the deadline in seconds, e.g. 0.05")
    try:
        if "accuracy" in g:
            if "energy" in g or "power" in g:
                raise RequestError("goal: give accuracy (minimise energy) or energy/power (maximise accuracy), "
                                   "not both")
            return MinimizeEnergy(deadline=g["deadline"], accuracy=g["accuracy"], pr_th=g.get("pr_th"))
        return MaximizeAccuracy(deadline=g["deadline"], energy=g.get("energy"), power=g.get("power"),
                                pr_th=g.get("pr_th"))
    except GoalError as e:
        raise RequestError(f"goal: {e}") from None


def encode_input(x: Any) -> dict[str, Any]:
    """The compact form of ``input``: ``{"shape": [...], "float32_base64": "..."}`` (little-endian
    float32, base64), about 30 times faster to parse than a nested list of 12,544 numbers."""
    a = np.ascontiguousarray(np.asarray(x.detach() if hasattr(x, "detach") else x, dtype="<f4"))
    return {"shape": list(a.shape), "float32_base64": base64.b64encode(a.tobytes()).decode("ascii")}


def decode_input(v: Any) -> np.ndarray:
    """``input`` as a float32 array: a nested list of shape (batch, *sample_shape), or the form of
    :func:`encode_input` (``shape``: a list of at most :data:`MAX_DIMS` integers >= 0)."""
    if isinstance(v, dict):
        if set(v) != {"shape", "float32_base64"}:
            raise RequestError("input: an object must have exactly the fields shape and float32_base64")
        dims = v["shape"]
        if not (isinstance(dims, list) and 0 < len(dims) <= MAX_DIMS
                and all(type(d) is int and 0 <= d <= 2**31 for d in dims)):
            raise RequestError(f"input.shape: expected a list of 1 to {MAX_DIMS} integers >= 0 (e.g. [1, 1, 28, 28]), "
                               f"got {str(dims)[:60]}")
        try:
            raw = base64.b64decode(v["float32_base64"], validate=True)
            x = np.frombuffer(raw, dtype="<f4").reshape(tuple(dims)).astype(np.float32)
        except (TypeError, ValueError, binascii.Error):
            raise RequestError("input: float32_base64 does not decode to float32 values of the given shape. "
                               "Fix: base64 of the little-endian float32 bytes, C order") from None
    else:
        try:
            arr = np.asarray(v)
        except (TypeError, ValueError, OverflowError):
            arr = np.asarray(None)  # (ragged: refused below)
        if arr.dtype.kind not in "iuf":  # strings, booleans, objects (ragged lists, integers past int64)
            raise RequestError("input: not a rectangular nested list of numbers. Fix: a nested list of shape "
                               "(batch, *sample_shape)")
        with np.errstate(over="ignore"):  # (a number past float32 becomes inf: refused as not finite)
            x = arr.astype(np.float32)
    return x


def parse_request(body: Any) -> tuple[Any, Any, Any]:
    """``{"input": [...], "goal": {...}, "label": [...]?, "sent_at": T?}`` → (float32 tensor, goal,
    labels or None). ``input`` is a nested list of shape (batch, *sample_shape) or its compact form
    (:func:`encode_input`); ``sent_at`` (checked here, read by :meth:`Replica.handle`) is the
    client's Unix time when it sent the request."""
    if not isinstance(body, dict):
        raise RequestError("request: expected a JSON object with fields input and goal")
    unknown = sorted(set(body) - {"input", "goal", "label", "sent_at"})
    if unknown:
        raise RequestError(f"request: unknown field(s) {unknown}; the fields are input, goal, label and sent_at")
    sent_at = body.get("sent_at")
    if sent_at is not None:
        try:
            ok = not isinstance(sent_at, bool) and isinstance(sent_at, (int, float)) and 0 < float(sent_at) < math.inf
        except OverflowError:  # a JSON integer too large for a float
            ok = False
        if not ok:
            raise RequestError(f"sent_at: expected the client's clock when it sent the request, in Unix seconds "
                               f"(e.g. time.time()), got {str(sent_at)[:40]}")
    if "input" not in body:
        raise RequestError("input: missing. Fix: a nested list of shape (batch, *sample_shape)")
    x = decode_input(body["input"])
    if not 2 <= x.ndim <= MAX_DIMS or x.shape[0] < 1 or x.size == 0 or not np.isfinite(x).all():
        raise RequestError(f"input: shape {str(x.shape)[:80]}; expected (batch, *sample_shape) of at most {MAX_DIMS} "
                           "dimensions with batch >= 1, samples that are not empty, and finite numbers")
    goal = parse_goal_json(body.get("goal"))
    label = body.get("label")
    if label is not None:
        try:
            lab = np.asarray(label)
        except (TypeError, ValueError, OverflowError):  # a ragged list
            lab = np.asarray(None)
        if (lab.ndim != 1 or len(lab) != x.shape[0] or not np.issubdtype(lab.dtype, np.integer)
                or not ((lab >= 0) & (lab < 2**31)).all()):
            raise RequestError(f"label: expected {x.shape[0]} integer class indices >= 0, one per item of input")
        label = lab.astype(int)
    import torch

    return torch.from_numpy(x), goal, label


def response_body(res: Any, replica: str) -> dict[str, Any]:
    """The JSON response (docs/serving.md)."""
    r = res.record
    out = res.output
    if out is not None:
        out = np.asarray(out.detach() if hasattr(out, "detach") else out, dtype=np.float64).tolist()
    return {"output": out, "prediction": [int(v) for v in r.prediction.split()] if r.prediction else None,
            "model": r.model, "stage": r.stage, "stage_reached": r.stage_reached, "setting": r.setting,
            "setting_value": r.setting_value, "deadline_s": r.deadline_s, "latency_s": r.latency_s,
            "response_s": r.response_s, "queue_s": r.queue_s, "total_s": res.total_s, "energy_j": r.energy_j,
            "energy_method": r.energy_method, "delivered_accuracy": r.delivered_accuracy,
            "correct": None if r.correct < 0 else r.correct, "expected_latency_s": r.expected_latency_s,
            "pr": r.pr, "goals_met": res.goals_met, "goal_met": res.goal_met, "replica": replica}


def load_parts(config: FleetConfig) -> tuple[Any, Any, Any, dict[str, Any]]:
    """What a replica builds from ``config``: (profile, first goal, policy, models). ``alert
    serve`` calls it once before Ray starts, so a bad --profile, --policy or --models fails there
    with one line instead of in every replica."""
    from alert.evaluation.schemes import live_policy
    from alert.live.inputs import load_models
    from alert.profile import Profile

    profile = Profile.load(config.profile)
    first = MaximizeAccuracy(deadline=float(profile.t_prof.max()) * 2)  # replaced by each request's
    policy = live_policy(config.policy, profile, first, config.candidates, dict(config.estimator_params))
    return profile, first, policy, load_models(config.models)


class Replica:
    """One replica: models, profile, its own controller, knob (restored by :meth:`close`) and meter."""

    def __init__(self, config: FleetConfig, name: str | None = None) -> None:
        from alert.live.runner import torch_runner
        from alert.live.runtime import Runtime
        from alert.live.serving import QueryServer
        from alert.runtime import make_knob, make_meter
        from alert.system.guard import KnobGuard

        self.name = name or f"replica-{os.getpid()}"
        self.config = config
        profile, first, self.policy, models = load_parts(config)
        runners = {n: m.__alert_runner__ if callable(getattr(m, "__alert_runner__", None)) else torch_runner(m)
                   for n, m in models.items()}
        self.knob = make_knob(config.knob, config.cfs_period_us, settings=[s.value for s in profile.settings])
        meter = make_meter(config.meter, self.knob, watts_per_core=config.watts_per_core,
                           idle_power=config.idle_power)
        self.runtime = Runtime(self.policy, self.knob, meter, runners)
        self.guard = KnobGuard([self.knob], config.state_dir)
        self.guard.__enter__()
        self.server = QueryServer(self.runtime, first)
        self.started = time.time()
        self._closed = False

    def handle(self, body: Any, arrival: float | None = None,
               respond: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Serve one request (raises :class:`RequestError` for a malformed one); ``respond`` gets
        the response body as soon as it is known, before the controller observes. The deadline
        counts from ``arrival`` (the runtime's clock; default: now), or from the request's
        ``sent_at`` where that is earlier: the time the request spent reaching the replica (HTTP,
        Ray's proxy) is then taken from its deadline too, and as long again is kept for the answer's
        way back (the controller plans for less; the request is judged here, at its output),
        provided the client's clock agrees with this machine's (the same host, or clocks kept in
        step, e.g. by NTP)."""
        x, goal, label = parse_request(body)
        if not math.isfinite(goal.deadline):
            raise RequestError("goal.deadline: must be finite")
        sent_at = body.get("sent_at")
        way_back = 0.0
        if sent_at is not None:  # the deadline counts from the client's send, on the runtime's clock
            ago = time.time() - float(sent_at)
            if ago > MAX_TRANSIT_S:
                raise RequestError(f"sent_at: {ago:.3g} s before this replica's clock; the client's clock "
                                   "disagrees with the replica's. Fix: keep the clocks in step (e.g. NTP), or "
                                   "leave sent_at out (the deadline then counts from the arrival)")
            now = self.runtime.clock()
            sent, came = now - ago, now if arrival is None else arrival
            # the answer goes back the way the request came: the controller keeps as long for it
            way_back = max(came - sent, 0.0)
            arrival = min(came, sent)
        try:
            res = self.server.serve(x, label, arrival, goal,
                                    None if respond is None else lambda r: respond(response_body(r, self.name)),
                                    way_back=way_back)
        except Exception as e:  # the user's model rejected this input
            from alert.live.inputs import INPUT_CONTRACT

            raise RequestError(f"input: the model failed on an input of shape {tuple(x.shape)} ({type(e).__name__}: "
                               f"{e}). Fix: send inputs the models accept; {INPUT_CONTRACT}") from None
        return response_body(res, self.name)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.server.close()
        self.guard.__exit__(None, None, None)


async def read_json(request: Any, limit: int = MAX_REQUEST_BYTES) -> tuple[Any, int, str]:
    """(body, 0, "") for a request whose body is JSON of at most ``limit`` bytes, else (None, HTTP
    status, error): 413 for a larger body (refused by its Content-Length before it is read, or as
    soon as its chunks pass the limit), 400 for one that is not JSON (nested too deep for the
    parser included)."""
    size = request.headers.get("content-length")
    if size is not None:
        digits = size.strip()
        if not (digits.isascii() and digits.isdigit()):
            return None, 400, "request: Content-Length is not a number of bytes"
        if len(digits) > 15 or int(digits) > limit:
            return None, 413, _too_large(limit)
    chunks, got = [], 0
    async for chunk in request.stream():
        got += len(chunk)
        if got > limit:
            return None, 413, _too_large(limit)
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks)), 0, ""
    except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError)
        return None, 400, "request: body is not JSON"


def _too_large(limit: int) -> str:
    return (f"request: body over {limit} bytes. Fix: send fewer or smaller inputs per request, or raise the limit "
            "(alert serve --max-request-mb)")


def build_app(config: FleetConfig, replicas: int = 2, cpus_per_replica: float = 1.0,
              max_ongoing_requests: int = 16, max_request_bytes: int = MAX_REQUEST_BYTES) -> Any:
    """The Ray Serve application: ``replicas`` copies of :class:`Replica` behind the HTTP proxy.
    Each replica has a single-thread executor, so its requests run one at a time on one thread.
    A request body is read up to ``max_request_bytes`` (:func:`read_json`)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from ray import serve
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    @serve.deployment(num_replicas=replicas, ray_actor_options={"num_cpus": cpus_per_replica},
                      max_ongoing_requests=max_ongoing_requests,
                      logging_config={"enable_access_log": False, "log_level": "WARNING"})
    class AlertReplica:
        def __init__(self, cfg: FleetConfig) -> None:
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alert-replica")
            try:
                rid = serve.get_replica_context().replica_id.unique_id
            except Exception:  # outside a replica context
                rid = str(os.getpid())
            self.replica = self.pool.submit(Replica, cfg, f"replica-{rid}").result()

        async def __call__(self, request: Request) -> Any:
            arrival = time.perf_counter()
            body, status, error = await read_json(request, max_request_bytes)
            if status:
                return JSONResponse({"error": error}, status_code=status)
            loop = asyncio.get_running_loop()
            answer: asyncio.Future = loop.create_future()

            def hand_over(resp: dict[str, Any]) -> None:
                if not answer.done():
                    answer.set_result(resp)

            def respond(resp: dict[str, Any]) -> None:  # the replica's thread: hand over, then observe
                loop.call_soon_threadsafe(hand_over, resp)

            job = loop.run_in_executor(self.pool, self.replica.handle, body, arrival, respond)
            done, _ = await asyncio.wait({job, answer}, return_when=asyncio.FIRST_COMPLETED)
            if answer in done:
                return answer.result()
            try:
                return job.result()
            except RequestError as e:
                return JSONResponse({"error": str(e)}, status_code=400)

        def __del__(self) -> None:
            rep = getattr(self, "replica", None)
            if rep is not None:
                self.pool.submit(rep.close).result(timeout=10)
                self.pool.shutdown(wait=False)

    return cast(Any, AlertReplica).bind(config)  # serve.deployment made it a Deployment
