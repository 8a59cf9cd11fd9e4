"""The live runtime (re-exported from :mod:`alert.live`) and the knob and meter factories.

The runtime itself lives in the :mod:`alert.live` package (``runner``, ``worker``,
``policies``, ``runtime``, ``inputs``); this module keeps the names importable from
``alert.runtime`` and holds :func:`make_knob` and :func:`make_meter`.
"""

from __future__ import annotations

from collections.abc import Sequence

from alert.live.inputs import load_entry_point, load_inputs
from alert.live.policies import Policy, StaticPolicy
from alert.live.runner import Runner, RunOutput, run_stages, torch_runner
from alert.live.runtime import LOG_COLUMNS, InputRecord, Runtime, RuntimeConfig, summarize
from alert.live.worker import InferenceThread
from alert.system.base import Knob, Meter

__all__ = ["LOG_COLUMNS", "InferenceThread", "InputRecord", "Policy", "RunOutput", "Runner", "Runtime",
           "RuntimeConfig", "StaticPolicy", "load_entry_point", "load_inputs", "make_knob", "make_meter",
           "run_stages", "summarize", "torch_runner"]


def make_knob(name: str, period_us: int = 100_000, tids: tuple[int, ...] = (),
              settings: Sequence[float] = (), via: str | None = None) -> Knob:
    """Build the knob registered as ``name`` (:mod:`alert.system.registry`) with this machine's
    defaults (``tids``: cgroup v1 thread placement; ``settings``: the levels of the simulated knob;
    ``via``: a knobd socket)."""
    from alert.system.registry import KnobOptions
    from alert.system.registry import make_knob as build

    return build(name, KnobOptions(period_us=period_us, tids=tuple(tids), settings=tuple(settings), via=via))


def make_meter(name: str, knob: Knob | None = None, watts_per_core: float = 10.0,
               idle_power: float = 2.0) -> Meter:
    """Build the meter registered as ``name`` (:mod:`alert.system.registry`; ``watts_per_core``,
    ``idle_power``: the CPU-time meter's model; ``knob``: what the simulated meter reads)."""
    from alert.system.registry import MeterOptions
    from alert.system.registry import make_meter as build

    return build(name, MeterOptions(watts_per_core=watts_per_core, idle_power=idle_power, knob=knob))
