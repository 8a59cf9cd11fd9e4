#!/bin/sh
# Re-record the measured CPU platform of this machine (examples/measured-cpu/):
#   profile-block.json  alert profile: per-stage accuracy (2000 held-out test images) and
#                       back-to-back timings, 4 models x 5 cgroup CPU quotas
#   quiet.npz, profile.json   a quiet recording of QUIET_INPUTS inputs with the same procedure as the
#                       traces (every configuration per input, shuffled, one CFS period of metered idle
#                       after each run); profile.json = its means + profile-block's accuracies
#   default.npz memory.npz compute.npz   per-input traces (alert trace record), every input under
#                       every configuration, contention switching on and off on a schedule
# Needs root (cgroup v1/v2 CPU quota), PyTorch (pip install torch==2.13.0) and the Fashion-MNIST
# files (apt-get install -y dataset-fashion-mnist). About 6-10 minutes on 2 idle cores.
# The quiet profile must be recorded on a quiet machine: the script waits (up to WAIT_S seconds)
# until the 1-minute load average is below MAX_LOAD and records the load it saw.
# Energy is the CPU-time model (10 W per busy core + 2 W idle): this machine has no energy counter.
# OpenMP: intra-op threads spin GOMP_SPINCOUNT iterations at a barrier, then sleep. The default
# (300k) keeps the second thread of a two-thread run spinning for over 10 ms after it, burning CPU
# through the inputs that follow; 10k ends the spin within about 2 ms at no measurable latency cost.
set -e
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
cd "$(dirname "$0")/../.."
D=examples/measured-cpu
INPUTS=${INPUTS:-300}
QUIET_INPUTS=${QUIET_INPUTS:-60}
MAX_LOAD=${MAX_LOAD:-0.5}
WAIT_S=${WAIT_S:-1800}
COMMON="--models $D/models.py:models --knob cgroup+threads --cfs-period-us 4000 --batch 16"
SETTINGS="0.25 0.5 0.75 1.0 2.0"
alert() { PYTHONPATH=src python3 -m alert "$@"; }

waited=0
while [ "$(awk '{print ($1 < '"$MAX_LOAD"') ? 1 : 0}' /proc/loadavg)" != 1 ]; do
  if [ "$waited" -ge "$WAIT_S" ]; then echo "load average still $(cut -d' ' -f1 /proc/loadavg) >= $MAX_LOAD" >&2; exit 1; fi
  sleep 10; waited=$((waited + 10))
done
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average $LOAD: recording the quiet profile"
[ "${REUSE_BLOCK:-0}" = 1 ] && [ -f $D/profile-block.json ] || \
alert profile $COMMON --settings $SETTINGS --meter cpu-time --watts-per-core 10 --idle-power 2 \
  --repeats 20 --warmup 5 --accuracy-samples 2000 --name this-cpu --out $D/profile-block.json --quiet
alert trace record $COMMON --profile $D/profile-block.json --inputs "$QUIET_INPUTS" --workload default \
  --gap 0.004 --meter cpu-time --watts-per-core 10 --idle-power 2 --seed 1 --quiet \
  --out $D/quiet.npz --profile-out $D/profile.json
PYTHONPATH=src python3 - "$D/profile.json" "$LOAD" <<'PY'
import json, os, sys
p, load = sys.argv[1], sys.argv[2]
d = json.load(open(p))
d.setdefault("metadata", {})["load_average"] = [float(v) for v in load.split()]
d["metadata"]["environment"] = {"GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT")}
json.dump(d, open(p, "w"), indent=1)
PY
for w in default memory compute; do
  alert trace record $COMMON --profile $D/profile.json --inputs "$INPUTS" --workload $w --on 8 --off 8 \
    --gap 0.004 --meter cpu-time --watts-per-core 10 --idle-power 2 --seed 0 --quiet --out $D/$w.npz
done
alert doctor >/dev/null 2>&1 || true
ls /sys/fs/cgroup/cpu 2>/dev/null | grep '^alert-' && echo "warning: a cgroup was left behind" >&2 || true
