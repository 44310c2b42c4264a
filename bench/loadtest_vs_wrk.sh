#!/usr/bin/env bash
# loadtest vs wrk against a trivial hyper endpoint, same machine, same run.
#
#  1. closed loop: wrk and `sentio loadtest` alternately, the same connection count,
#     each pinned to the same CPU (taskset), the server pinned to another;
#     prints the median (min-max) req/s of each over RUNS runs;
#  2. open loop at RATE req/s: loadtest's achieved vs intended rate.
#
# Run on demand (not in CI): bench/loadtest_vs_wrk.sh
# Knobs (environment): RUNS=5 CONNS=16 DURATION=5s RATE=10000 OPEN_DURATION=10s
#                      OPEN_CONNS=64 SERVER_CPU=0 GEN_CPU=1 CLIENT=lean|hyper
set -euo pipefail

RUNS=${RUNS:-5}
CONNS=${CONNS:-16}
DURATION=${DURATION:-5s}
RATE=${RATE:-10000}
OPEN_DURATION=${OPEN_DURATION:-10s}
OPEN_CONNS=${OPEN_CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
CLIENT=${CLIENT:-lean}
# sentio logs at info by default; the generator's log lines are not wanted here.
export SENTIO_LOG=${SENTIO_LOG:-warn}

cd "$(dirname "$0")/.."
root=$(pwd)
. bench/lib.sh

if ! command -v wrk >/dev/null; then
  echo "wrk not found; installing the Debian package" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk
fi

cargo build --release -q -p sentio --bin sentio
cargo build --release -q -p loadtest --example trivial_server
sentio="$root/target/release/sentio"
server="$root/target/release/examples/trivial_server"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

taskset -c "$SERVER_CPU" "$server" --addr 127.0.0.1:0 --threads 1 >"$work/server.out" &
server_pid=$!
for _ in $(seq 100); do
  grep -q "listening on" "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
addr=$(sed -n 's/^listening on //p' "$work/server.out")
[ -n "$addr" ] || { echo "trivial_server did not start" >&2; exit 1; }
url="http://$addr/invocations"

# Both generators send the same request: POST, JSON content type, one review.
review="Love this dress, the fabric is soft and it fits perfectly."
printf '{"text": "%s"}\n' "$review" >"$work/payload.jsonl"
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"instances":["$review"]}'
wrk.headers["Content-Type"] = "application/json"
EOF

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server: trivial_server on CPU $SERVER_CPU; generators on CPU $GEN_CPU, one thread each"
echo "request: POST, application/json, one review (the same bytes from both); loadtest client: $CLIENT"
echo "closed loop: $CONNS connections, $DURATION per run, $RUNS runs each, alternating"

: >"$work/wrk.txt"; : >"$work/lt.txt"; : >"$work/lt_p99.txt"
for i in $(seq "$RUNS"); do
  taskset -c "$GEN_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" -s "$work/post.lua" "$url" >"$work/wrk.out"
  awk '/Requests\/sec/ { print $2 }' "$work/wrk.out" >>"$work/wrk.txt"
  taskset -c "$GEN_CPU" "$sentio" loadtest "$url" --mode closed -c "$CONNS" -d "$DURATION" \
    --threads 1 --client "$CLIENT" --payload "$work/payload.jsonl" --json "$work/lt.json" \
    --quiet >/dev/null
  json_field "$work/lt.json" achieved_rate >>"$work/lt.txt"
  json_field "$work/lt.json" p99_ms >>"$work/lt_p99.txt"
  echo "  run $i: wrk $(tail -1 "$work/wrk.txt") req/s, loadtest $(tail -1 "$work/lt.txt") req/s"
done
echo "wrk      closed loop req/s: $(stats <"$work/wrk.txt")"
echo "loadtest closed loop req/s: $(stats <"$work/lt.txt")  (p99 ms: $(median <"$work/lt_p99.txt"))"

echo "open loop: $RATE req/s intended, $OPEN_CONNS connections, $OPEN_DURATION, 3 runs"
: >"$work/open.txt"
for i in 1 2 3; do
  taskset -c "$GEN_CPU" "$sentio" loadtest "$url" --mode open -r "$RATE" -c "$OPEN_CONNS" \
    -d "$OPEN_DURATION" --threads 1 --json "$work/open.json" --quiet >/dev/null
  achieved=$(json_field "$work/open.json" achieved_rate)
  p50=$(json_field "$work/open.json" p50_ms)
  p99=$(json_field "$work/open.json" p99_ms)
  unsent=$(json_field "$work/open.json" unsent)
  echo "$achieved" >>"$work/open.txt"
  echo "  run $i: achieved $achieved req/s (unsent $unsent), p50 $p50 ms, p99 $p99 ms (from intended send times)"
done
echo "loadtest open loop achieved req/s at $RATE intended: $(stats <"$work/open.txt")"
