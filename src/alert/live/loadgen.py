"""The live runtime as an MLPerf LoadGen system under test (PyPI ``mlcommons-loadgen``, imported
as ``mlperf_loadgen`` only when a test runs).

* **SingleStream**: LoadGen issues one query at a time; each query's deadline is the goal's.
* **Server**: LoadGen issues queries at Poisson arrival times at a target QPS, with a latency SLO.
  A query's deadline is its arrival time plus the SLO, so the controller is given the time that
  remains after queueing (§3.2 goal adjustment, :class:`alert.live.serving.QueryServer`), less
  the time the queries waiting behind it need (in process: the server sees its queue), and at
  most the load cap that keeps LoadGen's percentile within the SLO at the observed arrival rate.

LoadGen's callbacks only enqueue: the queries are answered from a worker thread (in process, one
at a time through the runtime) or from a pool of HTTP client threads (``target``: an ``alert
serve`` deployment), and ``QuerySamplesComplete`` is called from those threads. The result is
LoadGen's own summary (validity, percentiles, early stopping; its log files in ``outdir``), one
row per query (the decision, delivered accuracy, measured correctness where labels exist, energy,
goals met) and one aggregate summary.
"""

from __future__ import annotations

import array
import csv
import itertools
import json
import math
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from alert.live.serving import QueryResult, QueryServer, judge_goals

Scenario = Literal["single-stream", "server"]
QUEUE_VIEW = 64  # the queued queries whose deadlines the server keeps time for (alert.live.serving.queue_reserve)
QUERY_COLUMNS = ("query", "sample", "arrival_s", "queue_s", "total_s", "goal_met", "goals_met", "model", "stage",
                 "setting", "setting_value", "deadline_s", "expected_latency_s", "pr", "latency_s", "response_s",
                 "stage_reached", "delivered_accuracy", "correct", "prediction", "label", "energy_j",
                 "energy_method", "overhead_s", "state", "replica", "reserve_s", "error")


@dataclass(frozen=True)
class LoadGenConfig:
    """``deadline``: seconds per query (SingleStream: the goal's deadline; Server: the latency SLO
    from arrival). ``qps``: the Server scenario's target. ``min_duration_s``, ``min_queries``:
    LoadGen's minimums (a run lasts until both are met; official runs use 600 s). ``percentile``:
    the latency percentile LoadGen judges (default 0.90 SingleStream, 0.99 Server).
    ``max_duration_s``: stop after this long even if early stopping wants more queries.
    ``expected_latency``: SingleStream: LoadGen generates min_duration / expected_latency queries
    up front, and a run that answers faster runs out of them before its minimum duration (an
    INVALID result), so give the fastest latency expected (default: a tenth of the deadline)."""

    scenario: Scenario = "single-stream"
    deadline: float = 0.1
    qps: float = 10.0
    min_duration_s: float = 10.0
    min_queries: int = 100
    max_duration_s: float | None = None
    percentile: float | None = None
    performance_samples: int | None = None
    seed: int = 0
    outdir: Path = Path("loadgen-out")
    expected_latency: float | None = None

    def __post_init__(self) -> None:
        if self.scenario not in ("single-stream", "server"):
            raise ValueError(f"scenario must be 'single-stream' or 'server', got {self.scenario!r}")
        if not (self.deadline > 0 and math.isfinite(self.deadline)):
            raise ValueError(f"the deadline (SingleStream) or SLO (Server) must be > 0 seconds, got {self.deadline}")
        if self.scenario == "server" and not self.qps > 0:
            raise ValueError(f"--qps must be > 0 for the Server scenario, got {self.qps}")
        if self.min_duration_s < 0 or self.min_queries < 1:
            raise ValueError("min_duration_s must be >= 0 and min_queries >= 1")
        if self.percentile is not None and not 0 < self.percentile < 1:
            raise ValueError(f"percentile must be in (0, 1), got {self.percentile}")


class Backend(Protocol):
    """Answers queries without blocking the caller: ``issue`` enqueues, and ``complete(query_id,
    sample_index, arrival, result)`` is called later from the backend's own threads."""

    def start(self, complete: Callable[[int, int, float, dict[str, Any]], None]) -> None: ...

    def issue(self, query_id: int, index: int, arrival: float) -> None: ...

    def stop(self) -> None: ...


def result_row(res: QueryResult) -> dict[str, Any]:
    """One request's result as the fields of :data:`QUERY_COLUMNS` (also the HTTP response body's)."""
    r = res.record
    return {"model": r.model, "stage": r.stage, "setting": r.setting, "setting_value": r.setting_value,
            "deadline_s": r.deadline_s, "expected_latency_s": r.expected_latency_s, "pr": r.pr,
            "latency_s": r.latency_s, "response_s": r.response_s, "queue_s": r.queue_s, "total_s": res.total_s,
            "stage_reached": r.stage_reached, "delivered_accuracy": r.delivered_accuracy, "correct": r.correct,
            "prediction": r.prediction, "label": r.label, "energy_j": r.energy_j, "energy_method": r.energy_method,
            "overhead_s": r.overhead_s, "state": r.state, "goals_met": res.goals_met, "goal_met": res.goal_met}


class InProcessBackend:
    """One worker thread serves the queries in arrival order through a :class:`QueryServer` and
    answers each as soon as its output is ready (the controller observes after). The thread
    exists from construction, so its id (:attr:`native_id`) can be placed under a cgroup v1
    quota before the server is attached (``alert loadgen --placement thread``)."""

    def __init__(self, samples: Sequence[tuple[Any, Any]], server: QueryServer | None = None) -> None:
        self.samples, self.server = samples, server
        self._waiting: deque[tuple[int, int, float] | None] = deque()  # issued, not yet served
        self._cv = threading.Condition()
        self._complete: Callable[[int, int, float, dict[str, Any]], None] | None = None
        self._ready = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="alert-loadgen-sut", daemon=True)
        self._thread.start()
        self.native_id: int = self._thread.native_id or 0

    def _loop(self) -> None:
        self._ready.wait()
        complete = self._complete
        if complete is None or self.server is None:  # stopped before it started
            return
        while True:
            item, queued = self._next()
            if item is None:
                return
            qid, index, arrival = item
            x, label = self.samples[index]
            answered: list[bool] = []

            def respond(res: QueryResult, qid: int = qid, index: int = index, arrival: float = arrival,
                        answered: list[bool] = answered) -> None:
                answered.append(True)
                complete(qid, index, arrival, {**result_row(res), "reserve_s": res.reserve_s})
            try:
                self.server.serve(x, label, arrival, respond=respond, queued=queued)
            except Exception as e:  # answered (as an error) so that LoadGen finishes
                self.error = self.error or e
                if not answered:
                    complete(qid, index, arrival, {"error": f"{type(e).__name__}: {e}"})

    def _next(self) -> tuple[tuple[int, int, float] | None, list[float]]:
        """The next query to serve, and the deadlines of (at most ``QUEUE_VIEW`` of) those still
        waiting behind it, in order."""
        with self._cv:
            while not self._waiting:
                self._cv.wait()
            item = self._waiting.popleft()
            if item is None or self.server is None:
                return item, []
            deadline = float(getattr(self.server.goal, "deadline", math.inf))
            return item, [w[2] + deadline for w in itertools.islice(self._waiting, QUEUE_VIEW) if w is not None]

    def start(self, complete: Callable[[int, int, float, dict[str, Any]], None]) -> None:
        if self.server is None:
            raise ValueError("InProcessBackend: attach a QueryServer (backend.server = ...) before start")
        self._complete = complete
        self._ready.set()

    def issue(self, query_id: int, index: int, arrival: float) -> None:
        with self._cv:
            self._waiting.append((query_id, index, arrival))
            self._cv.notify()

    def stop(self) -> None:
        with self._cv:
            self._waiting.append(None)
            self._cv.notify()
        self._ready.set()
        self._thread.join(timeout=30)
        if self.server is not None:
            self.server.close()


def request_body(x: Any, goal: Any, label: Any = None) -> dict[str, Any]:
    """The JSON request of ``alert serve`` (docs/serving.md) for input ``x`` and ``goal``."""
    g: dict[str, Any] = {"deadline": goal.deadline}
    for key in ("accuracy", "energy", "power", "pr_th"):
        v = getattr(goal, key, None)
        if v is not None:
            g[key] = v
    from alert.live.fleet import encode_input

    body: dict[str, Any] = {"input": encode_input(x), "goal": g}
    if label is not None:
        body["label"] = np.asarray(label).reshape(-1).astype(int).tolist()
    return body


class HttpBackend:
    """Sends each query to an ``alert serve`` deployment from a pool of client threads (one
    persistent connection each). The deadline sent is the SLO minus the time the query already
    waited here, and ``sent_at`` the moment it leaves, so the replica is given what remains."""

    def __init__(self, target: str, samples: Sequence[tuple[Any, Any]], goal: Any, threads: int = 16,
                 timeout_s: float = 30.0, clock: Callable[[], float] = time.perf_counter) -> None:
        from urllib.parse import urlsplit

        u = urlsplit(target)
        if u.scheme != "http" or not u.hostname:
            raise ValueError(f"--target {target!r}: expected http://HOST:PORT[/PATH]")
        self.host, self.port, self.path = u.hostname, u.port or 80, u.path or "/"
        self.samples, self.goal, self.threads, self.timeout, self.clock = samples, goal, threads, timeout_s, clock
        self._bodies: dict[int, dict[str, Any]] = {}
        self._q: queue.SimpleQueue[tuple[int, int, float] | None] = queue.SimpleQueue()
        self._pool: list[threading.Thread] = []
        self.errors = 0

    def _body(self, index: int, waited: float, sent_at: float) -> bytes:
        """The request: the goal with the deadline left after ``waited`` seconds here, sent at
        ``sent_at`` (Unix time of the same moment), from which the replica counts it."""
        from alert.live.serving import adjusted_goal

        x, label = self.samples[index]
        body = request_body(x, adjusted_goal(self.goal, waited), label)
        body["sent_at"] = sent_at
        return json.dumps(body).encode()

    def start(self, complete: Callable[[int, int, float, dict[str, Any]], None]) -> None:
        import http.client

        def loop() -> None:
            conn: http.client.HTTPConnection | None = None
            while True:
                item = self._q.get()
                if item is None:
                    if conn is not None:
                        conn.close()
                    return
                qid, index, arrival = item
                sent, sent_at = self.clock(), time.time()  # one moment on both clocks
                body = self._body(index, sent - arrival, sent_at)
                row: dict[str, Any]
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                    conn.request("POST", self.path, body, {"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    data = resp.read()
                    row = (json.loads(data) if resp.status == 200
                                           else {"error": f"HTTP {resp.status}: {data[:200]!r}"})
                    if not isinstance(row, dict):
                        row = {"error": f"response is not a JSON object: {data[:200]!r}"}
                except (OSError, http.client.HTTPException, ValueError) as e:
                    if conn is not None:
                        conn.close()
                    conn = None
                    row = {"error": f"{type(e).__name__}: {e}"}
                done = self.clock()
                if "error" in row:
                    self.errors += 1
                else:
                    # the client's view: the deadline counts from LoadGen's issue, so the total
                    # is measured here, and the deadline goal is judged on it
                    pred = row.get("prediction")
                    row["prediction"] = " ".join(str(int(v)) for v in pred) if isinstance(pred, list) else ""
                    label = self.samples[index][1]
                    row["label"] = "" if label is None else " ".join(str(int(v)) for v in np.asarray(label).reshape(-1))
                    row["correct"] = -1.0 if row.get("correct") is None else row["correct"]
                    row["server_total_s"] = row.get("total_s")
                    row["total_s"] = done - arrival
                    row["queue_s"] = done - arrival - float(row.get("response_s", 0.0))
                    met = dict(row.get("goals_met", {}))
                    client = judge_goals(self.goal, done - arrival, row.get("stage_reached"),
                                         float(row.get("delivered_accuracy", 0.0)), float(row.get("energy_j", 0.0)))
                    # the energy verdict stays the replica's: it alone knows the request's energy window
                    met.update({k: v for k, v in client.items() if k != "energy" or k not in met})
                    row["goals_met"], row["goal_met"] = met, all(met.values())
                complete(qid, index, arrival, row)

        for i in range(self.threads):
            t = threading.Thread(target=loop, name=f"alert-loadgen-http-{i}", daemon=True)
            t.start()
            self._pool.append(t)

    def issue(self, query_id: int, index: int, arrival: float) -> None:
        self._q.put((query_id, index, arrival))

    def stop(self) -> None:
        for _ in self._pool:
            self._q.put(None)
        for t in self._pool:
            t.join(timeout=self.timeout + 5)


@dataclass
class LoadGenRun:
    """A finished LoadGen test: LoadGen's summary (parsed), the per-query rows and the aggregates."""

    loadgen: dict[str, Any]
    rows: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)


def parse_summary(text: str) -> dict[str, Any]:
    """LoadGen's ``mlperf_log_summary.txt``: every ``key : value`` line (numbers parsed) and the
    early-stopping notes."""
    out: dict[str, Any] = {}
    notes: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("* "):
            notes.append(s[2:])
            continue
        key, sep, val = s.partition(":")
        if not sep or not val.strip() or s.startswith("="):
            continue
        key, val = key.strip(), val.strip()
        try:
            out[key] = int(val) if val.lstrip("-").isdigit() else float(val)
        except ValueError:
            out[key] = val
    out["early_stopping_notes"] = notes
    return out


def parse_detail(text: str) -> dict[str, Any]:
    """The ``result_*`` entries of LoadGen's ``mlperf_log_detail.txt`` (``:::MLLOG {json}`` lines)."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        _, sep, doc = line.partition(":::MLLOG ")
        if not sep:
            continue
        try:
            entry = json.loads(doc)
        except ValueError:
            continue
        key = entry.get("key", "")
        if isinstance(key, str) and key.startswith("result_"):
            out[key] = entry.get("value")
    return out


def run_loadgen(backend: Backend, n_samples: int, config: LoadGenConfig,
                clock: Callable[[], float] = time.perf_counter) -> LoadGenRun:
    """Run one LoadGen test against ``backend``; LoadGen's logs go to ``config.outdir``."""
    import mlperf_loadgen as lg

    rows: dict[int, dict[str, Any]] = {}
    keep: dict[int, array.array] = {}
    lock = threading.Lock()
    t_origin = clock()
    # SingleStream: LoadGen issues the next query the moment the previous one completes, but the
    # Python callback that tells us may run later (it waits for the GIL, which the serving thread
    # holds while it observes, and a CPU quota can throttle it while it holds it); the query's
    # time starts at that completion, so that is its arrival
    last_done = [math.nan]

    def complete(qid: int, index: int, arrival: float, row: dict[str, Any]) -> None:
        try:
            pred = [int(v) for v in str(row.get("prediction", "") or "").split()] or [-1]
        except ValueError:
            pred = [-1]
        buf = array.array("q", pred)
        with lock:
            rows[qid] = {"query": len(rows), "sample": index, "arrival_s": arrival - t_origin, **row}
            keep[qid] = buf
        addr, n = buf.buffer_info()
        last_done[0] = clock()
        lg.QuerySamplesComplete([lg.QuerySampleResponse(qid, addr, n * buf.itemsize)])

    single = config.scenario == "single-stream"

    def issue_queries(samples: Any) -> None:  # LoadGen's thread: timestamp and enqueue only
        now = clock()
        if single and last_done[0] <= now:
            now = last_done[0]
        for s in samples:
            backend.issue(s.id, s.index, now)

    st = lg.TestSettings()
    st.mode = lg.TestMode.PerformanceOnly
    st.min_duration_ms = int(config.min_duration_s * 1000)
    st.min_query_count = config.min_queries
    if config.max_duration_s:
        st.max_duration_ms = int(config.max_duration_s * 1000)
    st.schedule_rng_seed = st.sample_index_rng_seed = st.qsl_rng_seed = config.seed
    if config.scenario == "single-stream":
        st.scenario = lg.TestScenario.SingleStream
        st.single_stream_expected_latency_ns = max(1, int((config.expected_latency or config.deadline / 10) * 1e9))
        st.single_stream_target_latency_percentile = config.percentile or 0.90
    else:
        st.scenario = lg.TestScenario.Server
        st.server_target_qps = float(config.qps)
        st.server_target_latency_ns = int(config.deadline * 1e9)
        st.server_target_latency_percentile = config.percentile or 0.99
    outdir = Path(config.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    ls = lg.LogSettings()
    ls.log_output.outdir = str(outdir)
    ls.log_output.copy_summary_to_stdout = False
    ls.enable_trace = False
    perf = min(n_samples, config.performance_samples or n_samples)
    backend.start(complete)
    sut = lg.ConstructSUT(issue_queries, lambda: None)
    qsl = lg.ConstructQSL(n_samples, perf, lambda s: None, lambda s: None)
    try:
        lg.StartTestWithLogSettings(sut, qsl, st, ls)
    finally:
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut)
        backend.stop()
    summary_file = outdir / "mlperf_log_summary.txt"
    parsed = parse_summary(summary_file.read_text()) if summary_file.exists() else {}
    detail_file = outdir / "mlperf_log_detail.txt"
    if detail_file.exists():
        parsed["detail"] = parse_detail(detail_file.read_text())
    ordered = [rows[k] for k in sorted(rows, key=lambda q: rows[q]["query"])]
    return LoadGenRun(parsed, ordered)


def _pct(a: np.ndarray, q: float) -> float | None:
    return float(np.percentile(a, q)) if len(a) else None


def aggregate(run: LoadGenRun, config: LoadGenConfig, policy: str) -> dict[str, Any]:
    """The run's aggregates (strict JSON: no NaN; None where a value does not exist)."""
    ok = [r for r in run.rows if "error" not in r]
    lat = np.array([float(r["total_s"]) for r in ok])
    correct = [float(r["correct"]) for r in ok if float(r.get("correct", -1)) >= 0]
    lg = run.loadgen
    pkey = "99.00 percentile latency (ns)" if config.scenario == "server" else "90.00 percentile latency (ns)"
    configs = Counter(f"{r['model']}{'' if r.get('stage') in (None, '') else '@' + str(r['stage'])}:{r['setting']}"
                      for r in ok)
    out: dict[str, Any] = {
        "scenario": config.scenario, "policy": policy, "deadline_s": config.deadline,
        "target_qps": config.qps if config.scenario == "server" else None,
        "loadgen": {"result": lg.get("Result is"), "valid": lg.get("Result is") == "VALID",
                    "early_stopping_satisfied": lg.get("Early stopping satisfied"),
                    "min_duration_satisfied": lg.get("Min duration satisfied"),
                    "min_queries_satisfied": lg.get("Min queries satisfied"),
                    "performance_constraints_satisfied": lg.get("Performance constraints satisfied"),
                    "p50_s": _ns(lg.get("50.00 percentile latency (ns)")),
                    "p90_s": _ns(lg.get("90.00 percentile latency (ns)")),
                    "p99_s": _ns(lg.get("99.00 percentile latency (ns)")),
                    "target_percentile_s": _ns(lg.get(pkey)),
                    "qps": lg.get("QPS w/ loadgen overhead", lg.get("Completed samples per second")),
                    "early_stopping": lg.get("early_stopping_notes", []),
                    "query_count": lg.get("detail", {}).get("result_query_count"),
                    "overlatency_query_count": lg.get("detail", {}).get("result_overlatency_query_count"),
                    "invalid_reason": lg.get("detail", {}).get("result_invalid_reason")},
        "queries": len(run.rows), "errors": len(run.rows) - len(ok),
        "goal_met_rate": _mean([bool(r["goal_met"]) for r in ok]),
        "deadline_met_rate": _mean([bool(r["goals_met"].get("deadline", True)) for r in ok]),
        "p50_s": _pct(lat, 50), "p90_s": _pct(lat, 90), "p99_s": _pct(lat, 99),
        "mean_queue_s": _mean([float(r["queue_s"]) for r in ok]),
        "delivered_accuracy": _mean([float(r["delivered_accuracy"]) for r in ok]),
        "measured_accuracy": _mean(correct),
        "mean_energy_j": _mean([float(r["energy_j"]) for r in ok]),
        "mean_setting_value": _mean([float(r["setting_value"]) for r in ok]),
        "configurations": dict(configs.most_common()),
    }
    return out


def _ns(v: Any) -> float | None:
    return None if v is None else float(v) / 1e9


def _mean(v: Sequence[float]) -> float | None:
    return float(np.mean(v)) if len(v) else None


def write_queries(rows: list[dict[str, Any]], path: str | Path) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=QUERY_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "goals_met": " ".join(f"{k}={int(v)}" for k, v in r.get("goals_met", {}).items())})


def write_summary(summary: dict[str, Any], path: str | Path) -> None:
    """Strict JSON: a non-finite number would be a bug, so it raises instead of writing NaN."""
    Path(path).write_text(json.dumps(summary, indent=1, allow_nan=False) + "\n")


__all__ = ["QUERY_COLUMNS", "HttpBackend", "InProcessBackend", "LoadGenConfig", "LoadGenRun", "aggregate",
           "parse_detail", "parse_summary", "request_body", "result_row", "run_loadgen", "write_queries", "write_summary"]
