"""``alert loadgen`` (the live runtime, or an ``alert serve`` deployment, under MLPerf LoadGen)
and ``alert serve`` (a Ray Serve deployment with one ALERT controller per replica). The optional
packages (mlcommons-loadgen, ray[serve]) and torch are imported inside the handlers."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from alert import strictjson
from alert.cli import checks as C
from alert.cli.live import (
    add_common_arguments,
    add_contention_arguments,
    add_data_arguments,
    add_knob_meter_arguments,
    add_model_knob_meter_arguments,
    add_policy_arguments,
    check_contention_arguments,
    estimator_params,
    labels_of,
)
from alert.cli.system import state_dir_arg
from alert.live.fleet import MAX_REQUEST_BYTES
from alert.provenance import command_line

log = logging.getLogger(__name__)

def _missing(package: str, extra: str, e: ImportError) -> int:
    log.error(f"{package} is not installed ({e}). Fix: pip install 'alert-atc[{extra}]' "
              f"(or scripts/setup.sh {extra})")
    return 2


def add_loadgen_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scenario", choices=["single-stream", "server"], default="single-stream",
                   help="SingleStream: one query at a time, each with the goal's deadline; Server: Poisson "
                        "arrivals at --qps, each query's deadline is its arrival + the goal's deadline (the SLO)")
    p.add_argument("--goal", required=True,
                   help="e.g. max-accuracy:deadline=0.02 or min-energy:deadline=0.02,accuracy=0.9; the deadline is "
                        "the per-query deadline (SingleStream) or the latency SLO (Server)")
    p.add_argument("--qps", type=C.number(lo=0.0, lo_open=True, hi=1e6), default=10.0, help="Server: target queries per second")
    p.add_argument("--duration", type=C.seconds, default=10.0, help="LoadGen's minimum duration in seconds")
    p.add_argument("--min-queries", type=C.count(1, C.MAX_INPUTS), default=100, help="LoadGen's minimum query count")
    p.add_argument("--max-duration", type=C.seconds, default=None, help="stop after this many seconds at most")
    p.add_argument("--percentile", type=C.number(lo=0.0, hi=1.0, lo_open=True, hi_open=True), default=None,
                   help="latency percentile LoadGen judges (default 0.90 SingleStream, 0.99 Server)")
    p.add_argument("--samples", type=C.count(1, C.MAX_INPUTS), default=256, help="inputs in LoadGen's sample library")
    p.add_argument("--seed", type=C.seed, default=0, help="LoadGen's schedule and sample seeds")
    p.add_argument("--target", default=None, metavar="http://HOST:PORT",
                   help="drive an `alert serve` deployment over HTTP instead of the in-process runtime")
    p.add_argument("--http-threads", type=C.workers, default=16, help="--target: concurrent client connections")
    p.add_argument("--profile", default=None, help="in process: profile recorded with the same knob (alert profile)")
    p.add_argument("--models", default=None, metavar="ENTRY",
                   help="in process: module:function or path/file.py:function returning {profile model name: model}")
    add_knob_meter_arguments(p)
    add_policy_arguments(p)
    add_contention_arguments(p, "the test")
    p.add_argument("--warmup", type=C.count(0, 1_000_000), default=3, help="unlogged runs of every model before the test")
    p.add_argument("--placement", choices=["process", "thread"], default="process",
                   help="cgroup knobs: the whole process under the quota (LoadGen's threads too; default) or "
                        "only the thread that serves the queries (cgroup v1)")
    add_data_arguments(p, "test split; labels give correctness")
    add_common_arguments(p)
    p.add_argument("--out", default="loadgen-out", help="folder for LoadGen's logs, queries.csv and summary.json")
    p.add_argument("--state-dir", type=state_dir_arg, default=None, help="state file folder for alert restore")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def _fmt(v: Any, spec: str, scale: float = 1.0, unit: str = "") -> str:
    return "-" if v is None else f"{v * scale:{spec}}{unit}"


def _print_summary(s: dict[str, Any]) -> None:
    lg = s["loadgen"]
    print(f"LoadGen: result {lg['result']}, early stopping satisfied {lg['early_stopping_satisfied']}, "
          f"p50 {_fmt(lg['p50_s'], '.2f', 1e3, ' ms')}, p90 {_fmt(lg['p90_s'], '.2f', 1e3, ' ms')}, "
          f"p99 {_fmt(lg['p99_s'], '.2f', 1e3, ' ms')}, QPS {lg['qps']}")
    for note in lg["early_stopping"]:
        print(f"  * {note}")
    print(f"{s['queries']} queries ({s['errors']} errors), policy {s['policy']}: goal met "
          f"{_fmt(s['goal_met_rate'], '.1%')}, deadline met {_fmt(s['deadline_met_rate'], '.1%')}, delivered "
          f"accuracy {_fmt(s['delivered_accuracy'], '.4f')} (measured {_fmt(s['measured_accuracy'], '.4f')}), "
          f"energy {_fmt(s['mean_energy_j'], '.1f', 1e3, ' mJ')} per query, mean setting "
          f"{_fmt(s['mean_setting_value'], '.3g')}")
    print("configurations:", ", ".join(f"{k} {v}" for k, v in list(s["configurations"].items())[:8]))


#: options of the in-process runtime: an `alert serve` deployment (--target) has its own
_IN_PROCESS_ONLY = ("--profile", "--models", "--knob", "--via", "--meter", "--watts-per-core", "--idle-power",
                    "--policy", "--candidates", "--estimator-param", "--contend", "--on", "--off", "--contend-workers",
                    "--contend-start", "--warmup", "--placement", "--threads", "--cfs-period-us", "--state-dir")


def _check_mode_arguments(args: argparse.Namespace) -> None:
    """Options of the other mode would do nothing: the in-process runtime's (model, knob, meter,
    policy, contention, state) with --target, whose deployment `alert serve` configures, and
    --http-threads without it. Refused, naming them, where they differ from their defaults."""
    ref = argparse.ArgumentParser(add_help=False)
    add_loadgen_arguments(ref)

    def given(names: tuple[str, ...]) -> list[str]:
        dests = ((o, o.lstrip("-").replace("-", "_")) for o in names)
        return [o for o, d in dests if getattr(args, d) != ref.get_default(d)]

    if args.target is not None:
        extra = given(_IN_PROCESS_ONLY)
        if extra:
            raise ValueError(f"{', '.join(extra)}: in-process option{'s' if len(extra) > 1 else ''}, and --target "
                             f"drives an `alert serve` deployment, which has its own (set them on alert serve). "
                             f"Fix: drop {' '.join(extra)}, or drop --target to run in process")
    elif given(("--http-threads",)):
        raise ValueError("--http-threads: the client connections of --target, and no --target is given. Fix: add "
                         "--target http://HOST:PORT, or drop --http-threads")


def cmd_loadgen(args: argparse.Namespace) -> int:
    """``alert loadgen``."""
    try:
        import mlperf_loadgen  # noqa: F401
    except ImportError as e:
        return _missing("mlcommons-loadgen", "loadgen", e)
    from alert.goals import GoalError, parse_goal
    from alert.live.inputs import check_models_accept, load_inputs, load_models
    from alert.live.loadgen import (
        HttpBackend,
        InProcessBackend,
        LoadGenConfig,
        aggregate,
        run_loadgen,
        write_queries,
        write_summary,
    )
    from alert.profile import ProfileError
    from alert.system.errors import SystemLayerError

    out = Path(args.out)
    try:
        _check_mode_arguments(args)
        check_contention_arguments(args)
        goal = parse_goal(args.goal)
        cfg = LoadGenConfig("server" if args.scenario == "server" else "single-stream", goal.deadline, args.qps,
                            args.duration, args.min_queries, args.max_duration, args.percentile,
                            seed=args.seed, outdir=out)
        samples = list(load_inputs(args.data, args.samples, args.batch, labels=args.labels))
        if args.target is None and (args.profile is None or args.models is None):
            raise ValueError("--profile and --models are needed in process (or --target http://HOST:PORT)")
    except (GoalError, ValueError, OSError) as e:
        log.error("%s", e)
        return 2
    load0 = os.getloadavg()
    meta: dict[str, Any] = {"command": command_line(getattr(args, "argv", sys.argv)), "load_average_start": [round(v, 2) for v in load0]}
    if args.target is not None:
        backend: Any = HttpBackend(args.target, samples, goal, threads=args.http_threads)
        run = run_loadgen(backend, len(samples), cfg)
        policy_name = f"served by {args.target}"
    else:
        try:
            import torch

            from alert.evaluation.schemes import live_policy
            from alert.live.runtime import Runtime
            from alert.live.serving import QueryServer
            from alert.profile import Profile
            from alert.runtime import make_knob, make_meter, torch_runner
            from alert.system.guard import KnobGuard

            profile = Profile.load(args.profile)
            policy = live_policy(args.policy, profile, goal, args.candidates, estimator_params(args.estimator_param))
            cfg = replace(cfg, expected_latency=min(goal.deadline, float(profile.t_prof.min())))
            models = load_models(args.models)
            check_models_accept(models, samples[0][0], args.data, labels_of(samples, args.labels),
                                args.labels or args.data)
            runners = {n: m.__alert_runner__ if callable(getattr(m, "__alert_runner__", None)) else torch_runner(m)
                       for n, m in models.items()}
            if args.threads:
                torch.set_num_threads(args.threads)
        except (ProfileError, GoalError, ValueError, KeyError, OSError) as e:
            log.error("%s", e)
            return 2
        contention = None
        if args.contend:  # started before the knob moves this process into its cgroup
            from alert.system.contend import Contention, ContentionConfig

            contention = Contention(ContentionConfig(args.contend, args.on, args.off, None,
                                                     args.contend_workers or len(os.sched_getaffinity(0)),
                                                     start_on=args.contend_start == "on")).start()
            meta["contention"] = {"kind": args.contend, "on_s": args.on, "off_s": args.off,
                                  "workers": contention.config.workers, "starts": args.contend_start}
        backend = InProcessBackend(samples)
        try:
            if args.placement == "thread" and not args.knob.startswith("cgroup"):
                raise ValueError("--placement thread needs --knob cgroup or cgroup+threads")
            tids = (backend.native_id,) if args.placement == "thread" else ()
            knob = make_knob(args.knob, args.cfs_period_us, tids,
                             settings=[s.value for s in profile.settings])
            meter = make_meter(args.meter, knob, watts_per_core=args.watts_per_core, idle_power=args.idle_power)
            rt = Runtime(policy, knob, meter, runners,
                         state=(lambda: "on" if contention.is_on() else "off") if contention else None)
            with KnobGuard([knob], args.state_dir):
                for x, _ in samples[:args.warmup]:
                    for r in runners.values():
                        r(x, None, None)
                # Server: LoadGen judges a percentile of the time from arrival to answer (load_cap)
                pct = (cfg.percentile or 0.99) if cfg.scenario == "server" else None
                backend.server = QueryServer(rt, goal, percentile=pct)
                run = run_loadgen(backend, len(samples), cfg)
        except (SystemLayerError, ValueError) as e:
            log.error("%s", e)
            return 2
        finally:
            backend.stop()
            if contention is not None:
                contention.stop()
        policy_name = args.policy
        meta.update({"profile": args.profile, "knob": args.knob, "meter": args.meter, "placement": args.placement})
    s = aggregate(run, cfg, policy_name)
    meta["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    s.update(meta)
    write_queries(run.rows, out / "queries.csv")
    write_summary(s, out / "summary.json")
    if args.json:
        print(strictjson.dumps(s))
    else:
        _print_summary(s)
        print(f"wrote {out}/summary.json, {out}/queries.csv and LoadGen's logs (mlperf_log_summary.txt, "
              f"mlperf_log_detail.txt)")
    if run.rows and s["errors"] == s["queries"]:
        first = str(run.rows[0].get("error", ""))[:300]
        fix = (f"check that `alert serve` is running and reachable at --target {args.target}"
               if args.target is not None else "see the error column of queries.csv")
        log.error(f"every one of the {s['queries']} queries failed (the first: {first}); the results in {out} "
                  f"hold no measurement. Fix: {fix}")
        return 1
    return 0


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    add_model_knob_meter_arguments(p)
    p.set_defaults(knob="threads")
    p.add_argument("--profile", required=True, help="profile recorded with the replicas' knob (alert profile)")
    p.add_argument("--replicas", type=C.count(1, 1024), default=2, help="replicas, each with its own controller and knob")
    p.add_argument("--port", type=C.count(1, 65535), default=8000, help="HTTP port of Ray Serve's proxy")
    p.add_argument("--host", type=_host, default="127.0.0.1",
                   help="HTTP host (default: loopback only; 0.0.0.0: every interface)")
    p.add_argument("--cpus-per-replica", type=C.number(lo=0.0, lo_open=True, hi=4096.0), default=1.0, help="Ray CPUs reserved per replica")
    p.add_argument("--max-ongoing-requests", type=C.count(1, 100_000), default=16, help="requests a replica accepts at once")
    p.add_argument("--max-request-mb", type=C.number(lo=0.0, lo_open=True, hi=65536.0), default=MAX_REQUEST_BYTES / 2**20,
                   help="largest request body a replica reads, in MiB (larger: HTTP 413; default: %(default)s)")
    add_policy_arguments(p)
    p.add_argument("--address", default=None,
                   help="a running Ray cluster (ray start --head ...); default: start a local one")
    p.add_argument("--num-cpus", type=C.workers, default=None, help="local Ray: CPUs (default: all)")
    p.add_argument("--duration", type=C.seconds, default=None, help="stop after this many seconds (default: Ctrl-C)")
    p.add_argument("--cfs-period-us", type=C.cfs_period_us, default=100_000, help="cgroup knobs: CFS period")
    p.add_argument("--state-dir", type=state_dir_arg, default=None,
                   help="state file folder for alert restore (per replica)")


def _host(text: str) -> str:
    """``alert serve --host``: an address or host name; never empty (Ray Serve would take an empty
    host for every interface, against the loopback default)."""
    if not text.strip() or any(c.isspace() for c in text) or "\0" in text:
        raise argparse.ArgumentTypeError(f"must be an address or host name, e.g. 127.0.0.1 (loopback, the "
                                         f"default) or 0.0.0.0 (every interface), got {text!r}")
    return text


def cmd_serve(args: argparse.Namespace) -> int:
    """``alert serve``."""
    try:
        import ray
        from ray import serve
    except ImportError as e:
        return _missing("ray[serve]", "serve", e)
    from alert.live.fleet import FleetConfig, build_app, load_parts
    from alert.profile import ProfileError

    try:
        cfg = FleetConfig(_abs_entry(args.models), str(Path(args.profile).resolve()), args.knob, args.meter,
                          args.watts_per_core, args.idle_power, args.cfs_period_us, args.policy, args.candidates,
                          args.state_dir, tuple(estimator_params(args.estimator_param).items()))
        if args.replicas < 1:
            raise ValueError("--replicas must be >= 1")
        load_parts(cfg)  # the profile, policy and models as every replica loads them: fail here, not there
    except (ProfileError, ValueError, KeyError, OSError) as e:
        log.error("%s", e)
        return 2
    src = str(Path(__file__).resolve().parents[2])
    env_vars = {k: os.environ[k] for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS") if k in os.environ}
    env_vars["PYTHONPATH"] = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
    env = {"env_vars": env_vars}
    import signal

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # SIGTERM, and SIGINT even where a shell started us in the background with it ignored, stop
    # Serve and Ray cleanly (each replica restores its knob as it stops)
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    if args.address:
        ray.init(address=args.address, runtime_env=env)
    else:
        loopback = args.host in ("127.0.0.1", "localhost", "::1")
        node: dict[str, Any] = {"_node_ip_address": "127.0.0.1"} if loopback else {}
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, runtime_env=env, **node)
    for s in previous:  # ray.init put its own in place (SIGTERM: sys.exit, then an abort in its core)
        signal.signal(s, stop)
    try:
        serve.start(http_options={"host": args.host, "port": args.port})
        serve.run(build_app(cfg, args.replicas, args.cpus_per_replica, args.max_ongoing_requests,
                            max(1, int(args.max_request_mb * 2**20))),
                  name="alert", route_prefix="/")
        print(f"alert serve: {args.replicas} replicas at http://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)
        t_end = None if args.duration is None else time.monotonic() + args.duration
        while t_end is None or time.monotonic() < t_end:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        try:
            serve.shutdown()
            ray.shutdown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return 0


def _abs_entry(spec: str) -> str:
    """A ``file.py:fn`` entry point with the file made absolute (replicas run elsewhere)."""
    mod, sep, fn = spec.rpartition(":")
    if sep and mod.endswith(".py"):
        return f"{Path(mod).resolve()}:{fn}"
    return spec


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``alert loadgen`` and ``alert serve``."""
    p = subparsers.add_parser("loadgen", help="run the live runtime (or an alert serve deployment) as an MLPerf "
                                              "LoadGen system under test: SingleStream or Server")
    add_loadgen_arguments(p)
    p.set_defaults(func=cmd_loadgen)
    p = subparsers.add_parser("serve", help="serve models over HTTP with Ray Serve, one ALERT controller and knob "
                                            "per replica")
    add_serve_arguments(p)
    p.set_defaults(func=cmd_serve)
