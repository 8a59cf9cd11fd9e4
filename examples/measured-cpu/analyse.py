"""Where the live runs and their replay differ: the numbers behind docs/measured.md ("What is still
wrong"), from the committed logs and fresh traces of the fidelity check.

    python3 examples/measured-cpu/analyse.py [--recording]

Per live run: the share of inputs whose model ran over 50 ms and the share of the energy they
carry, live and in the replay (``ALERT_runtime``, weighted to the live contended share); the
energy gap with and without them; and the late inputs split into (a) a model on time but started
late (decide + apply), (b) a traditional model past the deadline, (c) an anytime model with no
stage by the deadline, against the late share of the replay charging the median overhead.

``--recording`` prints the tables of the recording itself instead (docs/measured.md, "What was
recorded"): the quiet profile's mean latency per candidate and setting, the idle power per
setting, and the median and p95/median of ξ = t / t_prof per workload, state and setting.

Second table: the mean energy of the live inputs run at 1 core, by how many inputs ago the last
two-core input ran. Flat means an input's energy depends on its own configuration alone (what the
replay assumes); falling means threads of a two-core run keep burning CPU into the inputs after it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alert.evaluation import fidelity, measured, metrics, suite  # noqa: E402

STALL_S = 0.05
SINCE = ((1, 1), (2, 2), (3, 5), (6, 20), (21, None))


def since_last(settings: list[str], value: str) -> np.ndarray:
    """For each input, how many inputs ago the last one at ``value`` ran (a large number if none)."""
    out, last = np.empty(len(settings), dtype=np.int64), -(10**9)
    for i, s in enumerate(settings):
        out[i] = i - last
        if s == value:
            last = i
    return out


def recording(plat: measured.MeasuredPlatform) -> None:
    p = plat.profile
    names = [s.name for s in p.settings]
    print("| candidate | q | " + " | ".join(names) + " |\n|---|---|" + "---|" * len(names))
    for i, c in enumerate(p.candidates):
        print(f"| {c.label} | {p.q[i]:.4g} | " + " | ".join(f"{1e3 * t:.2f}" for t in p.t_prof[i]) + " |")
    print("\nidle power (W) per setting: " + ", ".join(f"{w:.1f}" for w in p.idle_power)
          + f"; environment {p.metadata.get('environment', {})}; load average {p.metadata.get('load_average')}\n")
    print("| workload | state | median ξ | p95 / median |\n|---|---|---|---|")
    for w, t in plat.traces.items():
        xi = t.latency / p.t_prof[None]
        for s in np.unique(t.states()):
            q = xi[t.states() == s]
            med = np.median(q, axis=(0, 1))
            spread = np.percentile(q, 95, axis=(0, 1)) / med
            name = t.state_names[s] if t.state is not None else "quiet"
            print(f"| {w} | {name} | {' '.join(f'{v:.2f}' for v in med)} | {' '.join(f'{v:.1f}' for v in spread)} |")


def main() -> int:
    plat = measured.load_platform(HERE)
    if "--recording" in sys.argv[1:]:
        recording(plat)
        return 0
    doc = json.loads((HERE / "fidelity.json").read_text())
    fresh = measured.load_traces(ROOT / doc["traces"], plat.profile)
    print("| workload | goal | live: runs > 50 ms / their energy | replay: same | energy gap | without them "
          "| live late = (a) + (b) + (c) | replay late (median overhead) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in doc["runs"]:
        w, c = r["workload"], metrics.constraint_from_goal(r["goal"])
        rows = fidelity.read_rows(ROOT / r["log"])
        col = lambda k, rows=rows: np.array([float(x[k]) for x in rows])  # noqa: E731
        energy, run, lat, resp = col("energy_j"), col("run_s"), col("latency_s"), col("response_s")
        on = np.array([x["state"] == "on" for x in rows])
        late = np.array([x["met_deadline"] != "True" for x in rows])
        anytime = np.array([x["stage"] != "" for x in rows])
        none = anytime & np.array([x["stage_reached"] == "0" for x in rows])
        tr, T = fresh[w], c.deadline
        wts = fidelity.state_weights(tr, on)
        wts = np.full(tr.n_inputs, 1.0 / tr.n_inputs) if wts is None else wts
        tl = suite.timeline(tr, c, doc["scheme"])
        stall, r_stall = run > STALL_S, tl.latency > STALL_S
        trimmed = energy[~stall].mean() / ((wts[~r_stall] @ tl.energy[~r_stall]) / wts[~r_stall].sum()) - 1
        a = (lat <= T) & (resp > T) & ~none
        b = ~anytime & (lat > T)
        o = r["overhead_s"]
        tlo = suite.timeline(tr, c.with_deadline(T - o), doc["scheme"])
        print(f"| {w} | `{r['goal']}` | {stall.mean():.1%} / {energy[stall].sum() / energy.sum():.1%} | "
              f"{wts @ r_stall:.1%} / {(wts * tl.energy)[r_stall].sum() / (wts @ tl.energy):.1%} | "
              f"{r['gap']['energy']:+.1%} | {trimmed:+.1%} | {late.mean():.1%} = {a.mean():.1%} + {b.mean():.1%} + "
              f"{none.mean():.1%} | {wts @ tlo.late:.1%} |")
    print()
    print("| workload | goal | two-core share | 1-core inputs: mean energy (mJ) by inputs since the last two-core "
          "input: " + ", ".join(f"{lo}" + ("+" if hi is None else "" if hi == lo else f"-{hi}") for lo, hi in SINCE)
          + " |")
    print("|---|---|---|---|")
    for r in doc["runs"]:
        rows = fidelity.read_rows(ROOT / r["log"])
        energy = np.array([float(x["energy_j"]) for x in rows])
        sett = [x["setting"] for x in rows]
        gap = since_last(sett, "2c")
        one = np.array([s == "1c" for s in sett])
        cells = []
        for lo, hi in SINCE:
            k = one & (gap >= lo) & (gap <= (hi or 10**9))
            cells.append(f"{1e3 * energy[k].mean():.1f} ({k.sum()})" if k.sum() >= 20 else "-")
        print(f"| {r['workload']} | `{r['goal']}` | {np.mean([s == '2c' for s in sett]):.0%} | {' / '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
