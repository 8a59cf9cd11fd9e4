"""``alert train`` and ``alert export-profile`` (torch is imported inside the handlers)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from alert.cli import checks as C
from alert.nn.data import DEFAULT_ROOT

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import torch

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "data" / "weights"


def _resolve_device(name: str) -> torch.device:
    import torch
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda requested but no CUDA device is available; use --device cpu")
    return torch.device(name)


def _need_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        log.error("this command needs PyTorch. Fix: pip install 'alert-atc[torch]' "
                  "(README, Install: the CPU build or a CUDA build)")
        return False
    return True


def cmd_train(args: argparse.Namespace) -> int:
    if not _need_torch():
        return 2
    import torch

    from alert.nn.data import DatasetError
    from alert.nn.families import is_nested
    from alert.nn.train import TrainConfig, export_weights, train
    if args.method is not None and not is_nested(args.model):
        log.error(f"--method: {args.model} has one stage, so there are no stage losses to combine; --method "
                  "applies to the nested models (depth-nested, width-nested): drop it")
        return 2
    args.method = args.method or "osgd"
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        cfg = TrainConfig(model=args.model, method=args.method, epochs=args.epochs, batch_size=args.batch_size,
                          lr=args.lr, seed=args.seed, projection=args.projection, rescale=args.rescale,
                          conflicts_only=args.conflicts_only, data=str(args.data), limit_train=args.limit_train)
        out = Path(args.out or f"checkpoints/{args.model}-{args.method}.ckpt")
        model, res = train(cfg, out, _resolve_device(args.device), resume=not args.no_resume,
                           progress=not args.quiet)
    except (DatasetError, ValueError) as e:
        log.error("%s", e)
        return 2
    if args.export:
        export_weights(model, cfg, res.test_accuracy, args.export)
        log.info(f"wrote {args.export}")
    print(f"checkpoint {out}; test accuracy per stage: " + " ".join(f"{a:.4f}" for a in res.test_accuracy))
    return 0


def cmd_export_profile(args: argparse.Namespace) -> int:
    if not _need_torch():
        return 2
    from alert.nn.data import DatasetError
    from alert.nn.export import ExportConfig, export_profile
    try:
        cfg = ExportConfig(anytime=args.anytime, traditional=tuple(args.traditional or ()), weights_dir=str(args.weights),
                           data=str(args.data), threads=tuple(args.threads), power=tuple(args.power or ()),
                           idle_power=tuple(args.idle_power or ()), repeats=args.repeats, warmup=args.warmup,
                           name=args.name, limit_test=args.limit_test,
                           statistic=args.statistic)
        profile, table = export_profile(cfg)
    except (DatasetError, ValueError, FileNotFoundError) as e:
        msg = str(e)  # the configuration's fields are this command's options
        for field, opt in (("idle_power", "--idle-power"), ("power", "--power"), ("threads", "--threads"),
                           ("statistic", "--statistic"), ("repeats", "--repeats")):
            msg = msg.replace(f"ExportConfig.{field}", opt)
        log.error("%s", msg)
        return 2
    profile.save(args.out)
    print(table)
    log.info(f"wrote {args.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train`` and ``export-profile`` to the ``alert`` command."""
    p = subparsers.add_parser("train", help="train an anytime (nested) or traditional network on Fashion-MNIST",
                              description="Train a network; checkpoints after every epoch and resumes from it.")
    p.add_argument("--model", default="depth-nested",
                   help="depth-nested, width-nested, or a traditional depth-N / width-N (default depth-nested)")
    p.add_argument("--method", choices=("osgd", "sum"), default=None,
                   help="nested models: orthogonalized SGD or summed losses (default osgd)")
    p.add_argument("--epochs", type=C.count(1, 100_000), default=3)
    p.add_argument("--batch-size", type=C.count(1, 1_000_000), default=128)
    p.add_argument("--lr", type=C.positive, default=0.05)
    p.add_argument("--seed", type=C.seed, default=0)
    p.add_argument("--projection", choices=("global", "per-tensor"), default="per-tensor",
                   help="OSGD projection: per parameter tensor (default) or whole vector")
    p.add_argument("--rescale", choices=("none", "norm"), default="none", help="OSGD rescaling")
    p.add_argument("--conflicts-only", action="store_true",
                   help="OSGD: remove only components that oppose earlier outputs (not orthogonal)")
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu, cuda, cuda:N")
    p.add_argument("--threads", type=C.count(0, C.MAX_WORKERS), default=0, help="torch intra-op threads (0: torch default)")
    p.add_argument("--data", type=Path, default=DEFAULT_ROOT, help=f"Fashion-MNIST folder (default {DEFAULT_ROOT})")
    p.add_argument("--limit-train", type=C.count(1, C.MAX_INPUTS), default=None, help="use only the first N training images")
    p.add_argument("--out", type=Path, default=None, help="checkpoint path (default checkpoints/MODEL-METHOD.ckpt)")
    p.add_argument("--export", type=Path, default=None, help="also write compact float16 weights here")
    p.add_argument("--no-resume", action="store_true", help="start over even if the checkpoint exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    e = subparsers.add_parser("export-profile", help="measure accuracy and latency of trained networks; write a profile",
                              description="Measure per-stage test accuracy and batch-1 latency at each thread "
                                          "count and write an ALERT profile (traditional family + anytime model).")
    e.add_argument("--anytime", default="depth-nested-osgd", help="weights name or path of the anytime model")
    e.add_argument("--traditional", nargs="*", default=None,
                   help="weights names or paths of the traditional family (default: the anytime model's family)")
    e.add_argument("--weights", type=Path, default=WEIGHTS_DIR, help="folder of weights looked up by name")
    e.add_argument("--data", type=Path, default=DEFAULT_ROOT)
    e.add_argument("--threads", type=C.threads, nargs="+", default=[1, 2], help="settings: intra-op thread counts")
    e.add_argument("--power", type=C.positive, nargs="*", default=None,
                   help="inference power (W) per setting; no meter here, so nominal (default 10 W per thread)")
    e.add_argument("--idle-power", type=C.non_negative, nargs="*", default=None,
                   help="idle power (W) per setting (default 2 W)")
    e.add_argument("--repeats", type=C.count(1, 1_000_000), default=200, help="timed batch-1 inferences per model and setting")
    e.add_argument("--warmup", type=C.count(0, 1_000_000), default=20)
    e.add_argument("--statistic", choices=("mean", "median"), default="mean",
                   help="latency per cell: mean (the paper's t_prof) or median (robust to outliers on a busy machine)")
    e.add_argument("--limit-test", type=C.count(1, C.MAX_INPUTS), default=None, help="evaluate on the first N test images only")
    e.add_argument("--name", default="fashion-mnist-cpu")
    e.add_argument("--out", type=lambda t: Path(C.output_file(t)), default=Path("fashion-mnist-profile.json"))
    e.set_defaults(func=cmd_export_profile)
