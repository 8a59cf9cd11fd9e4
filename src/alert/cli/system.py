"""Subcommands of the system layer: ``alert doctor``, ``alert contend`` and ``alert restore``.
Heavy imports (pynvml) happen inside the handlers."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from alert import strictjson
from alert.cli import checks as C

log = logging.getLogger(__name__)


def state_dir_arg(text: str) -> str:
    """A ``--state-dir``: a folder path, never empty (an empty one would silently mean the
    default folder, or the current one)."""
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"must be a folder path, got {text!r} (leave the option out for the "
                                         "default)")
    return text


def _cmd_doctor(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from alert.system.doctor import Doctor, format_checks

    checks = Doctor().run()
    if args.json:
        print(strictjson.dumps([asdict(c) for c in checks], indent=1))
    else:
        print(format_checks(checks))
    return 0


def _cmd_contend(args: argparse.Namespace) -> int:
    import os
    import time

    from alert.system.contend import Contention, config_from_args

    try:
        if not args.levels and (args.on is None or args.off is None):
            raise ValueError("no schedule. Fix: give --on S and --off S, or --levels L:S,...")
        cfg = config_from_args(args, args.kind, args.workers or len(os.sched_getaffinity(0)), True, args.duration,
                               args.array_mb)
    except ValueError as e:
        log.error("%s", e)
        return 2
    c = Contention(cfg)
    dur = "until interrupted" if cfg.duration_s is None else f"for {cfg.duration_s:g} s"
    sched = (f"on {cfg.on_s:g} s / off {cfg.off_s:g} s" if cfg.levels is None else
             "levels " + ", ".join(f"{lv:g} for {sec:g} s" for lv, sec in cfg.levels.steps)
             + (f", {cfg.levels.drift_shape} drift +{cfg.levels.drift_amplitude:g} over {cfg.levels.drift_period_s:g} s"
                if cfg.levels.drift_amplitude else ""))
    print(f"contend {cfg.kind}: {cfg.workers} worker(s), {sched}, {dur}", flush=True)
    t0 = time.monotonic()
    c.start()
    try:
        c.wait()
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()
    elapsed = time.monotonic() - t0
    if cfg.kind == "memory":
        print(f"done after {elapsed:.1f} s: {c.work.value / 1e9:.1f} GB moved by the triad")
    else:
        print(f"done after {elapsed:.1f} s: {c.work.value / 1e6:.1f} M arithmetic iterations")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from alert.system.restore import restore_all
    from alert.system.statedir import StateDirError, default_state_dir

    state_dir = Path(args.state_dir) if args.state_dir is not None else default_state_dir()
    try:
        results = restore_all(state_dir, force=args.force)
    except StateDirError as e:
        log.error("%s", e)
        return 1
    if not results:
        print(f"nothing to restore (no state files in {state_dir})")
        return 0
    for r in results:
        print(f"{r.file} (pid {r.pid}): {r.action}")
    return 0 if all(r.ok for r in results) else 1


def _cmd_knobd(args: argparse.Namespace) -> int:
    import os

    from alert.system.errors import SystemLayerError
    from alert.system.knobd import Knobd, KnobdConfig

    if os.geteuid() != 0:
        log.error("alert knobd: must run as root (it applies knobs for others). Fix: start it with sudo or "
                  "as a systemd service (docs/system.md, knobd)")
        return 2
    try:
        Knobd(KnobdConfig(Path(args.socket), args.group, Path(args.state_dir),
                          tuple(a for a in args.allow.split(",") if a), args.copy_shared_limits)).serve()
    except SystemLayerError as e:
        log.error("%s", e)
        return 2
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the system-layer subcommands to the ``alert`` parser."""
    p = subparsers.add_parser("doctor", help="list the knobs and meters that work on this machine, and why others do not")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.set_defaults(func=_cmd_doctor)

    from alert.system.contend import add_level_arguments

    p = subparsers.add_parser("contend", help="run a memory-bandwidth or compute contention job on an on/off schedule "
                                              "or a schedule of levels with a slow drift")
    p.add_argument("kind", choices=["memory", "compute"])
    p.add_argument("--on", type=C.non_negative_seconds, default=None, metavar="S", help="seconds on per cycle")
    p.add_argument("--off", type=C.non_negative_seconds, default=None, metavar="S", help="seconds off per cycle")
    add_level_arguments(p)
    p.add_argument("--duration", type=C.seconds, default=None, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    p.add_argument("--workers", type=C.workers, default=None, help="worker processes (default: one per CPU)")
    p.add_argument("--array-mb", type=C.number(lo=0.0, lo_open=True, hi=1 << 20), default=64.0, help="MiB per triad array, 3 per worker (default: %(default)s)")
    p.set_defaults(func=_cmd_contend)

    p = subparsers.add_parser("restore", help="undo knob changes left by a run that was killed")
    p.add_argument("--state-dir", type=state_dir_arg, default=None, help="where state files are (default: /run/alert as root, else $XDG_RUNTIME_DIR/alert or "
                        "$TMPDIR/alert-state-UID)")
    p.add_argument("--force", action="store_true", help="also restore state of processes that are still running")
    p.set_defaults(func=_cmd_restore)

    from alert.system.knobd import DEFAULT_SOCKET, DEFAULT_STATE_DIR

    p = subparsers.add_parser("knobd", help="privileged helper: apply allowlisted knobs for members of a group "
                                            "(alert run --via SOCKET)")
    p.add_argument("--socket", default=DEFAULT_SOCKET, help="Unix socket (default: %(default)s)")
    p.add_argument("--group", default="alert", help="group whose members may use it (default: %(default)s)")
    p.add_argument("--state-dir", type=state_dir_arg, default=DEFAULT_STATE_DIR, help="knobd's own state files (default: %(default)s)")
    p.add_argument("--allow", default="cgroup", help="comma-separated knobs it offers (default: %(default)s)")
    p.add_argument("--copy-shared-limits", action="store_true",
                   help="give a client's quota cgroup its own copy of limits it shares with others (its slice's "
                        "pids.max, memory.max, CPU quota) where the cgroup cannot go below them, instead of "
                        "refusing the knob (docs/system.md, knobd)")
    p.set_defaults(func=_cmd_knobd)
