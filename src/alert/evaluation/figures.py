"""The report's figures (paper Figures 7-11) as PNG files; matplotlib is imported by ``report``."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def make_figures(rows: list[dict[str, Any]], out: Path, cfg: Any) -> list[str]:
    """Figures 7-11 as PNG in ``out``; returns their paths."""
    import numpy as np

    from alert.evaluation import metrics, report, scenarios, suite
    from alert.evaluation.metrics import Constraint

    v = cfg.variants[0]
    files = []
    f = out / "fig7_summary.png"
    report.fig_summary(rows, f, v)
    files.append(str(f))
    f = out / "fig8_whiskers.png"
    report.fig_whiskers(rows, f, v)
    files.append(str(f))
    # Figure 9: CPU1 image, memory contention, min-error, deadline 1.25x, power limit at the top cap
    tr = scenarios.generate("cpu1", "image", "memory", v, max(cfg.n_inputs, 160), cfg.seed)
    ref = metrics.reference_latency(tr.profile)
    c = Constraint("min-error", 1.25 * ref, power_budget=float(tr.profile.setting_values.max()))
    tls = [suite.timeline(tr, c, s) for s in ("ALERT", "ALERT_paper", "ALERT_Trad")]
    f = out / "fig9_timeline.png"
    report.fig_timeline(tls, tr, f)
    files.append(str(f))
    f = out / "fig10_alert_vs_alert_star.png"
    report.fig_alert_vs_star(rows, f, variant=v)
    files.append(str(f))
    # Figure 11: ξ observed by the paper's ALERT on CPU1 image, one mid-grid min-energy setting per workload
    xis = {}
    for w in scenarios.WORKLOADS:
        trw = scenarios.generate("cpu1", "image", w, v, max(cfg.n_inputs, 160), cfg.seed)
        cw = Constraint("min-energy", 1.2 * ref, accuracy=float(np.median(trw.profile.q)))
        xi = suite.timeline(trw, cw, "ALERT_paper").xi
        xis[w] = xi if xi is not None else np.array([])
    f = out / "fig11_xi.png"
    report.fig_xi(xis, f)
    files.append(str(f))
    return files
