#!/usr/bin/env bash
# Endpoint benchmark (issue 4): single-review JSON requests at concurrency 64 against
#   (a) the in-process batched Predictor (tokenization included),
#   (b) a trivial hyper endpoint under the same load generator,
#   (c) the real endpoint (front proxy + batching + JSON),
# and the endpoint at concurrency 1. Reports req/s and p50/p99, and the ≥ 80 % target
# against c = 1 / (1/a + 1/b).
#
# Usage: bench/endpoint.sh [MODEL_DIR]   (default: a generated fastText artifact)
# Env: DURATION (10s), THREADS (wrk threads, 2), CONNS (64), PORT_BASE (18080).
# Load generator: wrk (Debian package) with bench/endpoint_post.lua; the loadtest crate's
# generator can replace it once stable.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
PORT_BASE=${PORT_BASE:-18080}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)"; exit 1; }
cargo build --release -q -p serve --example endpoint_bench
BIN=target/release/examples/endpoint_bench

MODEL=${1:-}
if [ -z "$MODEL" ]; then
  MODEL="$WORK/model"
  "$BIN" make-model "$MODEL" >/dev/null
fi

wait_http() { for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$1$2" >/dev/null && return 0; sleep 0.1; done; echo "no answer on $1"; exit 1; }
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
pct() { awk -v p="$2" '$1 == p {print $2}' "$1"; }
run_wrk() { # port conns out
  wrk -t"$([ "$2" -lt "$THREADS" ] && echo "$2" || echo "$THREADS")" -c"$2" -d"$DURATION" --latency \
      -s bench/endpoint_post.lua "http://127.0.0.1:$1" > "$3"
}

echo "== (a) in-process batched predictor"
"$BIN" throughput "$MODEL" "$CONNS" 10 | tee "$WORK/a.txt"
A=$(awk '/in-process/ {print $4}' "$WORK/a.txt")

echo "== (b) trivial hyper endpoint, c=$CONNS"
"$BIN" trivial $((PORT_BASE + 1)) & TRIV=$!
sleep 0.5
run_wrk $((PORT_BASE + 1)) "$CONNS" "$WORK/b.txt"
kill $TRIV; wait $TRIV 2>/dev/null || true
B=$(rps "$WORK/b.txt")
echo "req/s $B  p50 $(pct "$WORK/b.txt" 50%)  p99 $(pct "$WORK/b.txt" 99%)"

echo "== (c) sentio endpoint, c=$CONNS"
"$BIN" serve "$MODEL" $((PORT_BASE + 2)) & SRV=$!
wait_http $((PORT_BASE + 2)) /ping
run_wrk $((PORT_BASE + 2)) "$CONNS" "$WORK/c.txt"
E=$(rps "$WORK/c.txt")
echo "req/s $E  p50 $(pct "$WORK/c.txt" 50%)  p99 $(pct "$WORK/c.txt" 99%)  non-2xx: $(grep -c 'Non-2xx' "$WORK/c.txt" || true)"

echo "== (d) sentio endpoint, c=1"
run_wrk $((PORT_BASE + 2)) 1 "$WORK/d.txt"
echo "req/s $(rps "$WORK/d.txt")  p50 $(pct "$WORK/d.txt" 50%)  p99 $(pct "$WORK/d.txt" 99%)"
kill -INT $SRV; wait $SRV 2>/dev/null || true

awk -v a="$A" -v b="$B" -v e="$E" 'BEGIN {
  c = 1 / (1 / a + 1 / b);
  printf "== target: c = 1/(1/a + 1/b) = %.0f req/s; endpoint %.0f req/s = %.0f%% of c (goal >= 80%%)\n", c, e, 100 * e / c
}'
