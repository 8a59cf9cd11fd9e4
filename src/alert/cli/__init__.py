"""The ``alert`` command. Thin: it parses arguments and calls the library.

The only place that parses arguments: one module per command group, each defining
``register(subparsers)`` (``SUBCOMMAND_MODULES``); library modules never import this package.
Optional dependencies are imported inside handlers, so ``alert --help`` works with the core
dependencies only. ``python -m alert`` runs it too.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import TextIO

#: exit codes of every command (README, "Exit codes")
EXIT_OK = 0          # done; for `alert decide`: the goal is met
EXIT_FAILED = 1      # the command ran and failed (e.g. `alert restore` could not restore a knob)
EXIT_BAD_INPUT = 2   # bad input: arguments, profile, goal, trace, log, or a missing optional dependency
EXIT_INFEASIBLE = 3  # `alert decide`: no configuration meets the goal (the fallback decision is printed)

EPILOG = ("exit codes: 0 done (decide: the goal is met); 2 bad input (arguments, profile, goal, trace); "
          "3 decide: the goal cannot be met (the fallback decision is still printed); 1 the command failed "
          "(e.g. a knob could not be restored) or an unexpected error. Diagnostics go to stderr through "
          "logging (-v more, -q fewer); results go to stdout.")


class _LevelFormatter(logging.Formatter):
    """``error: ...`` and ``warning: ...``; information and debug lines as they are."""

    def format(self, record: logging.LogRecord) -> str:
        msg = super().format(record)
        if record.levelno >= logging.ERROR:
            return f"error: {msg}"
        if record.levelno >= logging.WARNING:
            return f"warning: {msg}"
        return msg


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (not when the handler was
    made), so a redirected or captured stderr gets every line."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_logging(verbosity: int = 0) -> None:
    """Log records of the ``alert`` loggers to the current stderr: information and above by
    default, debug with ``-v``, warnings only with ``-q``, errors only with ``-qq``."""
    level = {1: logging.DEBUG, 0: logging.INFO, -1: logging.WARNING}.get(max(-2, min(1, verbosity)), logging.ERROR)
    handler = _StderrHandler()
    handler.setFormatter(_LevelFormatter("%(message)s"))
    root = logging.getLogger("alert")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False

SUBCOMMAND_MODULES: tuple[str, ...] = (
    "alert.cli.core",
    "alert.cli.evaluation",
    "alert.cli.nn",
    "alert.cli.sentence",
    "alert.cli.system",
    "alert.cli.live",
    "alert.cli.serving",
    "alert.cli.plot",
)


log = logging.getLogger(__name__)

# the command's diagnostics reach stderr even when a handler is called without main() (tests,
# other front ends); main() sets the level from -v/-q
configure_logging(0)


def build_parser() -> argparse.ArgumentParser:
    from alert.cli.checks import OneLineParser

    parser = OneLineParser(
        prog="alert",
        description="ALERT: pick the DNN and the system setting for every input to meet latency, "
                    "accuracy and energy goals (USENIX ATC 2020).", epilog=EPILOG)
    from alert import __version__

    parser.add_argument("--version", action="version", version=f"alert {__version__}")
    # own dests: a subcommand's --quiet (no progress lines) must not overwrite these
    parser.add_argument("-v", "--verbose", action="count", default=0, dest="log_verbose",
                        help="more diagnostics (debug)")
    parser.add_argument("-q", "--quiet", action="count", default=0, dest="log_quiet",
                        help="fewer diagnostics: -q warnings and errors only, -qq errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # the command as metadata records it (alert.provenance.command_line)
    args.argv = ["alert", *(sys.argv[1:] if argv is None else argv)]
    configure_logging(args.log_verbose - args.log_quiet)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # e.g. `alert demo | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except (ValueError, OSError, RuntimeError, ImportError, LookupError, MemoryError, RecursionError) as e:
        # a bad input that a command did not name itself: still one line, never a traceback
        # (ALERT_DEBUG=1 shows the traceback)
        if os.environ.get("ALERT_DEBUG"):
            raise
        msg = " ".join(str(e).split()) or type(e).__name__
        named = isinstance(e, (ImportError, LookupError, MemoryError, RecursionError))
        log.error(f"{type(e).__name__ + ': ' if named else ''}{msg[:2000]}")
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
