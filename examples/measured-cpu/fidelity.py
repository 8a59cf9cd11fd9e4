"""Fidelity check of the measured CPU platform: live `alert run` of ALERT vs replay of the trace.

For every workload (default, memory, compute) and three goals derived from the recorded profile,
serve INPUTS paced inputs (one per deadline period, so an input's energy covers one period as in
replay) with the real cgroup knob and the real contention generator, then compare the live
outcome with what replaying the recorded trace predicts (``alert fidelity``). The contention
phases are scaled so that a phase lasts as many inputs as in the recording.

    python3 examples/measured-cpu/fidelity.py            # writes live/*.csv and fidelity.json

Needs root (cgroup quota), PyTorch and the Fashion-MNIST files. About 2-3 minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alert.evaluation import measured, metrics  # noqa: E402

INPUTS = int(os.environ.get("INPUTS", "400"))
COMMON = ["--models", f"{HERE / 'models.py'}:models", "--knob", "cgroup+threads", "--cfs-period-us", "4000",
          "--batch", "16", "--meter", "cpu-time", "--watts-per-core", "10", "--idle-power", "2"]


def goals(profile) -> list[str]:
    """Three goals across the Table-3 ranges: two min-energy, one max-accuracy under a power budget."""
    ref = metrics.reference_latency(profile)
    q = np.unique(profile.q)
    p_lo = 0.5 * (profile.idle_power.min() + profile.power.min())
    p_mid = 0.5 * (p_lo + profile.power.max())
    return [f"min-energy:deadline={1.2 * ref:.5f},accuracy={q[len(q) // 2]:.4f}",
            f"min-energy:deadline={0.8 * ref:.5f},accuracy={q[1]:.4f}",
            f"max-accuracy:deadline={1.0 * ref:.5f},power={p_mid:.3f}"]


def main() -> int:
    plat = measured.load_platform(HERE)
    if plat is None:
        print("record the platform first: examples/measured-cpu/record.sh", file=sys.stderr)
        return 2
    live = HERE / "live"
    live.mkdir(exist_ok=True)
    runs = []
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for w, tr in plat.traces.items():
        sec_per_input = float(tr.metadata.get("seconds", 1.0)) / tr.n_inputs
        c = tr.metadata.get("contention", {})
        for k, g in enumerate(goals(plat.profile)):
            T = float(g.split("deadline=")[1].split(",")[0])
            log = live / f"{w}-{k}.csv"
            cmd = [sys.executable, "-m", "alert.cli", "run", "--profile", str(HERE / "profile.json"), "--goal", g,
                   *COMMON, "--inputs", str(INPUTS), "--period", f"{T:.5f}", "--log", str(log), "--json"]
            if w != "default":
                on = max(0.05, c.get("on_s", 8.0) / sec_per_input * T)
                off = max(0.05, c.get("off_s", 8.0) / sec_per_input * T)
                cmd += ["--contend", w, "--on", f"{on:.3f}", "--off", f"{off:.3f}"]
            print(f"{w}: {g} (load average {os.getloadavg()[0]:.2f})", flush=True)
            subprocess.run(cmd, check=True, env=env, cwd=ROOT)
            runs += ["--run", w, str(log.relative_to(ROOT)), g]
    subprocess.run([sys.executable, "-m", "alert.cli", "fidelity", "--platform", str(HERE), *runs,
                    "--out", str(HERE / "fidelity.json")], check=True, env=env, cwd=ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
