#!/usr/bin/env bash
# The front proxy over 1, 2, 4 and 8 `sentio serve --worker` processes on loopback (issue
# 22's target: throughput near-linear in workers until the proxy itself saturates). Each
# worker serves the same model with a fixed latency injected after every batch
# (--bench-inject-latency-ms, a test-and-benchmark-only flag) and batches of one, so a
# worker answers at most 1000/LATENCY_MS requests a second whatever the machine, and the
# two cores are not the limit. The reference, measured in the same run: one worker
# alone, without the proxy. Closed loop, CONNS connections, RUNS runs of DURATION each.
# Prints req/s (median, min-max) per worker count, and the ratio to N x the reference.
#   bench/proxy_scaling.sh   Env: LATENCY_MS (10), CONNS (64), DURATION (8s), RUNS (3),
#                                  WORKERS ("1 2 4 8"), PORT_BASE (19080)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
LATENCY_MS=${LATENCY_MS:-10}
CONNS=${CONNS:-64}
DURATION=${DURATION:-8s}
RUNS=${RUNS:-3}
WORKERS=${WORKERS:-"1 2 4 8"}
PORT_BASE=${PORT_BASE:-19080}
cargo build --release -q -p sentio -p serve --example endpoint_bench
SENTIO=target/release/sentio
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
target/release/examples/endpoint_bench make-model "$WORK/model" >/dev/null
export SENTIO_LOG=warn

start_worker() { # INDEX
  "$SENTIO" serve --worker --model "$WORK/model" --host 127.0.0.1 --port $((PORT_BASE + 1 + $1)) \
    --device cpu --runtime-threads 1 --max-batch-size 1 --bench-inject-latency-ms "$LATENCY_MS" \
    --home "$WORK/home" >/dev/null 2>&1 &
}
load() { # URL OUT
  "$SENTIO" loadtest "$1" --mode closed -c "$CONNS" -d "$DURATION" --threads 1 --json "$2" --quiet >/dev/null
  json_field "$2" achieved_rate
}

echo "machine: $(machine_info)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "worker: batches of 1, ${LATENCY_MS} ms injected per batch (at most $((1000 / LATENCY_MS)) req/s each)"
echo "load: sentio loadtest, closed loop, $CONNS connections, $DURATION per run, $RUNS runs"
MAXW=$(echo "$WORKERS" | tr ' ' '\n' | sort -n | tail -1)
for i in $(seq 0 $((MAXW - 1))); do start_worker "$i"; done
for i in $(seq 0 $((MAXW - 1))); do wait_http $((PORT_BASE + 1 + i)) /ping; done

: >"$WORK/ref.txt"
for r in $(seq "$RUNS"); do load "http://127.0.0.1:$((PORT_BASE + 1))/invocations" "$WORK/ref-$r.json" >>"$WORK/ref.txt"; done
REF=$(median <"$WORK/ref.txt")
echo "reference, one worker without the proxy: $(stats %.0f <"$WORK/ref.txt") req/s"
printf '%-8s %-26s %s\n' workers "req/s median (min-max)" "ratio to N x reference"
for n in $WORKERS; do
  ups=$(for i in $(seq 0 $((n - 1))); do printf 'w%d=http://127.0.0.1:%d,' "$i" $((PORT_BASE + 1 + i)); done)
  "$SENTIO" serve --upstream "${ups%,}" --host 127.0.0.1 --port "$PORT_BASE" --device cpu \
    --home "$WORK/home" >/dev/null 2>&1 & PROXY=$!
  wait_http "$PORT_BASE" /ping
  : >"$WORK/p$n.txt"
  for r in $(seq "$RUNS"); do load "http://127.0.0.1:$PORT_BASE/invocations" "$WORK/p$n-$r.json" >>"$WORK/p$n.txt"; done
  kill "$PROXY"; wait "$PROXY" 2>/dev/null || true
  M=$(median <"$WORK/p$n.txt")
  printf '%-8s %-26s %s\n' "$n" "$(stats %.0f <"$WORK/p$n.txt")" "$(awk -v m="$M" -v r="$REF" -v n="$n" 'BEGIN { printf "%.2f", m / (n * r) }')"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
