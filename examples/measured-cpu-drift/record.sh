#!/bin/sh
# Record the drifting-contention CPU platform of this machine (examples/measured-cpu-drift/): the
# models and settings of examples/measured-cpu (same models.py, cgroup CPU quota 0.25-2 cores, CFS
# period 4 ms, batch 16, CPU-time energy model), with the profile re-measured the same way, and
# workload traces whose contention follows a schedule of three levels plus a slow drift instead of
# switching on and off:
#   profile-block.json  alert profile: per-stage accuracy (2000 held-out test images) and back-to-back
#                       timings, 4 models x 5 quotas
#   quiet.npz, profile.json   QUIET_INPUTS inputs recorded like the traces with no contention;
#                       profile.json = its means + profile-block's accuracies (platform this-cpu-drift)
#   default.npz         INPUTS inputs, no contention
#   drift-compute.npz drift-memory.npz   INPUTS inputs each, every input under every configuration,
#                       contention workers (one per CPU) following LEVELS plus the drift
# The level schedule (alert.system.contend.LevelSchedule): LEVEL:SECONDS steps, cycled; a level is
# the share of the workers kept busy (0.4 of 2 workers = one worker busy 80 % of every 50 ms duty
# period); the drift adds DRIFT_AMPLITUDE x (1 - cos(2 pi t / DRIFT_PERIOD)) / 2 on top. The trace's
# state is the step's level (0, 1, 2 = levels 0, 0.4, 0.8); metadata.contention_intensity keeps the
# scheduled intensity (drift included) per input.
# Needs root (cgroup CPU quota; nice), PyTorch and the Fashion-MNIST files, as record.sh of
# examples/measured-cpu. Every command runs under `nice -n NICE` (default -15: the recorder and its
# contention workers ahead of other jobs of a shared machine); the quota cgroup gets the same CPU weight
# (cpu.shares 29154 at nice -15), so inference and workers compete as in examples/measured-cpu (both at
# the default weight there) and both ahead of other jobs. About 12 minutes on 2 idle cores.
# Before recording, the script waits in 60 s steps (up to WAIT_S) while the 1-minute load average is
# at or above MAX_LOAD, then records anyway and keeps the load it saw in the metadata.
set -e
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
cd "$(dirname "$0")/../.."
D=${OUT_DIR:-examples/measured-cpu-drift}
PYTHON=${PYTHON:-python3}
INPUTS=${INPUTS:-600}
QUIET_INPUTS=${QUIET_INPUTS:-60}
MAX_LOAD=${MAX_LOAD:-1.5}
WAIT_S=${WAIT_S:-600}
NICE=${NICE:--15}
LEVELS=${LEVELS:-0:10,0.8:10,0.4:10}
DRIFT="--drift-amplitude ${DRIFT_AMPLITUDE:-0.2} --drift-period ${DRIFT_PERIOD:-120} --drift-shape ${DRIFT_SHAPE:-sine}"
COMMON="--models examples/measured-cpu/models.py:models --knob cgroup+threads --cfs-period-us 4000 --batch 16"
METER="--meter cpu-time --watts-per-core 10 --idle-power 2"
SETTINGS="0.25 0.5 0.75 1.0 2.0"
alert() { PYTHONPATH=src nice -n "$NICE" "$PYTHON" -m alert "$@"; }

waited=0
while [ "$(awk '{print ($1 < '"$MAX_LOAD"') ? 1 : 0}' /proc/loadavg)" != 1 ] && [ "$waited" -lt "$WAIT_S" ]; do
  echo "load average $(cut -d' ' -f1 /proc/loadavg) >= $MAX_LOAD: waiting 60 s" >&2
  sleep 60; waited=$((waited + 60))
done
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average $LOAD after waiting $waited s: recording"
T0=$(date +%s)
alert profile $COMMON --settings $SETTINGS $METER --repeats 20 --warmup 5 --accuracy-samples 2000 \
  --name this-cpu-drift --out $D/profile-block.json --quiet
alert trace record $COMMON --profile $D/profile-block.json --inputs "$QUIET_INPUTS" --workload default \
  --gap 0.004 $METER --seed 1 --quiet --out $D/quiet.npz --profile-out $D/profile.json
PYTHONPATH=src "$PYTHON" - "$D/profile.json" "$LOAD" "$waited" "$NICE" <<'PY'
import json, os, sys
p, load, waited, nice = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
d = json.load(open(p))
m = d.setdefault("metadata", {})
m["load_average"] = [float(v) for v in load.split()]
m["waited_for_load_s"] = int(waited)
m["nice"] = int(nice)
m["environment"] = {"GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT")}
json.dump(d, open(p, "w"), indent=1)
PY
alert trace record $COMMON --profile $D/profile.json --inputs "$INPUTS" --workload default \
  --gap 0.004 $METER --seed 0 --quiet --out $D/default.npz
for w in compute memory; do
  alert trace record $COMMON --profile $D/profile.json --inputs "$INPUTS" --workload $w --levels "$LEVELS" $DRIFT \
    --gap 0.004 $METER --seed 0 --quiet --name this-cpu-drift-$w --out $D/drift-$w.npz
done
echo "recorded in $(( $(date +%s) - T0 )) s; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
ls /sys/fs/cgroup/cpu 2>/dev/null | grep '^alert-' && echo "warning: a cgroup was left behind" >&2 || true
