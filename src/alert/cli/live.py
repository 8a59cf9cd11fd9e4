"""``alert run``, ``alert profile`` and ``alert trace record``: commands that run models under a
real knob and meter. torch is imported inside the handlers."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alert import strictjson
from alert.cli import checks as C
from alert.cli.system import state_dir_arg
from alert.provenance import command_line, platform_string, portable_text

log = logging.getLogger(__name__)

#: why a number of `alert run --json` can be missing (null)
RUN_SUMMARY_REASONS = {"accuracy_measured": "no input had a label (--data random)"}


def _meter(args: argparse.Namespace, knob: Any) -> Any:
    from alert.runtime import make_meter

    return make_meter(args.meter, knob, watts_per_core=args.watts_per_core, idle_power=args.idle_power)


def add_model_knob_meter_arguments(p: argparse.ArgumentParser) -> None:
    """--models, --knob, --meter and the CPU-time meter's constants (alert run, alert trace record)."""
    p.add_argument("--models", required=True, metavar="ENTRY",
                   help="module:function or path/file.py:function returning {profile model name: model}")
    add_knob_meter_arguments(p)


def add_knob_meter_arguments(p: argparse.ArgumentParser) -> None:
    """--knob and --meter with the registry's choices, and the CPU-time meter's constants."""
    from alert.system.registry import knob_names, meter_names

    p.add_argument("--knob", default="cgroup+threads", choices=knob_names())
    p.add_argument("--via", default=None, metavar="SOCKET",
                   help="apply the knob through knobd on this Unix socket (alert knobd), e.g. as a user who is "
                        "not root: /run/alert-knobd/knobd.sock")
    p.add_argument("--meter", default="cpu-time", choices=meter_names())
    p.add_argument("--watts-per-core", type=C.positive, default=10.0, help="cpu-time meter: W per busy core")
    p.add_argument("--idle-power", type=C.non_negative, default=2.0, help="cpu-time meter: idle W")


POLICY_HELP = ("a scheme with a live policy (`alert schemes`; default: ALERT, the project's default controller; "
               "aliases: alert = ALERT, paper = ALERT_paper, the paper's preset ControllerConfig(estimator='paper'), "
               "static-best = Static_profile, the best fixed configuration by the quiet profile) or a fixed "
               "configuration MODEL[@STAGE]:SETTING")


def add_policy_arguments(p: argparse.ArgumentParser) -> None:
    """--policy (schemes.live_policy's choices), --candidates and --estimator-param (alert run,
    alert loadgen, alert serve)."""
    p.add_argument("--policy", default="ALERT", metavar="SCHEME|MODEL[@STAGE]:SETTING", help=POLICY_HELP)
    p.add_argument("--candidates", choices=["all", "anytime", "traditional"], default="all")
    p.add_argument("--estimator-param", action="append", default=[], type=estimator_param, metavar="KEY=VALUE",
                   help="a parameter of the policy's estimator, repeatable (docs/controller.md has each "
                        "estimator's table), e.g. tiny_fraction=0.2")


def estimator_param(text: str) -> tuple[str, bool | int | float | str]:
    """``--estimator-param KEY=VALUE``: VALUE is read as true/false, an integer, a number, or else
    kept as a word (e.g. groups=config); the estimator checks it."""
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key.isidentifier() or not value:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, e.g. tiny_fraction=0.2, got {text!r}")
    if value.lower() in ("true", "false"):
        return key, value.lower() == "true"
    if len(value) > 40:
        raise argparse.ArgumentTypeError(f"{key}: value of {len(value)} characters; expected a number or a word")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def estimator_params(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The --estimator-param pairs as a mapping; a key given twice is refused."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"--estimator-param {k}: given twice. Fix: give every parameter once")
        out[k] = v
    return out


def add_contention_arguments(p: argparse.ArgumentParser, during: str) -> None:
    """--contend and its on/off schedule (alert run, alert loadgen); ``during``: what it runs beside."""
    p.add_argument("--contend", choices=["memory", "compute"], default=None,
                   help=f"start a contention job on an on/off schedule for {during}")
    p.add_argument("--on", type=C.non_negative_seconds, default=None, help="contention seconds on (default 5)")
    p.add_argument("--off", type=C.non_negative_seconds, default=None, help="contention seconds off (default 5)")
    p.add_argument("--contend-workers", type=C.workers, default=None, help="default: one per CPU")
    p.add_argument("--contend-start", choices=["off", "on"], default=None,
                   help="phase the schedule starts in (default: off, like `alert trace record`)")


def check_contention_arguments(args: argparse.Namespace) -> None:
    """--on, --off, --contend-workers and --contend-start shape the --contend job: refused
    without --contend (they would do nothing); with it, the defaults fill what is not given."""
    given = [o for o, v in (("--on", args.on), ("--off", args.off), ("--contend-workers", args.contend_workers),
                            ("--contend-start", args.contend_start)) if v is not None]
    if args.contend is None and given:
        raise ValueError(f"{', '.join(given)}: {'shape' if len(given) > 1 else 'shapes'} the contention job of "
                         f"--contend, and no --contend is given. Fix: add --contend memory|compute, or drop "
                         f"{' '.join(given)}")
    args.on = 5.0 if args.on is None else args.on
    args.off = 5.0 if args.off is None else args.off
    args.contend_start = args.contend_start or "off"


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", required=True, help="profile recorded with the same knob (alert profile)")
    p.add_argument("--goal", required=True, help="e.g. min-energy:deadline=0.02,accuracy=0.85 (see alert decide)")
    add_model_knob_meter_arguments(p)
    add_data_arguments(p, "test split; labels give correctness")
    p.add_argument("--inputs", type=C.inputs, default=200, help="number of inputs to serve")
    add_common_arguments(p)
    p.add_argument("--period", type=C.seconds, default=None, help="seconds between inputs (default: back to back)")
    add_policy_arguments(p)
    add_contention_arguments(p, "the run")
    p.add_argument("--placement", choices=["thread", "process"], default="process",
                   help="cgroup knob: put only the inference thread under the quota (v1; the controller "
                        "stays unthrottled) or the whole process (default: %(default)s)")
    p.add_argument("--log", type=C.run_log, default="alert-run.csv",
                   help="per-input log: CSV, or JSON lines with every estimate when the name ends in .jsonl "
                        "(default: %(default)s)")
    p.add_argument("--state-dir", type=state_dir_arg, default=None, help="state file folder for alert restore")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


DATA_HELP = ("a .npy file of shape (N, *sample_shape), floating point (converted to float32); each input "
             "is BATCH consecutive samples, a torch.float32 tensor of shape (BATCH, *sample_shape)")


def add_data_arguments(p: argparse.ArgumentParser, fashion: str) -> None:
    """--data (Fashion-MNIST folder, FILE.npy or random) and --labels (alert run, alert profile)."""
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                   help=f"Fashion-MNIST folder ({fashion}), 'random' (N x 1 x 28 x 28 normal noise, no labels) "
                        f"or {DATA_HELP} (default: %(default)s)")
    p.add_argument("--labels", default=None, metavar="FILE.npy",
                   help="with --data FILE.npy: N integer class indices (the argmax of a model's output); "
                        "they give each model's accuracy and the per-input correctness")


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by ``alert run`` and ``alert profile``."""
    p.add_argument("--batch", type=C.count(1, 65536), default=1, help="images per input (default: %(default)s)")
    p.add_argument("--threads", type=C.threads, default=None,
                   help="fix torch's intra-op threads (default: torch's choice; the +threads knob sets them itself)")
    p.add_argument("--cfs-period-us", type=C.cfs_period_us, default=100_000,
                   help="cgroup knobs: CFS period; the smallest quota is 1000 us, so 0.25 cores needs <= 4000 "
                        "(default: %(default)s)")


def cmd_run(args: argparse.Namespace) -> int:
    """``alert run``."""
    from alert.evaluation.schemes import live_policy
    from alert.goals import GoalError, parse_goal
    from alert.live.inputs import check_models_accept, load_models
    from alert.profile import Profile, ProfileError
    from alert.runtime import (
        InferenceThread,
        Runtime,
        RuntimeConfig,
        load_inputs,
        make_knob,
        summarize,
        torch_runner,
    )
    from alert.system.errors import SystemLayerError
    from alert.system.guard import KnobGuard

    try:
        check_contention_arguments(args)
        if args.placement == "thread" and args.knob != "cgroup":
            raise ValueError(f"--placement thread puts only the inference thread under the quota of --knob cgroup; "
                             f"with --knob {args.knob} it would do nothing. Fix: add --knob cgroup, or drop "
                             f"--placement thread")
        profile = Profile.load(args.profile)
        goal = parse_goal(args.goal)
        policy = live_policy(args.policy, profile, goal, args.candidates, estimator_params(args.estimator_param))
        models = load_models(args.models)
        runners = {name: torch_runner(m) if not callable(getattr(m, "__alert_runner__", None)) else m.__alert_runner__
                   for name, m in models.items()}
        inputs = list(load_inputs(args.data, args.inputs, args.batch, labels=args.labels))
        check_models_accept(models, inputs[0][0], args.data, labels_of(inputs, args.labels),
                            args.labels or args.data)
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
    except (ProfileError, GoalError, ValueError, KeyError, OSError) as e:
        log.error("%s", e)
        return 2
    contention, worker = None, None
    if args.contend:  # started before the knob moves this process into its cgroup
        import os

        from alert.system.contend import Contention, ContentionConfig
        contention = Contention(ContentionConfig(args.contend, args.on, args.off, None,
                                                 args.contend_workers or len(os.sched_getaffinity(0)),
                                                 start_on=args.contend_start == "on")).start()
    try:
        worker = InferenceThread() if args.placement == "thread" and args.knob == "cgroup" else None
        knob = make_knob(args.knob, args.cfs_period_us, (worker.native_id,) if worker else (),
                         settings=[s.value for s in profile.settings], via=args.via)
        meter = _meter(args, knob)
        rt = Runtime(policy, knob, meter, runners, RuntimeConfig(period=args.period),
                     state=(lambda: "on" if contention.is_on() else "off") if contention else None, worker=worker)
        with KnobGuard([knob], args.state_dir):
            for x, _ in inputs[:3]:  # warm-up, not logged
                for r in runners.values():
                    worker.call(r, x, None, None) if worker else r(x, None, None)
            records = rt.serve(inputs, period=args.period, log=args.log)
    except (SystemLayerError, ValueError) as e:
        log.error("%s", e)
        return 2
    finally:
        if contention is not None:
            contention.stop()
        if worker is not None:
            worker.close()
    s = summarize(records)
    s["policy"] = args.policy
    s["log"] = args.log
    if args.json:
        print(strictjson.dumps(s, RUN_SUMMARY_REASONS))
    else:
        for k, v in s.items():
            print(f"{k:<24}{v:.6g}" if isinstance(v, float) else f"{k:<24}{v}")
    return 0


def labels_of(pairs: list[tuple[Any, Any]], labels_file: str | None = None) -> Any:
    """Every label of ``labels_file`` (--labels, already checked by ``load_inputs``), else the
    labels of (input, labels) pairs as one array; None without labels."""
    import numpy as np

    if labels_file is not None:
        return np.load(labels_file, allow_pickle=False)
    ys = [np.asarray(y).reshape(-1) for _, y in pairs if y is not None]
    return np.concatenate(ys) if ys else None


def accuracy_arg(text: str) -> tuple[str, list[float]]:
    """``alert profile --accuracy NAME=Q[,Q...]``: a model's accuracy per stage, each a fraction in [0, 1]."""
    syntax = "expected NAME=Q[,Q...]: one model's accuracy per stage, fractions in [0, 1]"
    name, sep, qs = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{syntax}, got {text!r}")
    parts = qs.split(",")
    more = [q.strip() for q in parts if "=" in q]
    if more:
        raise argparse.ArgumentTypeError(f"{text!r} names several models; give one --accuracy per model, "
                                         f"e.g. --accuracy {name}=Q --accuracy {more[0]}")
    out = []
    for q in parts:
        try:
            v = float(q)
        except ValueError:
            raise argparse.ArgumentTypeError(f"accuracy {q.strip()!r} of model {name!r} is not a number; "
                                             f"{syntax}, got {text!r}") from None
        if not 0.0 <= v <= 1.0:
            raise argparse.ArgumentTypeError(f"accuracy {q.strip()!r} of model {name!r} is outside [0, 1] (a "
                                             f"fraction, e.g. 0.91 not 91); {syntax}, got {text!r}")
        out.append(v)
    return name, out


def given_accuracy(pairs: list[tuple[str, list[float]]], models: dict[str, Any],
                   spec: str) -> dict[str, list[float]]:
    """The --accuracy values by model: each model of ``models`` (from --models ``spec``) at most
    once, with one accuracy per stage."""
    from alert.profiler import n_stages

    given: dict[str, list[float]] = {}
    for name, qs in pairs:
        if name in given:
            raise ValueError(f"--accuracy: model {name!r} is given twice. Fix: give each model's accuracy once")
        if name not in models:
            raise ValueError(f"--accuracy {name}=...: --models {spec} has no model {name!r} (its models: "
                             f"{', '.join(models)}). Fix: name one of them")
        k = n_stages(models[name])
        if len(qs) != k:
            raise ValueError(f"--accuracy {name}=...: {len(qs)} accuracies for model {name!r}, which has {k} "
                             f"stage(s). Fix: give one Q per stage, --accuracy {name}=Q[,Q...] with {k} value(s)")
        given[name] = qs
    return given


def add_profile_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", default="alert.profiler:project_models", metavar="ENTRY",
                   help="module:function or file.py:function returning {name: model} (default: %(default)s)")
    add_knob_meter_arguments(p)
    p.add_argument("--settings", type=C.positive, nargs="+", required=True, help="setting values in the knob's unit")
    add_data_arguments(p, "timing samples from the start of the test split, accuracy from its end")
    p.add_argument("--accuracy-samples", type=C.count(1, C.MAX_INPUTS), default=2000,
                   help="labelled samples for accuracy (the last ones of the data; default: %(default)s)")
    p.add_argument("--period", type=C.seconds, default=None, metavar="S",
                   help="paced mode: one input every S seconds with idle in between, as a stream serves "
                        "them (default: back to back)")
    p.add_argument("--accuracy", action="append", default=[], type=accuracy_arg, metavar="NAME=Q[,Q...]",
                   help="give a model's accuracy per stage instead of measuring it (once per model)")
    p.add_argument("--repeats", type=C.count(2, 1_000_000), default=50)
    p.add_argument("--warmup", type=C.count(0, 1_000_000), default=5)
    p.add_argument("--settle", type=C.non_negative_seconds, default=0.2, help="seconds to wait after applying a setting")
    p.add_argument("--idle-window", type=C.seconds, default=0.5, help="seconds of idle-power measurement per setting")
    p.add_argument("--name", default="cpu-quota")
    p.add_argument("--q-fail", type=C.fraction, default=0.1)
    p.add_argument("--out", type=C.output_file, default="profile.json")
    p.add_argument("--trace", type=C.trace_file, default=None, metavar="FILE",
                   help="also write per-input traces (.npz or .csv)")
    p.add_argument("--checkpoint", default=None, help="resume file (default: OUT.partial.json)")
    p.add_argument("--state-dir", type=state_dir_arg, default=None)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_common_arguments(p)


def cmd_profile(args: argparse.Namespace) -> int:
    """``alert profile``."""

    import torch

    from alert.live.inputs import check_models_accept, load_models, load_npy
    from alert.profiler import Profiler, ProfilerConfig
    from alert.runtime import load_inputs, make_knob
    from alert.system.errors import SystemLayerError
    from alert.system.guard import KnobGuard

    try:
        models = load_models(args.models)
        given = given_accuracy(args.accuracy, models, args.models)
        if args.threads:
            torch.set_num_threads(args.threads)
        pairs = list(load_inputs(args.data, args.repeats, args.batch, labels=args.labels))
        samples = [x for x, _ in pairs]
        labels = None if pairs[0][1] is None else [int(y[0]) for _, y in pairs]
        acc_data = None
        if args.data.endswith(".npy"):
            if args.labels is not None:
                x_all, y_all = load_npy(args.data, args.labels)
                m = min(args.accuracy_samples, len(x_all))
                acc_data = (torch.from_numpy(x_all[-m:]), y_all[-m:])
        elif args.data != "random":
            from alert.nn.data import load_split

            split = load_split(args.data, "test")
            m = args.accuracy_samples
            acc_data = (torch.from_numpy(split.normalized()[-m:]), split.labels[-m:].astype(int))
        check_models_accept(models, samples[0], args.data,
                            labels_of(pairs + ([] if acc_data is None else [(None, acc_data[1])]), args.labels),
                            args.labels or args.data)
        knob = make_knob(args.knob, args.cfs_period_us, settings=args.settings, via=args.via)
        meter = _meter(args, knob)
        cfg = ProfilerConfig(args.repeats, args.warmup, args.settle, args.idle_window, args.name, args.q_fail,
                             Path(args.checkpoint or f"{args.out}.partial.json"), not args.quiet,
                             (("platform", platform_string(torch.__version__)),
                              ("command", command_line(getattr(args, "argv", sys.argv))), ("batch", args.batch),
                              ("cfs_period_us", args.cfs_period_us), ("threads", torch.get_num_threads())),
                             period=args.period)
        with KnobGuard([knob], args.state_dir):
            prof = Profiler(models, samples, knob, args.settings, meter, cfg, labels, given, acc_data)
            profile = prof.run()
    except (SystemLayerError, ValueError, OSError) as e:
        log.error("%s", e)
        return 2
    profile.save(args.out)
    print(profile.summary())
    log.info(f"wrote {args.out}")
    if args.trace:
        prof.trace(profile).save(args.trace)
        log.info(f"wrote {args.trace}")
    Path(cfg.checkpoint).unlink(missing_ok=True)  # type: ignore[arg-type]
    return 0


def add_record_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``alert trace record``."""
    p.add_argument("--profile", required=True, help="profile recorded with the same models and knob (alert profile)")
    add_model_knob_meter_arguments(p)
    p.add_argument("--idle-window", type=C.non_negative_seconds, default=0.0,
                   help="other meters: idle seconds per input and setting (0: the profile's idle power)")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist", help="Fashion-MNIST folder or 'random'")
    p.add_argument("--inputs", type=C.inputs, default=300)
    p.add_argument("--workload", choices=["default", "memory", "compute"], default="default")
    p.add_argument("--on", type=C.non_negative_seconds, default=None, help="contention seconds on (default 10)")
    p.add_argument("--off", type=C.non_negative_seconds, default=None, help="contention seconds off (default 10; the run starts off)")
    from alert.system.contend import add_level_arguments

    add_level_arguments(p)
    p.add_argument("--contend-workers", type=C.workers, default=None, help="default: one per CPU")
    p.add_argument("--warmup", type=C.count(0, 1_000_000), default=3)
    p.add_argument("--seed", type=C.seed, default=0)
    p.add_argument("--name", default=None, help="trace name (default: PROFILE-NAME-WORKLOAD)")
    p.add_argument("--gap", type=C.non_negative_seconds, default=0.0,
                   help="idle seconds before every recorded run (default 0; one CFS period makes every run "
                        "start like a paced input)")
    p.add_argument("--warm-runs", type=C.count(0, 1000), default=0,
                   help="unrecorded runs of each configuration right before its recorded run (default 0), so "
                        "it runs on caches warmed like a stream of that configuration")
    p.add_argument("--profile-out", default=None, metavar="FILE",
                   help="also write a profile whose latency and power are this (quiet) trace's means")
    p.add_argument("--out", type=C.output_file, required=True, help=".npz (compressed) or .csv")
    p.add_argument("--state-dir", type=state_dir_arg, default=None, help="state file folder for alert restore")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_common_arguments(p)


def cmd_record(args: argparse.Namespace) -> int:
    """``alert trace record``."""

    from alert.evaluation.recorder import (
        RecorderConfig,
        profile_from_trace,
        record_trace,
        save_compressed,
    )
    from alert.live.inputs import load_models
    from alert.profile import Profile, ProfileError
    from alert.runtime import load_inputs, make_knob
    from alert.system.contend import config_from_args
    from alert.system.errors import SystemLayerError
    from alert.system.guard import KnobGuard

    try:
        import torch

        profile = Profile.load(args.profile)
        models = load_models(args.models)
        if args.threads:
            torch.set_num_threads(args.threads)
        inputs = list(load_inputs(args.data, args.inputs, args.batch))
        knob = make_knob(args.knob, args.cfs_period_us, settings=[s.value for s in profile.settings], via=args.via)
        meter = _meter(args, knob)
        if profile.unit != knob.unit:
            raise ValueError(f"{args.profile}: settings are in {profile.unit!r} but the {knob.kind} knob sets "
                             f"{knob.unit!r}. Fix: record with the knob the profile was made with")
        ccfg = (config_from_args(args, args.workload, args.contend_workers or len(os.sched_getaffinity(0)))
                if args.workload != "default" else None)
        if ccfg is None and (args.levels or args.on is not None or args.off is not None):
            raise ValueError("--workload default runs no contention. Fix: drop --on/--off/--levels or pick "
                             "--workload memory or compute")
    except (ProfileError, ValueError, OSError, SystemLayerError) as e:
        log.error("%s", e)
        return 2
    load0 = os.getloadavg()
    contention = None
    names: tuple[str, ...] = ("none",)
    state: Callable[[], int] = lambda: 0  # noqa: E731
    level: Callable[[], float] | None = None
    if ccfg is not None:  # started before the knob moves this process into its cgroup
        from alert.system.contend import Contention

        contention = Contention(ccfg).start()
        names = ccfg.state_names
        state = contention.state
        level = contention.intensity if ccfg.levels is not None else None
    meta = {"workload": args.workload, "profile": portable_text(str(args.profile)), "batch": args.batch,
            "gap_s": args.gap, "cfs_period_us": args.cfs_period_us,
            "command": command_line(getattr(args, "argv", sys.argv)),
            "platform": platform_string(torch.__version__),
            "load_average_start": [round(v, 2) for v in load0], "nice": os.nice(0),
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "environment": {k: os.environ[k] for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS")
                            if k in os.environ}}
    if contention is not None:
        meta["contention"] = contention.config.describe()
    t0 = time.perf_counter()
    try:
        with KnobGuard([knob], args.state_dir):
            tr = record_trace(models, profile, inputs, knob, meter,
                              RecorderConfig(args.warmup, args.seed, args.idle_window,
                                             args.name or f"{profile.name}-{args.workload}", not args.quiet,
                                             args.gap, args.warm_runs),
                              state, names, meta, intensity=level)
    except (SystemLayerError, ValueError) as e:
        log.error("%s", e)
        return 2
    finally:
        if contention is not None:
            contention.stop()
    tr.metadata["seconds"] = round(time.perf_counter() - t0, 1)
    tr.metadata["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    out = Path(args.out)
    if out.suffix == ".csv":
        tr.save(out)
    else:
        save_compressed(tr, out)
    if args.profile_out:
        profile_from_trace(tr, profile).save(args.profile_out)
        log.info(f"wrote {args.profile_out}")
    N, C, L = tr.shape
    log.info(f"wrote {out}: {N} inputs x {C} candidates x {L} settings in {tr.metadata['seconds']} s "
             f"(load average {load0[0]:.2f} at the start)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``alert run`` and ``alert profile``."""
    p = subparsers.add_parser("run", help="serve a stream of inputs with ALERT, a real knob and a meter; log every input")
    add_run_arguments(p)
    p.set_defaults(func=cmd_run)
    p = subparsers.add_parser("profile", help="measure models under the settings of a knob and write a profile")
    add_profile_arguments(p)
    p.set_defaults(func=cmd_profile)
