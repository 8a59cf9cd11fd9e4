"""Commands of the evaluation suite: ``alert evaluate``, ``alert reproduce``, ``alert schemes`` and
``alert trace``.

matplotlib and tqdm are imported inside the handlers that need them.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path
from typing import Any

from alert import resources, strictjson
from alert.cli import checks as C

log = logging.getLogger(__name__)

#: why a number of `alert evaluate --json` can be missing (null)
EVALUATE_REASONS = {
    "normalized": "no setting to average: the scheme or OracleStatic violates every setting of the cell",
    "common_normalized": "no setting that every compared scheme and OracleStatic meet",
    "normalized_strict": "no setting to average under the strict rule",
    "objective": "no objective for this setting",
}
#: why a number of a fidelity document (`alert fidelity --out`) can be missing (null)
FIDELITY_REASONS = {"measured_accuracy": "no input of the run had a label to check its prediction against"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``evaluate``, ``reproduce``, ``schemes`` and ``trace`` to the ``alert`` command."""
    p = subparsers.add_parser("schemes", help="list the registered schemes, one per line: name, capabilities "
                              "(image / sequence replay, live policy), needs, flags, description")
    p.add_argument("--capability", choices=("image", "sequence", "live"), default=None,
                   help="only the schemes with this capability")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=_cmd_schemes)

    p = subparsers.add_parser("evaluate", help="run schemes on one trace for one goal (or a Table-3 grid)")
    p.add_argument("--trace", required=True, help="trace file (.npz or .csv)")
    p.add_argument("--profile", default=None, help="profile given to ALERT (default: the trace's own)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--goal", help="e.g. min-energy:deadline=0.1,accuracy=0.9 or max-accuracy:deadline=0.1,power=20")
    g.add_argument("--grid", choices=("min-energy", "min-error"), help="run the Table-3 grid of this task")
    p.add_argument("--schemes", default="all",
                   help="comma-separated scheme names (default: all, the suite's; see `alert schemes`); schemes the "
                        "trace cannot support are skipped with a note")
    p.add_argument("--budgets", choices=("profile", "trace"), default=None,
                   help="--grid min-error: power budgets from the profile's power range (Table 3, default) or "
                        "from what the trace's configurations reach")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_evaluate)

    p = subparsers.add_parser("reproduce", help="run the paper-shaped evaluation suite and write a report")
    p.add_argument("--out", required=True, help="output folder (results.json, report.md, figures)")
    p.add_argument("--quick", action="store_true", help="reduced suite: shorter traces, 12 settings per cell")
    p.add_argument("--variants", default="paper,noisy", help="trace variants (paper, noisy)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--seed", type=C.seed, default=0)
    p.add_argument("--measured", action="append", default=None, metavar="DIR",
                   help="recorded platform folder (profile.json + <workload>.npz or .csv), repeatable; default: "
                        "the packaged platforms measured-cpu and measured-gpu (alert/data/platforms)")
    p.add_argument("--no-measured", action="store_true", help="simulated platforms only")
    p.add_argument("--only-measured", action="store_true",
                   help="evaluate only the platform folders given with --measured (no simulated suite, no "
                        "sentence task, no figures)")
    p.add_argument("--budgets", choices=("auto", "profile", "trace"), default="auto",
                   help="power budgets of min-error cells: from the profile's power range (Table 3) or from what "
                        "the trace's configurations reach; auto (default): profile for the simulated platforms, "
                        "trace for the recorded ones")
    p.add_argument("--no-sentence", action="store_true",
                   help="leave out the sentence task (its recorded traces ship in alert/nlp/traces)")
    p.set_defaults(func=_cmd_reproduce)

    p = subparsers.add_parser("fidelity", help="compare live `alert run` logs of ALERT with the replay of the "
                              "recorded trace (energy, accuracy, misses)")
    p.add_argument("--platform", default=None, metavar="DIR",
                   help="recorded platform folder (default: the packaged measured-cpu)")
    p.add_argument("--run", nargs=3, action="append", required=True, metavar=("WORKLOAD", "LOG", "GOAL"),
                   help="one live run: its workload, its CSV log and its goal (repeat for more runs)")
    p.add_argument("--out", type=C.output_file, default=None,
                   help="write the comparison as JSON (e.g. DIR/fidelity.json)")
    p.add_argument("--traces", default=None, metavar="DIR",
                   help="replay the workload traces in DIR (recorded next to the live runs) instead of the "
                        "platform's; the platform's are replayed too, and their difference is reported as drift")
    p.add_argument("--scheme", default="ALERT",
                   help="replayed scheme: ALERT (pre-emption at the deadline), ALERT_runtime (the live runtime's "
                        "stage-granular anytime rule), ALERT_first_runtime (the same with anytime_deadline='first')")
    p.set_defaults(func=_cmd_fidelity)

    p = subparsers.add_parser("trace", help="generate, convert or check traces")
    tsub = p.add_subparsers(dest="trace_cmd", required=True)
    q = tsub.add_parser("generate", help="synthesize a paper-shaped trace")
    q.add_argument("--platform", default="cpu1")
    q.add_argument("--task", default="image")
    q.add_argument("--workload", default="memory")
    q.add_argument("--variant", default="paper")
    q.add_argument("--inputs", type=C.inputs, default=300)
    q.add_argument("--seed", type=C.seed, default=0)
    q.add_argument("--out", type=C.trace_file, required=True, help=".npz or .csv")
    q.set_defaults(func=_cmd_trace_generate)
    q = tsub.add_parser("convert", help="convert between .npz and .csv")
    q.add_argument("src")
    q.add_argument("dst", type=C.trace_file, help=".npz or .csv")
    q.set_defaults(func=_cmd_trace_convert)
    q = tsub.add_parser("record", help="record a workload trace on this machine (every input under every "
                        "configuration of a profile; needs PyTorch, and root for the cgroup knob)")
    from alert.cli.live import add_record_arguments

    add_record_arguments(q)
    q.set_defaults(func=_cmd_trace_record)
    q = tsub.add_parser("check", help="validate traces and print a summary")
    q.add_argument("traces", nargs="+")
    q.set_defaults(func=_cmd_trace_check)


# ----------------------------------------------------------------------------- schemes
def _cmd_schemes(args: argparse.Namespace) -> int:
    from alert.evaluation import schemes

    for s in schemes.registered():
        if args.capability is not None and getattr(s, args.capability) is None:
            continue
        print(strictjson.dumps({"name": s.name, **s.flags()}) if args.json else s.line())
    return 0


# ----------------------------------------------------------------------------- evaluate
def _cmd_evaluate(args: argparse.Namespace) -> int:
    from alert.evaluation import metrics, schemes, suite
    from alert.evaluation.traces import Trace, TraceError
    from alert.goals import GoalError
    from alert.profile import Profile, ProfileError

    if args.budgets is not None and args.grid != "min-error":
        log.error("--budgets chooses the power budgets of --grid min-error; it does nothing with "
                  f"{'--goal' if args.goal else '--grid ' + args.grid} (drop it)")
        return 2
    try:
        trace = Trace.load(args.trace)
        prof = Profile.load(resources.resolve_profile(args.profile)) if args.profile else trace.profile
        if args.profile:
            trace.with_profile(prof)   # validates that candidates and settings match
        cons = ([metrics.constraint_from_goal(args.goal)] if args.goal
                else metrics.trace_grid(trace, args.grid, budgets=args.budgets or "profile"))
        asked = list(suite.suite_schemes()) if args.schemes == "all" else [s.strip() for s in args.schemes.split(",")]
        names, skipped = schemes.split_supported(asked, trace.profile, "image")
    except (TraceError, ProfileError, GoalError, ValueError) as e:
        log.error("%s", e)
        return 2
    for n, why in skipped:
        log.info(f"note: skipping scheme {n!r} on {args.trace}: {why}")
    res = suite.run_settings(trace, cons, names, prof)
    rows = {r["scheme"]: r for r in suite.cell_rows(res, [n for n in names if n in suite.fair_schemes()] or names)}
    if args.json:
        keys = ("normalized", "violated", "settings", "baseline_violated", "violated_all", "common_normalized",
                "common_settings", "met_settings", "met_share", "mean_miss_rate", "normalized_strict",
                "strict_settings")
        out = {"trace": args.trace, "settings": [c.label() for c in cons], "skipped": dict(skipped),
               "schemes": {n: {**{k: r[k] for k in keys}, "objective": [x.objective for x in res[n]],
                               "miss_rate": [x.miss_rate for x in res[n]]} for n, r in rows.items()}}
        print(strictjson.dumps(out, EVALUATE_REASONS, indent=1))
        return 0
    kind = "energy (J/input)" if cons[0].task == "min-energy" else "error rate"
    print(f"{trace.name}: {len(cons)} setting(s); objective = {kind}; miss = share of inputs missing a constraint")
    for i, c in enumerate(cons[:40]):
        print(f"  setting {c.label()}")
        for n in res:
            r = res[n][i]
            print(f"    {n:<20}{r.objective:>10.4f}  miss {r.miss_rate:6.1%}{'  VIOLATED' if r.violated else ''}")
    if len(cons) > 1:
        print("summary, normalised to OracleStatic: the paper's mean (settings the scheme meets) / the fair mean "
              "(settings every compared scheme meets) / to OracleStatic_strict; settings violated and met:")

        def f(x: Any) -> str:
            return "  n/a" if x is None else f"{x:.3f}"
        for n, row in rows.items():
            print(f"    {n:<20}{f(row['normalized']):>8} /{f(row['common_normalized']):>8} "
                  f"/{f(row['normalized_strict']):>8}"
                  f"  violated {row['violated_all']}/{row['settings']}, met {row['met_settings']}/{row['settings']}, "
                  f"mean miss {row['mean_miss_rate']:.1%}")
    return 0


# ----------------------------------------------------------------------------- reproduce
def _progress(total_desc: str):
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional
        return None
    return lambda it: tqdm(list(it), desc=total_desc, unit="cell", file=sys.stderr)


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from alert.evaluation import metrics, report, scenarios, suite

    if args.only_measured and (args.no_measured or not args.measured):
        log.error("--only-measured evaluates the platform folders given with --measured DIR (one or more); "
                  "give at least one and drop --no-measured")
        return 2
    if args.no_measured and args.measured:
        log.error("--no-measured leaves out the recorded platforms that --measured DIR asks for; give one of them")
        return 2
    if not args.out.strip():
        log.error("--out: give the folder to write results.json and report.md into (it is created if missing)")
        return 2
    variants = () if args.only_measured else tuple(v.strip() for v in args.variants.split(",") if v.strip())
    if not args.only_measured and not variants:
        log.error(f"--variants: no variant given ({args.variants!r}); use one or more of "
                  f"{', '.join(scenarios.VARIANTS)}, or --only-measured to leave the simulated suite out")
        return 2
    for v in variants:
        if v not in scenarios.VARIANTS:
            log.error(f"--variants: unknown variant {v!r}; use {', '.join(scenarios.VARIANTS)}")
            return 2
    sim_budgets = metrics.resolve_budget_grid(args.budgets, recorded=False)
    rec_budgets = metrics.resolve_budget_grid(args.budgets, recorded=True)
    cfg = suite.SuiteConfig.quick() if args.quick else suite.SuiteConfig()
    cfg = suite.SuiteConfig(variants, cfg.workloads, cfg.cells, cfg.schemes, cfg.n_inputs, cfg.n_deadlines,
                            cfg.n_goals, args.seed, sim_budgets)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        log.error(f"--out {out}: is a file, not a folder; give a folder for results.json and report.md")
        return 2
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        log.error(f"--out {out}: cannot create the folder ({e.strerror}); give a folder you may write")
        return 2
    t0 = time.perf_counter()
    platforms: list[Any] = []
    fidelities: dict[str, Any] = {}
    # every section the report leaves out is named there with the reason (never dropped silently)
    not_produced: list[str] = []
    if args.no_measured:
        not_produced.append("Measured platforms: left out (--no-measured).")
    else:
        from alert.evaluation import measured
        from alert.evaluation.traces import TraceError
        from alert.profile import ProfileError

        folders = args.measured
        if not folders:
            folders, missing = packaged_platforms()
            not_produced += missing
        try:
            platforms = measured.load_platforms(folders) if folders else []
            fidelities = {p.name: measured.load_fidelity(p.folder) for p in platforms}
        except (TraceError, ProfileError) as e:
            log.error(f"--measured: {e}")
            return 2
        # the report and meta.json name each folder portably (the same from a checkout or a wheel)
        platforms = [dataclasses.replace(p, folder=Path(resources.portable_path(p.folder))) for p in platforms]
    notes: dict[tuple[str, str], str] = {}

    def skipped(trace: str, scheme: str, why: str) -> None:
        notes.setdefault((trace, scheme), why)

    rows = suite.run_suite(cfg, _progress("reproduce"), skipped) if variants else []
    for r in rows:
        r["measured"] = False
    for platform in platforms:
        from alert.evaluation import measured

        rows += measured.reproduce_rows(platform, cfg.n_deadlines, cfg.n_goals,
                                        progress=_progress(f"measured {platform.name}"), budgets=rec_budgets,
                                        skipped=skipped)
    sentence_rows: list[dict[str, Any]] = []
    if not args.no_sentence and not args.only_measured:
        from alert.evaluation import sentence

        scfg = (sentence.SentenceSuiteConfig(n_deadlines=4, n_goals=3, max_sentences=30) if args.quick
                else sentence.SentenceSuiteConfig())
        sentence_rows = sentence.reproduce_rows(cfg=scfg, progress=_progress("sentence"), skipped=skipped)
        for r in sentence_rows:
            r["measured"] = True  # per-word traces recorded on this machine (nominal power)
        if not sentence_rows:
            not_produced.append(f"Sentence task: not produced: no recorded trace in "
                                f"{resources.portable_path(sentence.TRACE_DIR)} (default.npz, memory.npz, "
                                "compute.npz); record them with `alert sentence trace`.")
    elif args.no_sentence:
        not_produced.append("Sentence task: left out (--no-sentence).")
    for (trace, scheme), why in notes.items():
        log.info(f"note: skipped scheme {scheme!r} on {trace}: {why}")
    t_suite = time.perf_counter() - t0
    figures: list[str] = []
    if args.no_figures and variants:
        not_produced.append("Figures: not drawn (--no-figures).")
    elif variants:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            not_produced.append("Figures: not drawn: matplotlib is not installed "
                                "(pip install 'alert-atc[eval]').")
        else:
            from alert.evaluation.figures import make_figures

            figures = make_figures(rows, out, cfg, platforms=platforms, sentence_rows=sentence_rows)
    seconds = time.perf_counter() - t0
    mode = "measured-only" if args.only_measured else "quick" if args.quick else "full"
    meta: dict[str, Any] = {"mode": mode, "n_inputs": cfg.n_inputs,
                            "settings_per_cell": cfg.n_deadlines * cfg.n_goals, "seconds": seconds,
                            "suite_seconds": t_suite, "config": cfg.to_dict(),
                            "budgets": {"simulated": sim_budgets, "recorded": rec_budgets},
                            "skipped": [{"trace": t, "scheme": s, "why": w} for (t, s), w in notes.items()]}
    measured_rows = [r for r in rows if r.get("measured")]
    if platforms:
        meta["measured"] = [{"platform": p.name, "folder": p.folder.as_posix(), "workloads": list(p.traces),
                             "costs": list(p.costs), "rows": sum(r.get("platform") == p.name for r in measured_rows)}
                            for p in platforms]
    if sentence_rows:
        meta["sentence"] = {"rows": len(sentence_rows), "workloads": sorted({r["workload"] for r in sentence_rows})}
    meta["not_produced"] = not_produced
    for i, v in enumerate(variants):
        name = "results.json" if v == "paper" or "paper" not in variants else f"results-{v}.json"
        extra = measured_rows + sentence_rows if name == "results.json" and (v == "paper" or i == 0) else []
        (out / name).write_text(strictjson.dumps([r for r in rows if r["variant"] == v] + extra, indent=1) + "\n")
    if not variants:
        (out / "results.json").write_text(strictjson.dumps(measured_rows, indent=1) + "\n")
    (out / "meta.json").write_text(strictjson.dumps(meta, indent=1) + "\n")
    text = report.markdown(rows, meta, figures, [(p, fidelities.get(p.name)) for p in platforms], sentence_rows)
    text = report_with_notes(text, not_produced)
    (out / "report.md").write_text(text)
    log.info(f"wrote {out / 'report.md'} and results in {seconds:.1f} s")
    if variants:
        for claim in report.claims(rows, variants[0]):
            print(f"  [{claim.held} of {claim.total} cells] {claim.verdict()}")
    if measured_rows:
        from alert.evaluation import measured

        for c in measured.bar_checks(measured_rows):
            print(f"  [{'meets the bar' if c['holds'] else 'misses the bar'}] measured {c['platform']}/{c['cost']}/"
                  f"{c['workload']}/"
                  f"{c['goal']}: "
                  f"{c['scheme']} {c['normalized']} vs OracleStatic 1, violated {c['violated']} "
                  f"(OracleStatic {c['oracle_static_violated']})")
    return 0


def packaged_platforms() -> tuple[list[Path], list[str]]:
    """The packaged recorded platforms that can be evaluated, and a note for each one that cannot
    (not installed, or a profile without a recorded workload trace yet)."""
    from alert.evaluation import measured

    folders: list[Path] = []
    notes: list[str] = []
    for name, d in zip(resources.PLATFORMS, resources.platform_dirs(), strict=True):
        where = resources.portable_path(d)
        if not (d / "profile.json").is_file():
            notes.append(f"Measured platform `{name}`: not produced: there is no {where}/profile.json (the "
                         "platform is not recorded yet, or the package was installed without its data); "
                         "pass --measured DIR for a recording of your own.")
        elif not measured.workload_names(d):
            notes.append(f"Measured platform `{name}`: not produced: {where} has a profile but no recorded "
                         "workload trace yet (<workload>.npz or .csv).")
        else:
            folders.append(d)
    return folders, notes


def report_with_notes(text: str, notes: list[str]) -> str:
    """``text`` with a list of the sections not produced (and why) right under its title."""
    if not notes:
        return text
    title, sep, rest = text.partition("\n")
    block = "\n".join(["", "**Not in this report:**", ""] + [f"- {n}" for n in notes]) + "\n"
    return title + sep + block + rest


def _cmd_fidelity(args: argparse.Namespace) -> int:
    from alert.evaluation import fidelity, measured, schemes
    from alert.evaluation.traces import TraceError
    from alert.goals import GoalError
    from alert.profile import ProfileError

    try:
        folder = args.platform or resources.platform_dir("measured-cpu")
        platform = measured.load_platform(folder)
        if platform is None:
            raise ValueError(f"--platform {folder}: no profile.json. Fix: record "
                             "the platform first (examples/measured-cpu/record.sh)")
        schemes.get(args.scheme)
        runs = [(w, g, log) for w, log, g in args.run]
        if args.traces:
            fresh = measured.load_traces(args.traces, platform.profile)
            if not fresh:
                raise ValueError(f"--traces {args.traces}: no default.npz, memory.npz or compute.npz. Fix: record "
                                 "them with `alert trace record --profile PLATFORM/profile.json --out DIR/W.npz`")
            doc = fidelity.compare(runs, fresh, args.scheme, platform.traces)
            doc["traces"] = str(args.traces)
        else:
            doc = fidelity.compare(runs, platform.traces, args.scheme)
    except (fidelity.LogError, TraceError, ProfileError, GoalError, ValueError) as e:
        log.error("%s", e)
        return 2
    doc["platform"] = platform.name
    for r in doc["runs"]:
        if r["meter_rejected"]:
            log.warning(f"{r['log']}: field 'energy_j': {r['meter_rejected']} of {r['live']['inputs']} "
                        "readings are not a finite energy >= 0 (`alert run` logs a reading its meter got wrong as "
                        "read): left out of the live energy mean. Fix: check the meter (alert doctor)")
    if args.out:
        Path(args.out).write_text(strictjson.dumps(doc, FIDELITY_REASONS, indent=1) + "\n")
    print(measured.fidelity_markdown(doc))
    return 0


# ----------------------------------------------------------------------------- trace
def _cmd_trace_generate(args: argparse.Namespace) -> int:
    from alert.evaluation import scenarios

    try:
        tr = scenarios.generate(args.platform, args.task, args.workload, args.variant, args.inputs, args.seed)
    except ValueError as e:
        log.error("%s", e)
        return 2
    tr.save(args.out)
    log.info(f"wrote {args.out}: {tr.shape[0]} inputs x {tr.shape[1]} candidates x {tr.shape[2]} settings")
    return 0


def _cmd_trace_convert(args: argparse.Namespace) -> int:
    from alert.evaluation.traces import Trace, TraceError

    try:
        Trace.load(args.src).save(args.dst)
    except TraceError as e:
        log.error("%s", e)
        return 2
    log.info(f"wrote {args.dst}")
    return 0


def _cmd_trace_record(args: argparse.Namespace) -> int:
    from alert.cli.live import cmd_record

    return cmd_record(args)


def _cmd_trace_check(args: argparse.Namespace) -> int:
    from alert.evaluation import scenarios
    from alert.evaluation.traces import Trace, TraceError

    status = 0
    for path in args.traces:
        try:
            tr = Trace.load(path)
        except TraceError as e:
            log.error("%s", e)
            status = 2  # bad input
            continue
        N, C, L = tr.shape
        print(f"{path}: trace {tr.name!r}, {N} inputs x {C} candidates x {L} settings, states {list(tr.state_names)}")
        for s, name in enumerate(tr.state_names):
            if (tr.states() == s).any():
                sp = scenarios.spread(tr, s)
                print(f"  {name}: median slowdown {sp['median_slowdown']:.3f}, p95/median {sp['p95_over_median']:.3f}")
    return status
