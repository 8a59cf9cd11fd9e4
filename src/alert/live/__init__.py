"""Serving live inputs: the stage runner (``runner``), the inference thread (``worker``), the
policies the runtime drives (``policies``), the runtime and its serve loop and log
(``runtime``), entry points and input streams (``inputs``), and the serving front ends built on
them: MLPerf LoadGen (``loadgen``) and Ray Serve (``fleet``), whose optional packages are
imported only when used."""

from alert.live.inputs import load_entry_point, load_inputs
from alert.live.policies import Policy, StaticPolicy
from alert.live.runner import Runner, RunOutput, run_stages, torch_runner
from alert.live.runtime import LOG_COLUMNS, InputRecord, Runtime, RuntimeConfig, summarize
from alert.live.worker import InferenceThread

__all__ = ["LOG_COLUMNS", "InferenceThread", "InputRecord", "Policy", "RunOutput", "Runner", "Runtime",
           "RuntimeConfig", "StaticPolicy", "load_entry_point", "load_inputs", "run_stages", "summarize",
           "torch_runner"]
