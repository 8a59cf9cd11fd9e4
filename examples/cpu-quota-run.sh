#!/bin/sh
# A live run on this 2-core machine: ALERT (the default controller), the paper preset and the best
# static configuration of the quiet profile
# (examples/cpu-quota.json) serve the same 400 paced inputs (32 Fashion-MNIST images each, one every
# 30 ms) with a compute contention job (one worker per CPU) switching on and off every 3 s.
# Goal: the most accurate output within 16 ms. Needs root (cgroup quota) and PyTorch.
# The per-input logs are examples/cpu-quota-run-{alert,paper,static}.csv (packaged with alert: the
# report's Figure 13).
set -e
cd "$(dirname "$0")/.."
for policy in alert paper static-best; do
  out=examples/cpu-quota-run-$(echo $policy | sed 's/-best//').csv
  PYTHONPATH=src python3 -m alert run \
    --profile examples/cpu-quota.json --goal max-accuracy:deadline=0.016 \
    --models examples/cpu-quota-models.py:models \
    --knob cgroup --cfs-period-us 4000 --threads 1 --batch 32 \
    --inputs 400 --period 0.03 --contend compute --on 3 --off 3 \
    --policy $policy --log "$out" --json
done
