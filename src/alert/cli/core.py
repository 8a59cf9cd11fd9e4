"""``alert check``, ``alert decide`` and ``alert demo``: the controller on a profile."""

from __future__ import annotations

import argparse
import logging

from alert import strictjson
from alert.cli import EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_OK
from alert.cli import checks as C
from alert.resources import resolve_profile

log = logging.getLogger(__name__)

#: why a number of `alert decide --json` can be missing (null)
DECISION_REASONS = {
    "deadline": "the goal has no deadline (min-latency)",
    "expected_latency": "no latency estimate for this configuration",
    "expected_energy": "no energy estimate for this configuration",
}


def _cmd_check(args: argparse.Namespace) -> int:
    from alert.profile import Profile, ProfileError

    status = 0
    for path in args.profiles:
        try:
            p = Profile.load(resolve_profile(path))
        except ProfileError as e:
            log.error("%s", e)
            status = EXIT_BAD_INPUT
            continue
        if args.json:
            print(strictjson.dumps({"file": path, "ok": True, "name": p.name, "candidates": p.shape[0],
                              "settings": p.shape[1], "unit": p.unit}))
        else:
            print(p.summary())
    return status


def _controller_config(args: argparse.Namespace):
    from alert.controller import ControllerConfig

    if args.q0 is not None and args.estimator != "paper":
        raise ValueError("--q0 is a parameter of the paper's filter. Fix: add --estimator paper, or drop --q0")
    params = {"q0": args.q0} if args.q0 is not None else {}
    return ControllerConfig(estimator=args.estimator, estimator_params=params, candidates=args.candidates,
                            mean_only=args.mean_only, priority=tuple(args.priority.split(",")), overhead=0.0)


def _cmd_decide(args: argparse.Namespace) -> int:
    from alert.controller import Controller
    from alert.goals import GoalError, parse_goal
    from alert.profile import Profile, ProfileError

    try:
        profile = Profile.load(resolve_profile(args.profile))
        goal = parse_goal(args.goal)
        ctl = Controller(profile, goal, _controller_config(args))
    except (ProfileError, GoalError, ValueError) as e:
        log.error("%s", e)
        return EXIT_BAD_INPUT
    if args.mean_only and args.sigma is not None:
        log.error("--sigma: ALERT* (--mean-only) ignores the spread of the slowdown; drop one of them")
        return EXIT_BAD_INPUT
    try:
        ctl.estimator.assume(args.slowdown, args.sigma)
    except ValueError as e:
        log.error(f"--slowdown/--sigma: {e}")
        return EXIT_BAD_INPUT
    d = ctl.decide()
    feasible = all(d.goals_met.values()) and not d.gave_up
    if not feasible:
        log.warning(f"goal {args.goal!r} cannot be met on profile {profile.name!r}: gave up "
                    f"{', '.join(d.gave_up) or ', '.join(k for k, v in d.goals_met.items() if not v)}; "
                    "the decision shown keeps the goals in --priority order (exit code 3)")
    if args.json:
        print(strictjson.dumps({**d.as_dict(), "feasible": feasible}, DECISION_REASONS))
    else:
        met = ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in d.goals_met.items())
        print(f"model    {d.label}\nsetting  {d.setting_name} ({d.setting_value:g} {profile.unit})\n"
              f"latency  {d.expected_latency * 1e3:.3f} ms expected (deadline {d.deadline * 1e3:.3f} ms), "
              f"Pr[meet] {d.pr:.4f}\naccuracy {d.expected_accuracy:.4f} expected\n"
              f"energy   {d.expected_energy:.4f} J per input\ngoals    {met}"
              + (f"\ngave up  {', '.join(d.gave_up)}" if d.gave_up else ""))
    return EXIT_OK if feasible else EXIT_INFEASIBLE


def _cmd_demo(args: argparse.Namespace) -> int:
    from alert.demo import DemoConfig, default_profile, run_demo
    from alert.profile import Profile, ProfileError

    try:
        profile = Profile.load(resolve_profile(args.profile)) if args.profile else default_profile()
    except ProfileError as e:
        log.error("%s", e)
        return EXIT_BAD_INPUT
    cfg = DemoConfig(inputs=args.inputs, seed=args.seed, power_budget=args.power,
                     episode=(args.inputs // 3, 2 * args.inputs // 3), episode_slowdown=args.slowdown)
    summary = run_demo(profile, cfg)
    if args.json:
        print(strictjson.dumps(summary))
    return 0


def _add_controller_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--candidates", choices=["all", "anytime", "traditional"], default="all",
                   help="candidate DNNs: all (ALERT), anytime (ALERT_Any), traditional (ALERT_Trad)")
    p.add_argument("--mean-only", action="store_true", help="ALERT*: ignore the variance of the slowdown")
    p.add_argument("--priority", default="latency,accuracy,energy", type=C.priority_order,
                   help="order in which goals are kept when infeasible (default: %(default)s)")
    from alert.estimators import ESTIMATORS

    p.add_argument("--estimator", choices=sorted(ESTIMATORS), default="robust",
                   help="latency estimator: robust (the project's default), robust-config (robust with each "
                        "configuration's own window blended in) or paper (the paper's ALERT, Eq. 5)")
    p.add_argument("--q0", type=C.positive, default=None,
                   help="with --estimator paper: process-noise floor Q0 of Eq. 5 (default 0.1)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``check``, ``decide`` and ``demo``."""
    p = sub.add_parser("check", help="validate profiles and print a summary")
    p.add_argument("profiles", nargs="+", metavar="PROFILE",
                   help="profile file, or the name of a packaged profile (laptop-cpu, gpu-small, cpu-quota)")
    p.add_argument("--json", action="store_true", help="one JSON line per valid profile")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("decide", help="print the configuration ALERT picks for a goal",
                       description="Goals: min-energy:deadline=S,accuracy=Q[,pr_th=P] | "
                                   "max-accuracy:deadline=S[,energy=J|power=W][,pr_th=P] | "
                                   "min-latency:accuracy=Q[,energy=J]")
    p.add_argument("profile", metavar="PROFILE",
                   help="profile file, or the name of a packaged profile (laptop-cpu, gpu-small, cpu-quota)")
    p.add_argument("--goal", required=True, help="e.g. min-energy:deadline=0.1,accuracy=0.9")
    p.add_argument("--slowdown", type=C.number(lo=0.02, hi=50.0, what=" (the range of slowdowns the controller "
                                                                  "admits, 1/50 to 50)"),
                   default=1.0, help="assumed mean slowdown mu (default 1)")
    p.add_argument("--sigma", type=C.non_negative, default=None,
                   help="assumed std of the slowdown (default: the filter's initial sqrt(0.1))")
    p.add_argument("--json", action="store_true", help="print the decision as JSON")
    _add_controller_options(p)
    p.set_defaults(func=_cmd_decide)

    p = sub.add_parser("demo", help="run ALERT over a simulated stream with a slowdown episode")
    p.add_argument("--profile", default=None, help="profile file or packaged profile name (default: laptop-cpu)")
    p.add_argument("--inputs", type=C.inputs, default=90)
    p.add_argument("--slowdown", type=C.positive, default=1.6, help="slowdown during the episode")
    p.add_argument("--power", type=C.positive, default=25.0, help="average power budget in W")
    p.add_argument("--seed", type=C.seed, default=0)
    p.add_argument("--json", action="store_true", help="also print the summary as JSON")
    p.set_defaults(func=_cmd_demo)
