#!/bin/sh
# The measurements of docs/serving.md: the measured CPU platform (examples/measured-cpu: the
# shipped Fashion-MNIST depth family, batch 16, cgroup CPU quota + threads, 4 ms CFS period) under
# MLPerf LoadGen and behind Ray Serve. Needs root (cgroup quota), torch, mlcommons-loadgen,
# ray[serve] and the Fashion-MNIST files. Each run is short (20-45 s); all of them take about
# 20 minutes. Summaries go to examples/serving/results/, LoadGen's logs to $RUNS.
#   sh examples/serving/measure.sh [single|server|fleet|all]
set -e
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
cd "$(dirname "$0")/../.."
RES=examples/serving/results
RUNS=${RUNS:-/tmp/alert-serving-runs}
PY=${PY:-python3}
D=examples/measured-cpu
COMMON="--profile $D/profile.json --models $D/models.py:models --knob cgroup+threads --cfs-period-us 4000 --batch 16"
DEADLINE=${DEADLINE:-0.02}   # SingleStream deadline
SLO=${SLO:-0.05}             # Server: p99 latency SLO
MOST_ACCURATE="depth-4:1c"    # the most accurate model at its fastest quota in the quiet profile
alert() { PYTHONPATH=src nice -n -10 $PY -m alert "$@"; }
keep() { cp "$RUNS/$1/summary.json" "$RES/$1.json"; gzip -c "$RUNS/$1/queries.csv" > "$RES/$1.queries.csv.gz"; }
mkdir -p "$RES" "$RUNS"
what=${1:-all}

if [ "$what" = single ] || [ "$what" = all ]; then
  # SingleStream, compute contention switching on/off every 5 s (2 workers), 40 s per policy
  for p in ${POLICIES:-alert paper static-best $MOST_ACCURATE}; do
    n=ss-$(echo "$p" | tr ':@' '__')
    alert loadgen $COMMON --scenario single-stream --goal max-accuracy:deadline=$DEADLINE --policy "$p" \
      --duration 40 --contend compute --on 5 --off 5 --out "$RUNS/$n" --json > /dev/null
    keep "$n"
  done
fi

if [ "$what" = server ] || [ "$what" = all ]; then
  # Server: Poisson arrivals, p99 latency SLO, 20 s per point
  for q in ${QPS:-5 10 20 30 40}; do
    for p in ${POLICIES:-alert paper static-best $MOST_ACCURATE}; do
      n=server-q$q-$(echo "$p" | tr ':@' '__')
      alert loadgen $COMMON --scenario server --qps "$q" --goal max-accuracy:deadline=$SLO --policy "$p" \
        --duration 20 --max-duration 40 --out "$RUNS/$n" --json > /dev/null
      keep "$n"
    done
  done
fi

if [ "$what" = fleet ] || [ "$what" = all ]; then
  # Ray Serve: 2 replicas, each its own controller and cgroup quota; mixed per-request goals, then
  # LoadGen's Server scenario over HTTP and the same load in process
  PORT=${PORT:-8765}
  FQPS=${FQPS:-20}
  rm -f "$RUNS/serve.log"  # a previous run's "replicas at http" line must not pass for this one's
  PYTHONPATH=src nice -n -10 $PY -m alert serve $(echo "$COMMON" | sed 's/--batch 16//') --replicas 2 --cpus-per-replica 1 --num-cpus 2 \
    --port "$PORT" --duration 400 > "$RUNS/serve.log" 2>&1 &
  SERVE=$!
  trap 'kill -TERM $SERVE 2>/dev/null; wait $SERVE' EXIT
  for _ in $(seq 180); do
    grep -q "replicas at http" "$RUNS/serve.log" 2>/dev/null && break; sleep 1
  done
  grep -q "replicas at http" "$RUNS/serve.log" || { echo "alert serve did not start: see $RUNS/serve.log" >&2; exit 1; }
  PYTHONPATH=src nice -n -10 $PY examples/serving/fleet_mixed.py --target "http://127.0.0.1:$PORT/" \
    --requests 600 --qps "$FQPS" --out "$RES/fleet-mixed.json" > /dev/null
  alert loadgen --target "http://127.0.0.1:$PORT/" --scenario server --qps "$FQPS" --batch 16 \
    --goal max-accuracy:deadline=0.04 --duration 20 --out "$RUNS/fleet-loadgen" --json > /dev/null
  keep fleet-loadgen
  kill -TERM $SERVE; wait $SERVE || true
  trap - EXIT
  alert loadgen $COMMON --scenario server --qps "$FQPS" --goal max-accuracy:deadline=0.04 \
    --duration 20 --out "$RUNS/inprocess-loadgen" --json > /dev/null
  keep inprocess-loadgen
fi
ls /sys/fs/cgroup/cpu 2>/dev/null | grep '^alert-' && echo "warning: a cgroup was left behind" >&2 || true
