#!/bin/bash
# One live fidelity check of the measured CPU platform, workload default, with the project's default
# controller (ALERT: the robust estimator) on two goals, and the paper preset (ALERT_paper) on the
# first, following examples/measured-cpu/fidelity.py (fresh 300-input trace with 8 ms gaps, paced
# runs of two 16 s cycles, GOMP_SPINCOUNT=10000). Needs root (cgroup quota), PyTorch and the
# Fashion-MNIST test files. About 5 minutes. Writes OUT (default /tmp/fid); the two comparisons
# committed here are fidelity-alert.json and fidelity-paper.json (docs/measured.md, "Out-of-sample results").
set -e
cd "$(dirname "$0")/../../../.."
export PYTHONPATH=src GOMP_SPINCOUNT=10000
A="${ALERT:-python3 -m alert}"
M="--models examples/measured-cpu/models.py:models --knob cgroup+threads --cfs-period-us 4000 --batch 16 --meter cpu-time --watts-per-core 10 --idle-power 2"
P=examples/measured-cpu/profile.json
O="${OUT:-/tmp/fid}"
mkdir -p "$O"
echo "record $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
$A trace record $M --profile $P --inputs 300 --workload default --gap 0.008 --warm-runs 0 --seed 0 --quiet --out "$O/default.npz"
G0="min-energy:deadline=0.01319,accuracy=0.9005"
G1="min-energy:deadline=0.00879,accuracy=0.8710"
run() { # goal period log policy
  n=$(python3 -c "import math; print(math.ceil(32/$2))")
  echo "run $3 $4 $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  $A run --profile $P --goal "$1" $M --inputs "$n" --period "$2" --log "$O/$3.csv" --policy "$4" --json > "$O/$3.json"
}
run "$G0" 0.01319 default-0 ALERT
run "$G1" 0.00879 default-1 ALERT
run "$G0" 0.01319 default-0-paper ALERT_paper
$A fidelity --platform examples/measured-cpu --run default "$O/default-0.csv" "$G0" --run default "$O/default-1.csv" "$G1" \
  --traces "$O" --scheme ALERT_runtime --out "$O/fidelity-alert.json"
$A fidelity --platform examples/measured-cpu --run default "$O/default-0-paper.csv" "$G0" --traces "$O" \
  --scheme ALERT_paper_runtime --out "$O/fidelity-paper.json"
