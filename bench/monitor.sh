#!/usr/bin/env bash
# Drift-monitor and data-capture benchmark (issue 6), on the real reviews:
#   (a) `sentio monitor run` over RECORDS (1,000,000) captured records in SageMaker's
#       capture shape, built from the CSV's reviews, target <= 10 s: once with the rows
#       repeated, once with every text distinct (monitor_bench --distinct); RUNS (3) runs
#       each, median reported;
#   (b) the real-data drift check: the pipeline's held-out test split must not be
#       flagged; 1-star reviews only and generated electronics/restaurant reviews (same
#       size) must be;
#   (c) capture overhead: endpoint throughput with capture at 100 % vs off, closed loop,
#       64 connections, ROUNDS alternating runs of DURATION each, target <= 5 % cost; also
#       the server process's CPU time per request (writer thread included), in total and
#       by thread name (serving threads, model thread, capture writer): steadier than the
#       throughput on a 2-core machine shared with the load generator;
#   (t) the same cost measured inside one server process: a closed-loop load test of
#       TOGGLE_DURATION (120) seconds runs while capture is switched between 0 and
#       TOGGLE_PERCENT (100) % every PHASE (5) seconds through the management API (PUT /v1/admin/capture). At
#       each switch the server's answered requests (/metrics) and CPU ticks (by thread) are
#       read, so a phase's throughput and CPU per request need no clock alignment; each
#       capture phase wholly inside the load test is compared with the mean of the two
#       capture-off phases around it. Same binary, process and memory layout; host noise
#       slower than a few seconds cancels in the pairs. TOGGLE_RUNS (3) server processes,
#       pairs pooled, bootstrap interval of the median.
# Everything is written under WORK (default /tmp/sentio-monitor-bench); the data stays
# where it is. The model is trained once by `sentio pipeline run` (SENTIO_HOME=WORK/home)
# and reused on later runs.
#
# Usage: bench/monitor.sh      Env: DATA, WORK, RECORDS, RUNS (3), DURATION (10s), ROUNDS (2),
#                              PORT, ONLY (a: only (a); ab: (a) and (b); c: only (c);
#                              t: only (t)), TOGGLE_DURATION (120), PHASE (5), TOGGLE_RUNS (3),
#                              TOGGLE_PERCENT (100), SENTIO_BIN (another build of sentio to
#                              measure).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/womens_clothing_ecommerce_reviews.csv}
WORK=${WORK:-/tmp/sentio-monitor-bench}
RECORDS=${RECORDS:-1000000}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-18190}
TARGET=${CARGO_TARGET_DIR:-target}
[ -f "$DATA" ] || { echo "no data at $DATA"; exit 1; }
mkdir -p "$WORK"
SRV=
trap '[ -n "$SRV" ] && kill "$SRV" 2>/dev/null || true' EXIT

cargo build --release -q -p sentio
cargo build --release -q -p monitoring --example monitor_bench
BIN=${SENTIO_BIN:-$TARGET/release/sentio} # SENTIO_BIN: benchmark another build
GEN=$TARGET/release/examples/monitor_bench

export SENTIO_HOME=$WORK/home
if ! ls -d "$SENTIO_HOME"/artifacts/*/baseline >/dev/null 2>&1; then
  echo "== training (sentio pipeline run) into $SENTIO_HOME"
  "$BIN" pipeline run -p input_data="$DATA" -p auto_approve=true | tail -12
fi
ART=$(dirname "$(ls -d "$SENTIO_HOME"/artifacts/*/baseline | head -1)")
TEST_HASH=$(grep -oh '"test": *"[0-9a-f]*"' "$SENTIO_HOME"/executions/*.json | head -1 | grep -o '[0-9a-f]\{64\}')
TEST=$SENTIO_HOME/artifacts/$TEST_HASH/data.jsonl
echo "model $ART"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# (a) one case: NAME, capture folder, generator flags. RUNS timed runs, then the median.
monitor_case() {
  local name=$1 cap=$2; shift 2
  echo "== (a) monitor run over $RECORDS captured records: $name"
  if [ ! -f "$cap/.done" ]; then
    rm -rf "$cap"
    "$GEN" capture "$ART" "$cap" "$RECORDS" "csv:$DATA" 16 "$@"
    touch "$cap/.done"
  fi
  echo "capture folder: $(du -sh "$cap" | cut -f1), $(find "$cap" -name '*.jsonl' | wc -l) files"
  cat "$cap"/AllTraffic/*/*/*/*/*.jsonl >/dev/null # page cache warm, as for a recent window
  local walls=()
  for i in $(seq 1 "$RUNS"); do
    echo "run $i: load average before $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -o "$WORK/time-$name" -f "%e s wall, user %U s, sys %S s, peak RSS %M KiB, CPU %P" \
      "$BIN" monitor run --capture "$cap" --baseline "$ART/baseline" \
      --out "$WORK/out-$name-$RECORDS" --threads 2 | sed -n '1,5p'
    echo "  $(cat "$WORK/time-$name")"
    walls+=("$(cut -d' ' -f1 "$WORK/time-$name")")
  done
  echo "-> $name: median wall $(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') s over $RUNS runs (target <= 10 s)"
}
if [ "${ONLY:-}" != c ] && [ "${ONLY:-}" != t ]; then
# Texts repeat: the 18,112 reviews of the CSV cycled.
monitor_case repeated "$WORK/cap-$RECORDS"
# Every text distinct: reviews with one sentence swapped for another review's.
monitor_case distinct "$WORK/cap-distinct-$RECORDS" --distinct

[ "${ONLY:-}" = a ] && exit 0

echo "== (b) drift check on the real reviews"
N=$(wc -l < "$TEST")
for case in "held-out-test-split jsonl:$TEST" "one-star-reviews csv1:$DATA" "electronics-restaurant other"; do
  set -- $case
  rm -rf "$WORK/cap-$1"
  "$GEN" capture "$ART" "$WORK/cap-$1" "$N" "$2" 4
  rc=0
  "$BIN" monitor run --capture "$WORK/cap-$1" --baseline "$ART/baseline" --out "$WORK/out-$1" \
    --fail-on-violation || rc=$?
  case "$rc" in
    0) echo "-> $1: NOT flagged" ;;
    2) echo "-> $1: FLAGGED" ;;
    *) echo "-> $1: monitor failed ($rc)"; exit 1 ;;
  esac
done

[ "${ONLY:-}" = ab ] && exit 0
fi

# Free memory before each server start. Capture files written through the page cache
# grow it by ~50 MB/s. Where the kernel takes those pages from free memory that a VM has
# handed back to its host (virtio-balloon free page reporting, as on this machine), each
# first write into a page faults on the host: ~10x the kernel time of a write into a page
# the guest already holds (2.2 vs 0.2 s per GB here). Capture files go through the page
# cache (a buffered writer), so capture's cost depends on this figure: it is printed.
page_cache() {
  echo "page cache: $(awk '/MemFree/ {printf "%.1f GiB free", $2 / 1048576}' /proc/meminfo)"
}
wait_http() { for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/ping" >/dev/null && return 0; sleep 0.1; done; echo "no answer"; exit 1; }
if [ "${ONLY:-}" = t ]; then
  TOGGLE_DURATION=${TOGGLE_DURATION:-120}
  PHASE=${PHASE:-5}
  PERCENT=${TOGGLE_PERCENT:-100}
  echo "== (t) capture switched 0 <-> $PERCENT % every $PHASE s inside one server, closed loop, 64 connections, ${TOGGLE_DURATION} s per run"
  TOKEN=bench-token
  for r in $(seq 1 "${TOGGLE_RUNS:-3}"); do
    rm -rf "$WORK/serve-capture"
    page_cache
    "$BIN" serve --model "$ART" --host 127.0.0.1 --port "$PORT" --admin-token "$TOKEN" \
      --capture-dir "$WORK/serve-capture" --capture-sampling 0 >"$WORK/serve-toggle-$r.log" 2>&1 & SRV=$!
    wait_http
    # The switcher: phases of PHASE seconds, off first; at each switch it logs the time,
    # the new percentage, the server's CPU ticks and the requests it has answered so far.
    python3 - "$PORT" "$TOKEN" "$PHASE" "$TOGGLE_DURATION" "$SRV" "$WORK/toggle-$r.json" "$PERCENT" <<'EOF' &
import json, os, sys, time, urllib.request
port, token, pid, out, on = sys.argv[1], sys.argv[2], sys.argv[5], sys.argv[6], int(sys.argv[7])
phase, total = float(sys.argv[3]), float(sys.argv[4])
base = f"http://127.0.0.1:{port}"
def put(p):
    req = urllib.request.Request(f"{base}/v1/admin/capture", method="PUT",
        data=json.dumps({"sampling_percent": p}).encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    urllib.request.urlopen(req).read()
def ticks(stat=f"/proc/{pid}/stat"):
    fields = open(stat).read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
def threads(): # CPU ticks by thread name (serving threads, model thread, capture writer)
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        name = open(f"/proc/{pid}/task/{t}/comm").read().strip()
        out[name] = out.get(name, 0) + ticks(f"/proc/{pid}/task/{t}/stat")
    return out
def answered():
    text = urllib.request.urlopen(f"{base}/metrics").read().decode()
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
               if l.startswith("sentio_http_requests_total{") and 'route="invocations"' in l)
log, start, k = [], time.time(), 0
while True:
    at = start + k * phase
    time.sleep(max(0.0, at - time.time()))
    p = on if k % 2 else 0
    put(p)
    log.append({"t": time.time(), "percent": p, "ticks": ticks(), "answered": answered(),
                "threads": threads()})
    if k * phase >= total + 1:
        break
    k += 1
json.dump(log, open(out, "w"))
EOF
    TOG=$!
    sleep 0.2
    "$BIN" loadtest "http://127.0.0.1:$PORT/invocations" --mode closed -c 64 -d "${TOGGLE_DURATION}s" \
      --payload "$DATA" --json "$WORK/lt-toggle-$r.json" >/dev/null
    wait "$TOG"
    echo "run $r: $(curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^sentio_capture_(records|dropped)_total' | tr '\n' ' ')"
    kill -INT "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=
  done
  python3 - "$WORK" "${TOGGLE_RUNS:-3}" "$(getconf CLK_TCK)" "$PERCENT" <<'EOF'
import json, random, statistics, sys
w, runs, hz, on = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
costs, cpu_deltas, on_all, off_all, thread_deltas = [], [], [], [], {}
for r in range(1, runs + 1):
    log = json.load(open(f"{w}/toggle-{r}.json"))
    lt = json.load(open(f"{w}/lt-toggle-{r}.json"))
    # Phase k runs from switch k to switch k+1: the requests the server answered in it per
    # second, and its CPU time per request. Only phases wholly inside the load test count,
    # less its first two seconds (warm-up).
    begin = lt["started_at_unix_ms"] / 1000 + 2
    end = lt["started_at_unix_ms"] / 1000 + lt["run"]["elapsed_s"]
    per_request = lambda a, b, x, y: (y - x) / hz * 1e6 / max(b["answered"] - a["answered"], 1)
    phases = [(a["percent"], (b["answered"] - a["answered"]) / (b["t"] - a["t"]),
               per_request(a, b, a["ticks"], b["ticks"]),
               {k: per_request(a, b, a["threads"].get(k, 0), v) for k, v in b["threads"].items()})
              for a, b in zip(log, log[1:]) if a["t"] >= begin and b["t"] <= end]
    n = 0
    for (p0, r0, c0, t0), (p1, r1, c1, t1), (p2, r2, c2, t2) in zip(phases, phases[1:], phases[2:]):
        if p1 == on and p0 == p2 == 0:
            off = (r0 + r2) / 2
            costs.append(1 - r1 / off)
            cpu_deltas.append(c1 - (c0 + c2) / 2)
            for k in set(t0) | set(t1) | set(t2):
                thread_deltas.setdefault(k, []).append(
                    t1.get(k, 0) - (t0.get(k, 0) + t2.get(k, 0)) / 2)
            on_all.append(r1)
            off_all.append(off)
            n += 1
    print(f"run {r}: {n} capture phases between two off phases; load test "
          f"{lt['run']['achieved_rate']:.0f} req/s over the run, {lt['run']['requests']['ok']} ok")
if not costs:
    sys.exit("no capture phase between two off phases: lengthen TOGGLE_DURATION")
med = statistics.median(costs)
random.seed(1)
boot = sorted(statistics.median(random.choices(costs, k=len(costs))) for _ in range(2000))
print(f"-> {len(costs)} capture phases, each against the mean of the off phases around it: "
      f"median cost {100 * med:.1f}% (bootstrap 95% interval of the median "
      f"{100 * boot[50]:.1f}-{100 * boot[1949]:.1f}%), mean {100 * statistics.mean(costs):.1f}%, "
      f"{sum(c > 0.05 for c in costs)} of {len(costs)} above 5% (target <= 5%)")
print(f"-> throughput (medians of phases): off {statistics.median(off_all):.0f} req/s, "
      f"capture {on}% {statistics.median(on_all):.0f} req/s")
print(f"-> server CPU per request, capture over off: median {statistics.median(cpu_deltas):+.2f} us; "
      "by thread: " + ", ".join(f"{k} {statistics.median(v):+.2f}" for k, v in sorted(thread_deltas.items())
                                if abs(statistics.median(v)) >= 0.01))
EOF
  exit 0
fi

echo "== (c) capture overhead: closed loop, 64 connections, $DURATION per run"
threads_cpu() { # PID: "name ticks" for each thread
  for t in /proc/"$1"/task/*; do echo "$(tr ' ' _ < "$t/comm") $(awk '{print $14 + $15}' "$t/stat")"; done
}
run() { # name, extra serve args...
  local name=$1; shift
  rm -rf "$WORK/serve-capture"
  page_cache
  "$BIN" serve --model "$ART" --host 127.0.0.1 --port "$PORT" "$@" >"$WORK/serve-$name.log" 2>&1 & SRV=$!
  wait_http
  # The server's CPU time (user + system clock ticks, writer thread included) over the run,
  # and each thread's (by name: serving threads, model thread, capture writer).
  local t0; t0=$(awk '{print $14 + $15}' "/proc/$SRV/stat")
  threads_cpu "$SRV" >"$WORK/threads0-$name"
  "$BIN" loadtest "http://127.0.0.1:$PORT/invocations" --mode closed -c 64 -d "$DURATION" \
    --payload "$DATA" --json "$WORK/lt-$name.json" >/dev/null
  echo "$(( $(awk '{print $14 + $15}' "/proc/$SRV/stat") - t0 )) $(getconf CLK_TCK)" >"$WORK/cpu-$name"
  threads_cpu "$SRV" >"$WORK/threads1-$name"
  kill -INT "$SRV"; wait "$SRV" 2>/dev/null || true; SRV=
  python3 - "$WORK/lt-$name.json" "$name" "$WORK/serve-capture" "$WORK/cpu-$name" "$WORK/threads0-$name" "$WORK/threads1-$name" <<'EOF'
import json, sys, os, collections
r = json.load(open(sys.argv[1]))["run"]
ticks, hz = map(int, open(sys.argv[4]).read().split())
cpu_us = ticks / hz * 1e6 / max(r['requests']['ok'], 1)
def load(f):
    d = collections.Counter()
    for line in open(f):
        k, v = line.split()
        d[k] += int(v)
    return d
a, b = load(sys.argv[5]), load(sys.argv[6])
per = {k: (b[k] - a.get(k, 0)) / hz * 1e6 / max(r['requests']['ok'], 1) for k in b}
json.dump(per, open(sys.argv[5].replace("threads0-", "threads-") + ".json", "w"))
threads = "  ".join(f"{k} {v:.2f}" for k, v in sorted(per.items()) if v >= 0.01)
cap = 0
for root, _, files in os.walk(sys.argv[3]):
    for f in files:
        if f.endswith(".jsonl"):
            cap += sum(1 for _ in open(os.path.join(root, f)))
print(f"{sys.argv[2]:<12} {r['achieved_rate']:9.1f} req/s  ok {r['requests']['ok']:>7}  "
      f"p50 {r['latency_ms']['p50_ms']:.2f} ms  p99 {r['latency_ms']['p99_ms']:.2f} ms  "
      f"server CPU {cpu_us:.2f} us/req  captured {cap}")
print(f"{'':<12} per thread, us/req: {threads}")
EOF
}
for i in $(seq 1 "$ROUNDS"); do
  run "off-$i"
  run "capture-$i" --capture-dir "$WORK/serve-capture" --capture-sampling 100
done
python3 - "$WORK" "$ROUNDS" <<'EOF'
import collections, json, sys
w, n = sys.argv[1], int(sys.argv[2])
from statistics import median
rate = lambda k: median(json.load(open(f"{w}/lt-{k}-{i}.json"))["run"]["achieved_rate"] for i in range(1, n + 1))
off, on = rate("off"), rate("capture")
print(f"-> median off {off:.1f} req/s, capture 100% {on:.1f} req/s: ratio {on / off:.3f} "
      f"(cost {100 * (1 - on / off):.1f}%, target <= 5%)")
def cpu(k):
    per = []
    for i in range(1, n + 1):
        ticks, hz = map(int, open(f"{w}/cpu-{k}-{i}").read().split())
        ok = json.load(open(f"{w}/lt-{k}-{i}.json"))["run"]["requests"]["ok"]
        per.append(ticks / hz * 1e6 / max(ok, 1))
    return median(per)
print(f"-> median server CPU per request: off {cpu('off'):.2f} us, capture {cpu('capture'):.2f} us "
      f"(+{cpu('capture') - cpu('off'):.2f} us)")
def threads(k):
    per = collections.defaultdict(list)
    for i in range(1, n + 1):
        for name, v in json.load(open(f"{w}/threads-{k}-{i}.json")).items():
            per[name].append(v)
    return {name: median(v) for name, v in per.items()}
t_off, t_on = threads("off"), threads("capture")
print("-> median CPU per request by thread (off -> capture): " + ", ".join(
    f"{name} {t_off.get(name, 0):.2f} -> {t_on.get(name, 0):.2f} us"
    for name in sorted(set(t_off) | set(t_on)) if max(t_off.get(name, 0), t_on.get(name, 0)) >= 0.01))
EOF
