#!/bin/sh
# Record the measured GPU platform (examples/measured-gpu/) on a machine with an NVIDIA GPU,
# READ-ONLY: no clock, power-limit or other device setting is changed. The platform's only
# setting is the GPU as it is (the simulated knob with one level records the value and changes
# nothing), so ALERT chooses the model and the anytime stage; power comes from NVML samples.
#   profile-block.json  alert profile: per-stage accuracy (2000 held-out test images) and back-to-back timings
#   quiet.npz, profile.json   a quiet recording of QUIET_INPUTS inputs with the trace procedure;
#                       profile.json = its means + profile-block's accuracies
#   default.npz memory.npz compute.npz   per-input traces (alert trace record): every input under every
#                       candidate, host-CPU contention (alert contend workers, one per CPU) switching on/off
#   gpu-before.txt gpu-after.txt   the device settings nvidia-smi reads before and after (they must match)
# Needs PyTorch with CUDA, nvidia-ml-py and the Fashion-MNIST test files (DATA=folder).
# METER=cpu-time and ALERT_MODELS_DEVICE=cpu give a smoke run without a GPU.
set -e
cd "$(dirname "$0")/../.."
D=${OUT_DIR:-examples/measured-gpu}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
INPUTS=${INPUTS:-400}
QUIET_INPUTS=${QUIET_INPUTS:-100}
ON=${ON:-4}
OFF=${OFF:-4}
METER=${METER:-nvml}
NAME=${NAME:-gpu}
mkdir -p "$D"
M="--meter $METER"
[ "$METER" = cpu-time ] && M="$M --watts-per-core 10 --idle-power 2"
COMMON="--models examples/measured-gpu/models.py:models --knob simulated --batch 16 --data $DATA"
alert() { PYTHONPATH=src python3 -m alert "$@"; }
smi() { command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,persistence_mode,compute_mode,power.limit,enforced.power.limit,clocks.applications.graphics,clocks.applications.memory --format=csv || echo "no nvidia-smi"; }

smi > "$D/gpu-before.txt"
alert profile $COMMON --settings 1 $M --repeats 50 --warmup 10 --idle-window 0.5 \
  --accuracy-samples 2000 --name "$NAME" --out "$D/profile-block.json" --quiet
alert trace record $COMMON --profile "$D/profile-block.json" $M --idle-window 0.02 --gap 0.004 \
  --inputs "$QUIET_INPUTS" --workload default --seed 1 --quiet --out "$D/quiet.npz" --profile-out "$D/profile.json"
for w in default memory compute; do
  alert trace record $COMMON --profile "$D/profile.json" $M --idle-window 0.02 --gap 0.004 \
    --inputs "$INPUTS" --workload $w --on "$ON" --off "$OFF" --seed 0 --quiet --out "$D/$w.npz"
done
smi > "$D/gpu-after.txt"
if cmp -s "$D/gpu-before.txt" "$D/gpu-after.txt"; then echo "device settings unchanged"; else
  echo "warning: nvidia-smi reads differ before and after (see $D/gpu-*.txt)" >&2; fi
