#!/bin/sh
# How examples/cpu-quota.json (and its per-input trace) were recorded: five real PyTorch models
# (examples/cpu-quota-models.py) under six cgroup v1 CPU quotas on a 2-core machine with no RAPL.
# Needs root (the profiler moves itself into a cgroup it creates and removes) and PyTorch.
# Energy is the CPU-time model (10 W per busy core + 2 W idle): this machine has no energy counter.
set -e
cd "$(dirname "$0")/.."
PYTHONPATH=src python3 -m alert profile \
  --models examples/cpu-quota-models.py:models \
  --knob cgroup --cfs-period-us 4000 --threads 1 --batch 32 \
  --settings 0.25 0.4 0.55 0.7 0.85 1.0 \
  --meter cpu-time --watts-per-core 10 --idle-power 2 \
  --repeats 30 --warmup 3 --accuracy-samples 2000 \
  --name cpu-quota --out examples/cpu-quota.json --trace examples/cpu-quota-trace.npz
