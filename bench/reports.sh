#!/usr/bin/env bash
# Experiment reports over a large capture (issue 23's third target): `sentio serve` with two
# variants, capture at 100 % and a state directory; an experiment over both; the capture
# filled to CAPTURE_MB by closed-loop traffic; then, while light traffic goes on (open loop
# at RATE req/s, so every report has new records to read), CLIENTS clients each request
# GET /experiments/ab1 ROUNDS times. Prints the first wave's latency (the first report
# reads the whole capture; concurrent requests for it wait for that one read), the p50/p99
# of every later request, and the server's resident memory before the first report, after
# the last, and at its peak (goals: p99 < 100 ms after the first, growth < 100 MB).
#   bench/reports.sh [MODEL_DIR]   (default: a generated fastText artifact)
# Env: CAPTURE_MB (1024), CLIENTS (8), ROUNDS (25), RATE (1000), PORT (18190).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
CAPTURE_MB=${CAPTURE_MB:-1024}
CLIENTS=${CLIENTS:-8}
ROUNDS=${ROUNDS:-25}
RATE=${RATE:-1000}
PORT=${PORT:-18190}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
MODEL=$(release_model "$WORK" "${1:-}")
BIN=target/release/sentio
echo "machine: $(machine_info)"
mkdir -p "$WORK/capture"
"$BIN" experiment --state-dir "$WORK/state" create --id ab1 --variant A --variant B >/dev/null
SENTIO_LOG=warn "$BIN" serve --variant "A=$MODEL" --variant "B=$MODEL" --host 127.0.0.1 \
  --port "$PORT" --device cpu --capture-dir "$WORK/capture" --capture-sampling 100 \
  --state-dir "$WORK/state" 2>>"$WORK/server.log" &
SRV=$!
wait_http "$PORT" /ping
rss() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' "/proc/$SRV/status"; }

start=$(date +%s)
while [ "$(du -sm "$WORK/capture" | cut -f1)" -lt "$CAPTURE_MB" ]; do
  "$BIN" loadtest --mode closed -c 64 -d 10s "http://127.0.0.1:$PORT/invocations" >/dev/null 2>&1
done
echo "capture: $(du -sm "$WORK/capture" | cut -f1) MB in $(( $(date +%s) - start )) s"

"$BIN" loadtest --mode open --rate "$RATE" -c 16 -d 600s "http://127.0.0.1:$PORT/invocations" \
  >/dev/null 2>&1 &
LOAD=$!
BEFORE=$(rss VmRSS)
python3 - "$PORT" "$CLIENTS" "$ROUNDS" <<'PY'
import http.client, json, statistics, sys, threading, time
port, clients, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
first, rest, bad = [], [], []
lock = threading.Lock()
def client():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    for i in range(rounds):
        t = time.perf_counter()
        c.request("GET", "/experiments/ab1")
        r = c.getresponse(); body = r.read()
        ms = (time.perf_counter() - t) * 1000
        with lock:
            (first if i == 0 else rest).append(ms)
            if r.status != 200: bad.append(r.status)
    c.close()
threads = [threading.Thread(target=client) for _ in range(clients)]
[t.start() for t in threads]; [t.join() for t in threads]
rest.sort()
p = lambda q: rest[min(len(rest) - 1, int(q * len(rest)))]
print(f"first wave ({clients} concurrent): {min(first):.0f}–{max(first):.0f} ms")
print(f"later requests: {len(rest)}, p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {rest[-1]:.1f} ms (goal p99 < 100 ms); non-200: {len(bad)}")
PY
AFTER=$(rss VmRSS)
echo "server RSS: $BEFORE MB before the first report, $AFTER MB after the last (growth $((AFTER - BEFORE)) MB, goal < 100), peak $(rss VmHWM) MB"
kill $LOAD 2>/dev/null || true
