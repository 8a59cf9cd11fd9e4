"""Serving requests, one at a time, each with its own arrival time and goal (§3.2 goal adjustment).

A request that waited in a queue has less time left: the controller is given the goal with the
deadline that remains, ``deadline - (start - arrival)``, so it picks a faster configuration (or,
when even the fastest cannot make it, follows the priority order, and an anytime model answers
with the last stage it finished). A planning policy also keeps time out of the deadline for
what follows the request: the requests queued behind it, where the server sees its queue (the
LoadGen system under test; :func:`queue_reserve`), the arrivals to come, where a percentile of
the answer time is judged (LoadGen's Server scenario; :func:`load_cap`), and the answer's way
back to the client (the Ray Serve replica, from the request's ``sent_at``). The LoadGen system
under test and the Ray Serve replica both serve through :class:`QueryServer`.

Energy: one meter window per request, from the end of the previous request to the end of this
one, so the windows tile the server's life and the idle time between requests is charged to the
request that ends it (as paced serving does, ``alert.live.runtime``); the window's length is the
period the controller's idle-power filter sees, and the period a power budget is judged over
(average power over the window, :func:`judge_goals`).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from alert.live.runtime import InputRecord, Runtime

MIN_DEADLINE = 1e-6  # seconds: the deadline handed to the controller when none is left


@dataclass
class QueryResult:
    """What serving one request gave: the runtime's record (``queue_s`` filled in), the model's
    output (None when no output was ready by the deadline), the time from arrival to the output,
    and which goals were met; ``reserve_s``, the time kept out of its deadline for what follows it
    (the queue behind it, the load, the way back; the controller planned for ``record.deadline_s``,
    what was left)."""

    record: InputRecord
    output: Any
    total_s: float
    goals_met: dict[str, bool]
    reserve_s: float = 0.0

    @property
    def goal_met(self) -> bool:
        return all(self.goals_met.values())


def judge_goals(goal: Any, total_s: float, stage_reached: int | None, delivered_accuracy: float,
                energy_j: float, window_s: float | None = None) -> dict[str, bool]:
    """Which of the goal's constraints one request met: ``deadline`` (an output by the deadline,
    counted from arrival), ``accuracy`` (the profiled accuracy of what was delivered, for a goal
    with an accuracy bound) and ``energy`` (the request's metered energy, over its energy window
    of ``window_s`` seconds, within the budget: an ``energy`` budget in joules as given; a
    ``power`` budget as average power over the window, energy ≤ power × window, the paper's
    E = P·T with the window as the period; power × deadline where the window is not known)."""
    met: dict[str, bool] = {}
    deadline = float(getattr(goal, "deadline", math.inf))
    if math.isfinite(deadline):
        met["deadline"] = total_s <= deadline and stage_reached != 0
    if getattr(goal, "accuracy", None) is not None:
        met["accuracy"] = delivered_accuracy >= float(goal.accuracy) - 1e-12
    budget = goal.energy_budget()
    power = getattr(goal, "power", None)
    if power is not None and window_s is not None and math.isfinite(window_s) and window_s > 0:
        budget = float(power) * window_s
    if math.isfinite(budget):
        met["energy"] = energy_j <= budget
    return met


def queue_reserve(remaining: float, queued: Sequence[float], fastest: float) -> float:
    """Seconds of the current request's ``remaining`` time to keep for the requests queued behind
    it (§3.2 goal adjustment, applied to a queue): the k-th of them (1-based), with ``queued[k-1]``
    seconds left until its deadline, starts once this request and the k − 1 before it are done,
    so, if each of those takes ``fastest`` (the expected latency of the fastest configuration),
    this request may take at most queued[k-1] − k·fastest. The reserve is what that leaves out of
    ``remaining`` (0 when the queue asks nothing of it; all of it when the queue is already
    behind, so the request runs as fast as it can)."""
    allowed = remaining
    for k, left in enumerate(queued, 1):
        allowed = min(allowed, left - k * fastest)
    return _kept(remaining, allowed)


def _kept(remaining: float, allowed: float) -> float:
    """The reserve that leaves a request ``allowed`` of its ``remaining`` seconds: in [0, remaining]."""
    return min(max(remaining - allowed, 0.0), max(remaining, 0.0))


def load_cap(deadline: float, rate: float, percentile: float) -> float:
    """The longest mean time per request that keeps the ``percentile`` of the time from arrival
    to answer within ``deadline`` at ``rate`` requests per second, by the M/M/1 queue: its time in
    system is exponential with rate 1/s − λ, so P(T > D) = e^−(1/s − λ)·D ≤ 1 − q gives
    s ≤ D / (ln(1/(1 − q)) + λ·D). At λ = 0 it is D / ln(1/(1 − q)) (0.22·D for the 99th
    percentile): even alone, a request's time varies."""
    return deadline / (math.log(1.0 / (1.0 - percentile)) + max(rate, 0.0) * deadline)


def adjusted_goal(goal: Any, waited: float) -> Any:
    """The goal with the deadline that remains after ``waited`` seconds (at least MIN_DEADLINE)."""
    deadline = float(getattr(goal, "deadline", math.inf))
    if not math.isfinite(deadline):
        return goal
    return replace(goal, deadline=max(deadline - max(waited, 0.0), MIN_DEADLINE))


class QueryServer:
    """Serve requests through ``runtime`` (its policy, knob, meter and runners), one at a time:
    concurrent callers wait for a lock, and the wait counts as queueing.

    ``percentile`` (e.g. 0.99, LoadGen's Server scenario): the requests are judged by that
    percentile of their time from arrival to answer, so a planning policy also keeps each
    request's time within :func:`load_cap` at the arrival rate of the last ``rate_window``
    requests: under load a request that alone could take its whole deadline would make the
    ones arriving behind it wait. None (the default): each request on its own deadline."""

    def __init__(self, runtime: Runtime, goal: Any, percentile: float | None = None, rate_window: int = 64) -> None:
        if percentile is not None and not 0 < percentile < 1:
            raise ValueError(f"percentile must be in (0, 1), got {percentile!r}")
        if rate_window < 2:
            raise ValueError(f"rate_window must be >= 2, got {rate_window!r}")
        self.runtime, self.goal, self.percentile = runtime, goal, percentile
        self._lock = threading.Lock()
        self._metering = False
        self._arrivals: deque[float] = deque(maxlen=rate_window)
        self.served = 0

    def arrival_rate(self) -> float:
        """Requests per second over the last ``rate_window`` arrivals (0 until there are 8)."""
        a = self._arrivals
        span = a[-1] - a[0] if len(a) >= 8 else 0.0
        return (len(a) - 1) / span if span > 0 else 0.0

    def serve(self, x: Any, label: Any = None, arrival: float | None = None, goal: Any = None,
              respond: Callable[[QueryResult], None] | None = None, queued: Sequence[float] = (),
              way_back: float = 0.0) -> QueryResult:
        """Serve one request that arrived at ``arrival`` (the runtime's clock; default: now) with
        ``goal`` (default: the server's), whose deadline counts from the arrival. ``queued``: the
        deadlines (the runtime's clock) of the requests waiting behind this one, in the order they
        will be served; a policy that plans (one with ``set_reserve``, ``fastest_latency`` and
        ``overhead``: :class:`~alert.controller.Controller`) keeps time for them
        (:func:`queue_reserve`, each at the fastest expected latency plus the controller's own
        time); a fixed configuration does not. ``way_back``: seconds the answer will take to reach
        the client after it leaves (e.g. the transit the request took to get here); a planning
        policy keeps them too, while the request is judged here, at its output. ``respond`` is
        called with the result as soon as the output and its energy are known, before the
        controller's ``observe`` (whose time then delays the next request, not this one)."""
        rt = self.runtime
        with self._lock:
            t0 = rt.clock()
            arrival = t0 if arrival is None else arrival
            goal = self.goal if goal is None else goal
            waited = max(t0 - arrival, 0.0)
            self._arrivals.append(arrival)
            rt.ctl.set_goal(adjusted_goal(goal, waited))
            deadline = float(getattr(goal, "deadline", math.inf))
            # a policy that plans (the Controller) keeps time for what follows; a fixed one does not
            ctl: Any = rt.ctl
            plans = callable(getattr(ctl, "set_reserve", None))
            reserve = 0.0
            if math.isfinite(deadline) and plans and (queued or self.percentile is not None or way_back > 0):
                remaining = deadline - waited
                if way_back > 0 and math.isfinite(way_back):
                    reserve = min(way_back, max(remaining, 0.0))
                if queued:  # each query behind costs at least the fastest configuration and the controller's time
                    per_query = ctl.fastest_latency() + ctl.overhead()
                    reserve = max(reserve, queue_reserve(remaining, [d - t0 for d in queued], per_query))
                if self.percentile is not None:
                    cap = load_cap(deadline, self.arrival_rate(), self.percentile)
                    reserve = max(reserve, _kept(remaining, cap))
            if not self._metering:
                rt.meter.start()
                self._metering = True
            try:
                if reserve > 0:
                    ctl.set_reserve(reserve)
                rec, out = rt._run_one(x, label, metered=False, t_start=t0)
            finally:
                if reserve > 0:
                    ctl.set_reserve(0.0)
            e = rt._checked(rt.meter.stop())
            rt.meter.start()
            rec.energy_j, rec.energy_method = e.energy_j, e.method
            rec.queue_s = waited
            total = waited + rec.response_s
            res = QueryResult(rec, None if out.stage == 0 else out.output, total,
                              judge_goals(goal, total, rec.stage_reached, rec.delivered_accuracy, rec.energy_j,
                                          e.seconds),
                              reserve)
            if respond is not None:
                respond(res)
            rt._observe(rec, e.seconds if e.seconds > 0 else None)
            rt.ctl.set_goal(goal)
            self.served += 1
        return res

    def close(self) -> None:
        with self._lock:
            if self._metering:
                self.runtime.meter.stop()
                self._metering = False

