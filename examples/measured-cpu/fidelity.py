"""Fidelity check of the measured CPU platform: live `alert run` of ALERT vs replay of a trace.

For every workload (default, memory, compute):

1. record a fresh trace (``live/<workload>.npz``, TRACE_INPUTS inputs, the committed profile and
   the recording procedure of ``record.sh`` with GAP seconds of idle after each run, 8 ms by
   default: about the idle the live runs' periods leave), so that the replay and the live runs see
   the machine in the same state;
2. for three goals derived from the profile, serve paced inputs (one per deadline period, so an
   input's energy covers one period as in replay) with the real cgroup knob and the real contention
   generator for CYCLES whole on/off cycles of the recording's schedule (8 s on, 8 s off, starting
   off: the same phases in seconds as the trace, since what contention does to a run depends on
   how the scheduler places the jobs over seconds); logs go to ``live/<workload>-<k>.csv.gz`` (``slim``);
3. ``alert fidelity --traces live --scheme ALERT_runtime`` compares each live outcome with the replay of the fresh trace,
   weighted to the live run's share of contended inputs, and with the replay of the committed
   trace (the drift of the machine since it was recorded).

    python3 examples/measured-cpu/fidelity.py            # writes live/ and fidelity.json

Needs root (cgroup quota), PyTorch and the Fashion-MNIST files. About 10 minutes with the
defaults (TRACE_INPUTS=300, CYCLES=2); FRESH=0 skips step 1 and replays the platform's traces;
COMPARE_ONLY=1 runs step 3 alone on the logs and traces already in ``live/`` (seconds).
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alert.evaluation import measured, metrics  # noqa: E402

TRACE_INPUTS = int(os.environ.get("TRACE_INPUTS", "300"))
CYCLES = int(os.environ.get("CYCLES", "2"))
FRESH = os.environ.get("FRESH", "1") == "1"
COMPARE_ONLY = os.environ.get("COMPARE_ONLY", "0") == "1"
WARM_RUNS = int(os.environ.get("WARM_RUNS", "0"))  # unrecorded runs before each recorded one (warm caches)
SCHEME = "ALERT_runtime"  # the replay of what the live runtime does: stage-granular anytime runs
MODEL = ("--models", f"{HERE / 'models.py'}:models", "--knob", "cgroup+threads", "--cfs-period-us", "4000",
         "--batch", "16", "--meter", "cpu-time", "--watts-per-core", "10", "--idle-power", "2")


def goals(profile) -> list[str]:
    """Three goals across the Table-3 ranges: two min-energy, one max-accuracy under a power budget."""
    ref = metrics.reference_latency(profile)
    q = np.unique(profile.q)
    p_lo = 0.5 * (profile.idle_power.min() + profile.power.min())
    p_mid = 0.5 * (p_lo + profile.power.max())
    return [f"min-energy:deadline={1.2 * ref:.5f},accuracy={q[len(q) // 2]:.4f}",
            f"min-energy:deadline={0.8 * ref:.5f},accuracy={q[1]:.4f}",
            f"max-accuracy:deadline={1.0 * ref:.5f},power={p_mid:.3f}"]


KEEP = ("input", "time_s", "deadline_s", "model", "stage", "setting", "expected_latency_s", "pr", "latency_s",
        "response_s", "run_s", "stage_reached", "met_deadline", "delivered_accuracy", "energy_j", "correct", "overhead_s",
        "state")


def slim(log: Path, out: Path) -> None:
    """Compress a run log for the repository: the columns the comparison and its analysis use
    (not the per-image predictions and labels, whose agreement is the ``correct`` column), numbers
    to 6 significant digits."""
    with open(log, newline="") as f:
        rows = list(csv.DictReader(f))

    def short(v: str) -> str:
        try:
            return v if v.isdigit() else f"{float(v):.6g}"
        except ValueError:
            return v
    with gzip.open(out, "wt", newline="") as f:
        w = csv.DictWriter(f, fieldnames=KEEP)
        w.writeheader()
        for r in rows:
            w.writerow({k: short(r[k]) for k in KEEP})


#: the OpenMP spin of this platform (record.sh): intra-op threads spin ~10k iterations at a barrier,
#: then sleep, so a two-thread run does not burn CPU through the inputs that follow it
OMP_ENV = {"GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT", "10000")}


def alert(*args: str, env: dict[str, str] | None = None) -> None:
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-m", "alert", *args], check=True, env=env, cwd=ROOT)


#: idle seconds after each recorded run of the fresh traces: a model runs slower after a longer
#: idle (a fixed depth-2 at 1 core: 2.85 / 3.18 / 3.55 ms paced every 4.8 / 6.6 / 8.8 ms), so the
#: traces are recorded with about the idle the live runs' periods leave (5.5-10 ms for the three goals)
GAP = os.environ.get("GAP", "0.008")


def main(here: Path = HERE, model: tuple[str, ...] = MODEL, record: tuple[str, ...] = ("--gap", GAP),
         env: dict[str, str] | None = None) -> int:
    """Steps 1-3 for the platform in ``here`` (``model``: the models, knob and meter arguments of
    ``alert run`` and ``alert trace record``; ``record``: the recording procedure's options;
    ``env``: the platform's environment for both, by default :data:`OMP_ENV`)."""
    env = OMP_ENV if env is None else env
    plat = measured.load_platform(here)
    if plat is None:
        print(f"record the platform first: {here.relative_to(ROOT)}/record.sh", file=sys.stderr)
        return 2
    live = here / "live"
    live.mkdir(exist_ok=True)
    runs = []
    for w, tr in plat.traces.items():
        c = tr.metadata.get("contention", {"on_s": 8.0, "off_s": 8.0})
        on, off = float(c.get("on_s", 8.0)), float(c.get("off_s", 8.0))
        schedule = ["--on", str(on), "--off", str(off)]
        if FRESH and not COMPARE_ONLY:
            print(f"{w}: recording {TRACE_INPUTS} inputs (load average {os.getloadavg()[0]:.2f})", flush=True)
            alert("trace", "record", *model, "--profile", str(here / "profile.json"), "--inputs", str(TRACE_INPUTS),
                  "--workload", w, *schedule, *record, "--warm-runs", str(WARM_RUNS), "--seed", "0", "--quiet",
                  "--out", str(live / f"{w}.npz"), env=env)
        for k, g in enumerate(goals(plat.profile)):
            T = float(g.split("deadline=")[1].split(",")[0])
            log = live / f"{w}-{k}.csv"
            n = math.ceil(CYCLES * (on + off) / T)
            if COMPARE_ONLY:
                if Path(f"{log}.gz").is_file():
                    runs += ["--run", w, str(Path(f"{log}.gz").relative_to(ROOT)), g]
                else:
                    print(f"{w}: no log {log}.gz (that run did not complete); compared without it", flush=True)
                continue
            runs += ["--run", w, str(Path(f"{log}.gz").relative_to(ROOT)), g]
            cmd = ["run", "--profile", str(here / "profile.json"), "--goal", g, *model, "--inputs", str(n),
                   "--period", f"{T:.5f}", "--log", str(log), "--json"]
            if w != "default":
                cmd += ["--contend", w, *schedule, "--contend-start", "off"]
            print(f"{w}: {g}, {n} inputs (load average {os.getloadavg()[0]:.2f})", flush=True)
            alert(*cmd, env=env)
            slim(log, Path(f"{log}.gz"))
            log.unlink()
    extra = ["--traces", str(live.relative_to(ROOT))] if FRESH else []
    alert("fidelity", "--platform", str(here), *runs, *extra, "--scheme", SCHEME, "--out", str(here / "fidelity.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
