"""Send requests with mixed per-request goals to an `alert serve` deployment and summarise them.

    python3 examples/serving/fleet_mixed.py --target http://127.0.0.1:8000/ --requests 600 --qps 20 \
        --out examples/serving/results/fleet-mixed.json

Arrivals are Poisson at --qps from --concurrency client threads (each with a persistent
connection); goal kinds cycle through GOALS. Inputs are Fashion-MNIST test images (batch --batch,
normalised as the models expect), with their labels. Prints and writes (strict JSON): errors,
throughput, p50/p99 of the client-side latency, and per goal kind how often each goal was met.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import threading
import time
from collections import defaultdict
from urllib.parse import urlsplit

import numpy as np

GOALS = [
    {"deadline": 0.04},                                   # most accurate output within 40 ms
    {"deadline": 0.04, "accuracy": 0.89},                 # least energy with accuracy >= 0.89
    {"deadline": 0.025, "accuracy": 0.86},                # a tighter deadline, a lower bar
    {"deadline": 0.04, "power": 12.0},                    # most accurate within 12 W x 40 ms
    {"deadline": 0.06, "accuracy": 0.9, "pr_th": 0.9},    # Eq. 11: deadline met with Pr >= 0.9
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", required=True)
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--qps", type=float, default=20.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--warmup", type=int, default=20, help="requests before the measured ones")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from alert.live.fleet import encode_input
    from alert.nn.data import load_split

    split = load_split(args.data, "test")
    x, y = split.normalized(), split.labels.astype(int)
    u = urlsplit(args.target)
    rng = np.random.default_rng(args.seed)
    n_total = args.warmup + args.requests
    bodies = []
    for i in range(n_total):
        k = int(rng.integers(0, len(y) - args.batch))
        bodies.append({"input": encode_input(x[k:k + args.batch]), "goal": GOALS[i % len(GOALS)],
                       "label": y[k:k + args.batch].tolist()})
    payloads = [json.dumps(b).encode() for b in bodies]
    gaps = rng.exponential(1.0 / args.qps, n_total)
    work: queue.SimpleQueue = queue.SimpleQueue()
    results: list = [None] * n_total

    def client() -> None:
        conn = None
        while True:
            item = work.get()
            if item is None:
                return
            i, t_sched = item
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
                # sent_at: the replica counts the deadline from the request's scheduled issue (this
                # client shares the replica's clock)
                issued = time.time() - (time.perf_counter() - t_sched)
                payload = b'{"sent_at": %.6f, ' % issued + payloads[i][1:]
                conn.request("POST", u.path or "/", payload, {"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                body = json.loads(data) if r.status == 200 else {"error": f"HTTP {r.status}: {data[:200]!r}"}
            except (OSError, http.client.HTTPException, ValueError) as e:
                conn = None
                body = {"error": f"{type(e).__name__}: {e}"}
            results[i] = (t_sched, time.perf_counter(), body)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    load0 = os.getloadavg()
    t = time.perf_counter()
    for i in range(n_total):
        t += gaps[i]
        wait = t - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        work.put((i, t))
    for _ in threads:
        work.put(None)
    for th in threads:
        th.join(120)
    measured = [r for r in results[args.warmup:] if r is not None]
    ok = [(i, r) for i, r in enumerate(results) if i >= args.warmup and r is not None and "error" not in r[2]]
    lat = np.array([r[1] - r[0] for _, r in ok])
    span = max(r[1] for r in measured) - min(r[0] for r in measured)
    per_goal: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    models: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    client_deadline = []
    for i, (t0, t1, body) in ok:
        g = json.dumps(GOALS[i % len(GOALS)], sort_keys=True)
        for k, v in body["goals_met"].items():
            per_goal[g][k].append(bool(v))
        per_goal[g]["all"].append(bool(body["goal_met"]))
        client_deadline.append(t1 - t0 <= GOALS[i % len(GOALS)]["deadline"])
        models[g][f"{body['model']}{'' if body['stage'] is None else '@' + str(body['stage'])}:{body['setting']}"] += 1
    correct = [float(np.mean(np.asarray(body["prediction"]) == np.asarray(bodies[i]["label"])))
               for i, (_, _, body) in ok if body["prediction"] is not None]
    summary = {
        "target": args.target, "requests": len(measured), "errors": len(measured) - len(ok),
        "offered_qps": args.qps, "throughput_qps": len(ok) / span if span > 0 else None,
        "client_p50_s": float(np.percentile(lat, 50)), "client_p99_s": float(np.percentile(lat, 99)),
        "server_p50_s": float(np.percentile([r[2]["total_s"] for _, r in ok], 50)),
        "server_p99_s": float(np.percentile([r[2]["total_s"] for _, r in ok], 99)),
        "goal_met_rate": float(np.mean([r[2]["goal_met"] for _, r in ok])),
        "client_deadline_met_rate": float(np.mean(client_deadline)),
        "measured_accuracy": float(np.mean(correct)) if correct else None,
        "replicas": sorted({r[2]["replica"] for _, r in ok}),
        "per_goal": {g: {k: float(np.mean(v)) for k, v in d.items()} | {"n": len(d["all"])}
                     for g, d in per_goal.items()},
        "configurations": {g: dict(sorted(d.items(), key=lambda kv: -kv[1])) for g, d in models.items()},
        "load_average_start": [round(v, 2) for v in load0],
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
    }
    text = json.dumps(summary, indent=1, allow_nan=False)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
