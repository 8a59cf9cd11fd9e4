"""GPU power under the two duty patterns of the fidelity check (read-only NVML queries).

Serves the platform's models in three patterns, DURATION seconds each, while a thread reads
NVML power, SM clock and temperature every 50 ms:

- ``idle``: a CUDA context and no work;
- ``live``: one depth-nested inference (all 3 stages) every PERIOD seconds, as ``alert run`` paces them;
- ``record``: the recorder's pattern, every candidate once per input with a 4 ms gap after each
  run and a 20 ms idle window per input (``record.sh``).

    DATA=/path/to/fashion-mnist python3 examples/measured-gpu/power_patterns.py   # prints a table, writes power_patterns.json
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))
DURATION = float(os.environ.get("DURATION", "10"))
PERIOD = float(os.environ.get("PERIOD", "0.00223"))


def main() -> None:
    import pynvml
    import torch

    from alert.runtime import load_entry_point

    models = load_entry_point(f"{HERE / 'models.py'}:models")()
    x = torch.randn(16, 1, 28, 28)
    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(0)
    samples: list[tuple[float, float, float, float]] = []
    stop = threading.Event()

    def sampler() -> None:
        while not stop.wait(0.05):
            samples.append((time.perf_counter(), pynvml.nvmlDeviceGetPowerUsage(h) / 1e3,
                            pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM),
                            pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU)))

    def run_all(m: object) -> None:
        with torch.inference_mode():
            if hasattr(m, "run_stage") and m.n_stages > 1:
                s = m.init_state(x)
                for k in range(m.n_stages):
                    m.run_stage(k, s)
            else:
                m(x)

    def live() -> float:
        busy, t_end, nxt = 0.0, time.perf_counter() + DURATION, time.perf_counter()
        while time.perf_counter() < t_end:
            t0 = time.perf_counter()
            run_all(models["depth-nested"])
            busy += time.perf_counter() - t0
            nxt = max(nxt + PERIOD, time.perf_counter())
            time.sleep(max(0.0, nxt - time.perf_counter()))
        return busy / DURATION

    def record() -> float:
        busy, t_end = 0.0, time.perf_counter() + DURATION
        while time.perf_counter() < t_end:
            for m in models.values():
                t0 = time.perf_counter()
                run_all(m)
                busy += time.perf_counter() - t0
                time.sleep(0.004)
            time.sleep(0.02)
        return busy / DURATION

    def idle() -> float:
        time.sleep(DURATION / 2)
        return 0.0

    for m in models.values():  # warm up
        run_all(m)
    threading.Thread(target=sampler, daemon=True).start()
    out = {}
    for name, fn in (("idle", idle), ("live", live), ("record", record), ("live again", live)):
        t0 = time.perf_counter()
        duty = fn()
        s = np.array([r[1:] for r in samples if r[0] >= t0 + 1.0])  # skip the first second (1 s power averaging)
        out[name] = {"duty": round(duty, 3), "power_w": round(float(s[:, 0].mean()), 1),
                     "power_p5_p95": [round(float(v), 1) for v in np.percentile(s[:, 0], [5, 95])],
                     "sm_clock_mhz": round(float(s[:, 1].mean())), "temperature_c": round(float(s[:, 2].mean()), 1),
                     "samples": int(len(s))}
    stop.set()
    print("| pattern | busy share | power W (p5-p95) | SM clock MHz | temperature C |\n|---|---|---|---|---|")
    for k, v in out.items():
        print(f"| {k} | {v['duty']:.2f} | {v['power_w']} ({v['power_p5_p95'][0]}-{v['power_p5_p95'][1]}) | "
              f"{v['sm_clock_mhz']} | {v['temperature_c']} |")
    (HERE / "power_patterns.json").write_text(json.dumps({"duration_s": DURATION, "period_s": PERIOD, **out},
                                                         indent=1) + "\n")


if __name__ == "__main__":
    main()
