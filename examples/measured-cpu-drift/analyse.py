"""Tables of the drifting-contention recording (docs/measured.md), from the committed files.

    PYTHONPATH=src python3 examples/measured-cpu-drift/analyse.py

1. the recording: date, seconds, load average at the start and the end, nice, per trace;
2. the quiet profile against examples/measured-cpu's (mean latency per candidate and setting);
3. per trace and contention level: inputs, scheduled intensity (min-max), median ξ = t / t_prof
   per setting and p95/median of ξ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from alert.evaluation import measured
from alert.evaluation.traces import Trace
from alert.profile import Profile

HERE = Path(__file__).resolve().parent


def main() -> int:
    plat = measured.load_platform(HERE)
    if plat is None:
        print(f"{HERE}: not recorded (run record.sh)")
        return 1
    prof = plat.profile
    traces = {"quiet": Trace.load(HERE / "quiet.npz"), **plat.traces}
    print("| trace | date (UTC) | inputs | seconds | load average start | end | nice |")
    print("|---|---|---|---|---|---|---|")
    for w, t in traces.items():
        m = t.metadata
        print(f"| {w} | {m.get('date', '?')} | {t.n_inputs} | {m.get('seconds', '?')} | "
              f"{m.get('load_average_start', '?')} | {m.get('load_average_end', '?')} | {m.get('nice', '?')} |")
    ref = Profile.load(measured.DEFAULT_DIR / "profile.json")
    names = [s.name for s in prof.settings]
    print("\nQuiet profile, mean latency in ms (this recording / examples/measured-cpu):\n")
    print("| candidate | q | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for i, c in enumerate(prof.candidates):
        cells = [f"{1e3 * prof.t_prof[i, j]:.2f} / {1e3 * ref.t_prof[i, j]:.2f}" for j in range(len(names))]
        print(f"| {c.label} | {prof.q[i]:g} | " + " | ".join(cells) + " |")
    print(f"\nidle power per setting (W): {np.round(prof.idle_power, 2).tolist()} "
          f"(examples/measured-cpu: {np.round(ref.idle_power, 2).tolist()})")
    print("\nSlowdown ξ = t / t_prof per contention level (median per setting "
          f"{' '.join(names)}; p95/median in the last column):\n")
    print("| trace | level | inputs | intensity | median ξ | p95 / median |")
    print("|---|---|---|---|---|---|")
    for w, t in plat.traces.items():
        xi = t.latency / prof.t_prof[None]
        st = t.states()
        lvl = t.metadata.get("contention_intensity")
        for k in np.unique(st):
            sel = st == k
            q = xi[sel]
            med = np.median(q, axis=(0, 1))
            tail = np.percentile(q, 95, axis=(0, 1)) / med
            inten = "-" if lvl is None else f"{np.min(np.asarray(lvl)[sel]):.2f}-{np.max(np.asarray(lvl)[sel]):.2f}"
            name = t.state_names[k] if t.state is not None else "quiet"
            print(f"| {w} | {name} | {int(sel.sum())} | {inten} | {' '.join(f'{v:.2f}' for v in med)} | "
                  f"{' '.join(f'{v:.1f}' for v in tail)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
