"""The report's figures (paper Figures 7-11, Figure 12: a recorded run, Figure 13: live runs) as PNG files;
matplotlib is imported when drawing (``alert.evaluation.runplot.pyplot``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: the constraint grid searched for the runs of Figures 9 and 12 (deadlines x goals, per goal kind)
SEARCH_GRID = (3, 2)
#: inputs of the recorded trace drawn in Figure 12 (its first ones; the whole trace when shorter)
RUN_INPUTS = 300


def most_setting_changes(traces: Sequence[Any], grids: Sequence[Sequence[Any]], scheme: str = "ALERT"
                         ) -> tuple[int, int, int]:
    """(trace index, constraint index, setting changes) of the run of ``scheme`` that changes the
    system setting most often, over every trace and the constraints of its grid (``grids[i]``
    for ``traces[i]``); the first such run on ties."""
    from alert.evaluation import suite

    best = (0, 0, -1)
    for ti, (tr, grid) in enumerate(zip(traces, grids, strict=True)):
        if tr.profile.shape[1] < 2:
            continue
        for ci, c in enumerate(grid):
            tl = suite.timeline(tr, c, scheme)
            k = int(np.count_nonzero(np.diff(tl.setting)))
            if k > best[2]:
                best = (ti, ci, k)
    return best


def _search_grid(trace: Any, budgets: Any) -> list[Any]:
    from alert.evaluation import metrics

    nd, ng = SEARCH_GRID
    return [c for task in metrics.TASKS
            for c in metrics.trace_grid(trace, task, nd, ng, budgets=budgets)]  # type: ignore[arg-type]


def recorded_run_figure(platforms: Sequence[Any], path: Path) -> str | None:
    """Figure 12: ALERT and Static_profile replayed on a recorded trace with contention and more
    than one setting (a level schedule preferred): the constraint of the search grid where ALERT
    changes the setting most often. None when no recorded trace has contention."""
    from alert.evaluation import suite
    from alert.evaluation.runplot import draw_run, from_timeline

    cands = [(p, w, t) for p in platforms for w, t in p.traces.items()
             if t.profile.shape[1] > 1 and len(np.unique(t.states())) > 1]
    if not cands:
        cands = [(p, w, t) for p in platforms for w, t in p.traces.items() if len(np.unique(t.states())) > 1]
    if not cands:
        return None
    levels = [c for c in cands if (c[2].metadata.get("contention") or {}).get("schedule") == "levels"]
    p, w, tr = (levels or cands)[0]
    tr = tr.slice(0, min(tr.n_inputs, RUN_INPUTS))
    grid = _search_grid(tr, "trace")
    _, ci, k = most_setting_changes([tr], [grid])
    c = grid[max(ci, 0)]
    series = [from_timeline(suite.timeline(tr, c, s), tr) for s in ("ALERT", "Static_profile")]
    draw_run(series, path,
             f"Figure 12: recorded platform `{p.name}`, workload `{w}` (replay of the recorded trace, first "
             f"{tr.n_inputs} inputs)\n{c.task}, {c.label()}: of a {SEARCH_GRID[0]}x{SEARCH_GRID[1]} grid per goal, "
             f"the setting where ALERT changes the system setting most often ({max(k, 0)} changes)",
             xlabel="input (in recording order)")
    return str(path)


def live_run_figure(path: Path) -> str | None:
    """Figure 13: the live runs of examples/cpu-quota-run.sh (``alert run`` logs packaged with
    alert, ``alert.resources.live_run_logs``): ALERT, the paper preset and the quiet profile's best
    static configuration serving the same paced inputs under on/off compute contention on the
    cgroup knob. None when no log is packaged."""
    from alert.evaluation.runplot import draw_run, load_run_log
    from alert.resources import live_run_logs

    logs = live_run_logs()
    if not logs:
        return None
    series = [load_run_log(p, label) for label, p in logs]
    n = len(series[0].x)
    draw_run(series, path, f"Figure 13: live runs on this 2-core CPU (examples/cpu-quota-run.sh, cgroup CPU quota "
                           f"knob, {n} paced inputs,\ncompute contention on/off every 3 s): "
                           f"{', '.join(label for label, _ in logs)} (the quiet profile's best fixed configuration)")
    return str(path)


def make_figures(rows: list[dict[str, Any]], out: Path, cfg: Any, platforms: Sequence[Any] = (),
                 sentence_rows: Sequence[dict[str, Any]] = ()) -> list[str]:
    """Figures 7-11 as PNG in ``out`` (and Figure 12 when a recorded ``platforms`` trace has
    contention); returns their paths."""
    from alert.evaluation import metrics, report, scenarios, suite
    from alert.evaluation.metrics import Constraint

    v = cfg.variants[0]
    files = []
    f = out / "fig7_summary.png"
    report.fig_summary(rows, f, v, sentence_rows)
    files.append(str(f))
    f = out / "fig8_whiskers.png"
    report.fig_whiskers(rows, f, v, sentence_rows)
    files.append(str(f))
    # Figure 9: of the contended simulated cells and a small grid per goal, the run where ALERT
    # changes the system setting most often; Static_profile on the same run beside it
    n9 = max(cfg.n_inputs, 160)
    cells = [(p, t, w) for p, t in cfg.cells for w in cfg.workloads if w != "default"] or \
        [(p, t, w) for p, t in cfg.cells for w in cfg.workloads]
    traces = [scenarios.generate(p, t, w, v, n9, cfg.seed) for p, t, w in cells]
    grids = [_search_grid(tr, cfg.budgets) for tr in traces]
    ti, ci, k = most_setting_changes(traces, grids)
    tr, c = traces[ti], grids[ti][ci]
    tls = [suite.timeline(tr, c, s) for s in ("ALERT", "Static_profile")]
    f = out / "fig9_timeline.png"
    report.fig_timeline(tls, tr, f, note=f"simulated; of {len(traces)} contended cells x a {SEARCH_GRID[0]}x"
                        f"{SEARCH_GRID[1]} grid per goal, the run where ALERT changes the system setting most "
                        f"often ({max(k, 0)} changes)")
    files.append(str(f))
    f = out / "fig10_alert_vs_alert_star.png"
    report.fig_alert_vs_star(rows, f, variant=v)
    files.append(str(f))
    # Figure 11: ξ observed by the paper's ALERT on CPU1 image, one mid-grid min-energy setting per workload
    xis = {}
    ref = None
    for w in scenarios.WORKLOADS:
        trw = scenarios.generate("cpu1", "image", w, v, max(cfg.n_inputs, 160), cfg.seed)
        ref = metrics.reference_latency(trw.profile) if ref is None else ref
        cw = Constraint("min-energy", 1.2 * ref, accuracy=float(np.median(trw.profile.q)))
        xi = suite.timeline(trw, cw, "ALERT_paper").xi
        xis[w] = xi if xi is not None else np.array([])
    f = out / "fig11_xi.png"
    report.fig_xi(xis, f, f"simulated platform cpu1, image task, `{v}` traces\nslowdown ξ observed by ALERT_paper "
                          "(min-energy, deadline 1.2x reference, median accuracy goal)")
    files.append(str(f))
    if platforms:
        f = out / "fig12_recorded_run.png"
        if recorded_run_figure(platforms, f):
            files.append(str(f))
    f = out / "fig13_live_run.png"
    if live_run_figure(f):
        files.append(str(f))
    return files
