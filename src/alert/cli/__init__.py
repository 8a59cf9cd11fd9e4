"""The ``alert`` command. Thin: it parses arguments and calls the library.

The only place that parses arguments: one module per command group, each defining
``register(subparsers)`` (``SUBCOMMAND_MODULES``); library modules never import this package.
Optional dependencies are imported inside handlers, so ``alert --help`` works with the core
dependencies only. ``python -m alert`` runs it too.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

SUBCOMMAND_MODULES: tuple[str, ...] = (
    "alert.cli.core",
    "alert.cli.evaluation",
    "alert.cli.nn",
    "alert.cli.sentence",
    "alert.cli.system",
    "alert.cli.live",
    "alert.cli.serving",
)


def build_parser() -> argparse.ArgumentParser:
    from alert.cli.checks import OneLineParser

    parser = OneLineParser(
        prog="alert",
        description="ALERT: pick the DNN and the system setting for every input to meet latency, "
                    "accuracy and energy goals (USENIX ATC 2020).")
    from alert import __version__

    parser.add_argument("--version", action="version", version=f"alert {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # e.g. `alert demo | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("alert: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError, ImportError, LookupError, MemoryError, RecursionError) as e:
        # a bad input that a command did not name itself: still one line, never a traceback
        # (ALERT_DEBUG=1 shows the traceback)
        if os.environ.get("ALERT_DEBUG"):
            raise
        msg = " ".join(str(e).split()) or type(e).__name__
        print(f"error: {type(e).__name__ if isinstance(e, (ImportError, LookupError, MemoryError, RecursionError)) else ''}"
              f"{': ' if isinstance(e, (ImportError, LookupError, MemoryError, RecursionError)) else ''}{msg[:2000]}",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
