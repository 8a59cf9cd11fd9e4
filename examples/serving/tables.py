"""Print the tables of docs/serving.md from examples/serving/results/ (written by measure.sh).

    python3 examples/serving/tables.py
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from pathlib import Path

RES = Path(__file__).resolve().parent / "results"


def ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1e3:.1f}"


def pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def num(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None else f"{v:{spec}}"


def rows(name: str) -> list[dict[str, str]]:
    with gzip.open(RES / f"{name}.queries.csv.gz", "rt") as fh:
        return list(csv.DictReader(io.StringIO(fh.read())))


def met_by_state(name: str) -> dict[str, float]:
    out: dict[str, list[bool]] = {}
    for r in rows(name):
        if r.get("error"):
            continue
        out.setdefault(r["state"] or "-", []).append("deadline=1" in r["goals_met"])
    return {k: sum(v) / len(v) for k, v in out.items()}


def single() -> None:
    files = sorted(RES.glob("ss-*.json"))
    if not files:
        return
    print("| policy | LoadGen result | LoadGen p90 (ms) | deadline met (on / off) | delivered accuracy | measured "
          "accuracy | mean quota (cores) | energy per query (mJ) | configurations (top 3) | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for f in files:
        s = json.loads(f.read_text())
        st = met_by_state(f.stem)
        lg = s["loadgen"]
        top = ", ".join(f"{k} {v}" for k, v in list(s["configurations"].items())[:3])
        print(f"| {s['policy']} | {lg['result']} (early stopping {lg['early_stopping_satisfied']}) | "
              f"{ms(lg['p90_s'])} | {pct(s['deadline_met_rate'])} ({pct(st.get('on'))} / {pct(st.get('off'))}) | "
              f"{num(s['delivered_accuracy'])} | {num(s['measured_accuracy'])} | {num(s['mean_setting_value'], '.2f')} | "
              f"{num(s['mean_energy_j'] and s['mean_energy_j'] * 1e3, '.0f')} | {top} | "
              f"{s['load_average_start'][0]} → {s['load_average_end'][0]} |")
    print()


def server() -> None:
    files = sorted(RES.glob("server-q*.json"), key=lambda f: (int(re.search(r"q(\d+)", f.stem).group(1)), f.stem))
    if not files:
        return
    print("| QPS | policy | LoadGen result | LoadGen p99 (ms) | p99 ≤ SLO | achieved QPS | deadline met | delivered "
          "accuracy | mean quota | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    broke: dict[str, float] = {}
    for f in files:
        s = json.loads(f.read_text())
        lg = s["loadgen"]
        p99 = lg["p99_s"]
        ok = p99 is not None and p99 <= s["deadline_s"]
        if not ok and s["policy"] not in broke:
            broke[s["policy"]] = s["target_qps"]
        print(f"| {s['target_qps']:g} | {s['policy']} | {lg['result']} | {ms(p99)} | {'yes' if ok else 'no'} | "
              f"{num(lg['qps'], '.1f')} | {pct(s['deadline_met_rate'])} | {num(s['delivered_accuracy'])} | "
              f"{num(s['mean_setting_value'], '.2f')} | {s['load_average_start'][0]} → {s['load_average_end'][0]} |")
    print()
    print("First QPS at which LoadGen's p99 exceeds the SLO:",
          ", ".join(f"{p} {q:g}" for p, q in broke.items()) or "none in the sweep")
    print()


def fleet() -> None:
    mixed = RES / "fleet-mixed.json"
    if mixed.exists():
        m = json.loads(mixed.read_text())
        print(f"Ray Serve, {len(m['replicas'])} replicas, {m['requests']} requests with mixed goals at "
              f"{m['offered_qps']:g} QPS offered: {m['errors']} errors, throughput {m['throughput_qps']:.1f} QPS, "
              f"client p50 / p99 {ms(m['client_p50_s'])} / {ms(m['client_p99_s'])} ms, replica-side (sent_at, or "
              f"arrival at the replica, to output) p50 / p99 {ms(m['server_p50_s'])} / {ms(m['server_p99_s'])} ms, every goal of "
              f"the request met on {pct(m['goal_met_rate'])}, measured accuracy {num(m['measured_accuracy'])}, load "
              f"avg {m['load_average_start'][0]} → {m['load_average_end'][0]}")
        print()
        print("| goal | requests | all met | deadline | accuracy | energy | configurations (top 3) |")
        print("|---|---|---|---|---|---|---|")
        for g, d in m["per_goal"].items():
            top = ", ".join(f"{k} {v}" for k, v in list(m["configurations"][g].items())[:3])
            print(f"| `{g}` | {d['n']} | {pct(d['all'])} | {pct(d.get('deadline'))} | {pct(d.get('accuracy'))} | "
                  f"{pct(d.get('energy'))} | {top} |")
        print()
    lines = []
    for name, label in (("inprocess-loadgen", "in process"), ("fleet-loadgen", "Ray Serve, 2 replicas, over HTTP")):
        f = RES / f"{name}.json"
        if f.exists():
            s = json.loads(f.read_text())
            lg = s["loadgen"]
            lines.append(f"| {label} | {s['target_qps']:g} | {lg['result']} | {num(lg['qps'], '.1f')} | {ms(lg['p50_s'])} | "
                         f"{ms(lg['p99_s'])} | {pct(s['deadline_met_rate'])} | {num(s['delivered_accuracy'])} | "
                         f"{s['errors']} | {s['load_average_start'][0]} → {s['load_average_end'][0]} |")
    if lines:
        print("| system | QPS | LoadGen result | achieved QPS | p50 (ms) | p99 (ms) | deadline met | delivered accuracy "
              "| errors | load avg |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(lines))


if __name__ == "__main__":
    single()
    server()
    fleet()
