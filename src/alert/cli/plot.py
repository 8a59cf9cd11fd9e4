"""``alert plot``: the run figure of an ``alert run`` log (decisions, latency against the deadline,
contention over time)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from alert.cli import EXIT_BAD_INPUT, EXIT_OK

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``plot`` to the ``alert`` command."""
    p = subparsers.add_parser("plot", help="draw an `alert run` log (CSV or .jsonl): the chosen model and setting, "
                              "latency against the deadline and contention per input, as PNG")
    p.add_argument("log", help="the per-input log of `alert run --log` (CSV, or JSON lines when it ends in .jsonl)")
    p.add_argument("--out", default=None, help="PNG file to write (default: the log's name with .png)")
    p.set_defaults(func=_cmd_plot)


def _cmd_plot(args: argparse.Namespace) -> int:
    from alert.evaluation.runplot import RunLogError, plot_log

    out = Path(args.out) if args.out else Path(args.log).with_suffix(".png")
    try:
        s = plot_log(args.log, out)
    except RunLogError as e:
        log.error("%s", e)
        return EXIT_BAD_INPUT
    except ImportError as e:
        log.error("%s", e)
        return EXIT_BAD_INPUT
    log.info(f"wrote {out}: {len(s.x)} inputs, {s.setting_changes} setting changes, "
             f"{100 * s.miss_rate:.0f} % past the deadline")
    return EXIT_OK
