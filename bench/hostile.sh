#!/usr/bin/env bash
# Hostile clients (issue 23): the figures of its closing note.
#   1. Well-behaved clients (sentio loadtest, closed loop) alone, then with SLOW slow-body
#      and IDLE idle connections open (bench/hostile.py attack): throughput kept (goal
#      ≥ 90 %), 429s (goal 0), /ping latency on fresh connections (goal < 100 ms).
#   2. SIGTERM under CONNS keep-alive connections, RUNS times (bench/hostile.py sigterm):
#      requests lost (goal 0 in every run).
# The server is the real `sentio serve` (release build) with its default limits.
#
# Usage: bench/hostile.sh [MODEL_DIR]   (default: a generated fastText artifact)
# Env: SLOW (1000), IDLE (1000), LOAD_CONNS (16), DURATION (10), CONNS (64), RUNS (10),
#      PORT (18180).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SLOW=${SLOW:-1000}
IDLE=${IDLE:-1000}
LOAD_CONNS=${LOAD_CONNS:-16}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
RUNS=${RUNS:-10}
PORT=${PORT:-18180}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
# The attack's own sockets need file descriptors too.
ulimit -n "$(ulimit -Hn)"

MODEL=$(release_model "$WORK" "${1:-}")
BIN=target/release/sentio
echo "machine: $(machine_info)"

start_server() {
  SENTIO_LOG=warn "$BIN" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" --device cpu \
    2>>"$WORK/server.log" &
  SRV=$!
  wait_http "$PORT" /ping
}

load() { # OUT.json
  "$BIN" loadtest --mode closed -c "$LOAD_CONNS" -d "${DURATION}s" --json "$1" \
    "http://127.0.0.1:$PORT/invocations" >/dev/null 2>&1
}
rps() { json_field "$1" achieved_rate; }
status_count() { # FILE CODE
  grep -o "\"$2\": [0-9]*" "$1" | head -1 | awk '{ print $2 }'
}

echo "== 1. well-behaved load alone, then with $SLOW slow-body and $IDLE idle connections"
start_server
load "$WORK/alone.json"
ALONE=$(rps "$WORK/alone.json")
# The attacker shares the two cores with the server and the load generator: its CPU time
# is reported, so a drop in throughput can be told apart from the CPU it takes itself.
/usr/bin/time -f '%e %U %S' -o "$WORK/attack.time" \
  python3 bench/hostile.py attack "$PORT" "$SLOW" "$IDLE" $((DURATION + 10)) > "$WORK/attack.json" &
ATTACK=$!
# Measure once the attack is fully open (hostile.py waits for that before probing).
sleep 8
load "$WORK/attacked.json"
wait $ATTACK
UNDER=$(rps "$WORK/attacked.json")
kill -TERM $SRV; wait $SRV 2>/dev/null || true
echo "alone:        $ALONE req/s, 429s: $(status_count "$WORK/alone.json" 429 || echo 0)"
echo "under attack: $UNDER req/s, 429s: $(status_count "$WORK/attacked.json" 429 || echo 0)"
awk -v a="$ALONE" -v u="$UNDER" 'BEGIN { printf "kept: %.1f%% of the throughput alone (goal >= 90%%)\n", 100 * u / a }'
echo "attack: $(cat "$WORK/attack.json")"
awk '{ printf "attacker CPU: %.1f s over %.1f s wall (%.0f%% of one core)\n", $2 + $3, $1, 100 * ($2 + $3) / $1 }' "$WORK/attack.time"

echo "== 2. SIGTERM under $CONNS keep-alive connections, $RUNS runs"
LOST_TOTAL=0
for i in $(seq 1 "$RUNS"); do
  start_server
  R=$(python3 bench/hostile.py sigterm "$PORT" "$SRV" "$CONNS")
  wait $SRV 2>/dev/null && CODE=0 || CODE=$?
  echo "run $i: exit $CODE $R"
  LOST=$(echo "$R" | grep -o '"lost": [0-9]*' | awk '{ print $2 }')
  LOST_TOTAL=$((LOST_TOTAL + LOST))
done
echo "lost over $RUNS runs: $LOST_TOTAL (goal 0)"
