#!/usr/bin/env bash
# Endpoint A/B of two builds (issue 16's target: an architecture step must keep the
# endpoint's throughput and p99 within the run-to-run spread of the build before it).
# The endpoint of an older revision (OLD) and of the working tree run alternately in one
# run — old, new, old, new, … — each time in a fresh server on the same kind of generated
# model, single-review JSON to /invocations (bench/endpoint_post.lua) at concurrency 64 and
# then 1. Each new run is compared with the mean of the old runs on either side of it, so a
# drift of the machine over the run is not charged to either build.
#
# Usage: bench/endpoint_ab.sh
# Env: OLD (git revision; default d72e940^, the build before the monitoring-crate step),
#      ROUNDS (5), DURATION (10s per load phase), WARMUP (2s), THREADS (wrk threads, 2),
#      PORT (18090), OLD_DIR (where OLD is unpacked and built; default target/ab-old, a full
#      release build the first time, reused while OLD stays the same).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
OLD=${OLD:-d72e940^}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-2}
PORT=${PORT:-18090}
OLD_DIR=${OLD_DIR:-target/ab-old}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "wrk not found (apt-get install wrk)"; exit 1; }
OLD_REV=$(git rev-parse --verify "$OLD^{commit}")

echo "== building new (working tree) and old ($OLD = ${OLD_REV:0:10})"
cargo build --release -q -p serve --example endpoint_bench
NEW_BIN=target/release/examples/endpoint_bench
if [ "$(cat "$OLD_DIR/rev" 2>/dev/null)" != "$OLD_REV" ]; then
  rm -rf "$OLD_DIR/src"
  mkdir -p "$OLD_DIR/src"
  git archive "$OLD_REV" | tar -x -C "$OLD_DIR/src"
  echo "$OLD_REV" > "$OLD_DIR/rev"
fi
# Built from inside the repository so that its .cargo/config.toml (libtorch) applies.
(cd "$OLD_DIR/src" && cargo build --release -q -p serve --example endpoint_bench \
  --target-dir "$PWD/../target")
OLD_BIN=$OLD_DIR/target/release/examples/endpoint_bench

"$OLD_BIN" make-model "$WORK/model-old" >/dev/null
"$NEW_BIN" make-model "$WORK/model-new" >/dev/null

# wrk's 99th percentile in milliseconds (it prints us, ms or s).
p99_ms() { awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
  print (u == "us" ? v / 1000 : u == "s" ? v * 1000 : v) }' "$1"; }
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
non2xx() { awk '/Non-2xx/ {print $NF}' "$1"; }

one_run() { # build round
  local bin model out
  if [ "$1" = old ]; then bin=$OLD_BIN; model=$WORK/model-old; else bin=$NEW_BIN; model=$WORK/model-new; fi
  "$bin" serve "$model" "$PORT" > "$WORK/server-$1-$2.log" 2>&1 & local srv=$!
  wait_http "$PORT" /ping
  wrk -t"$THREADS" -c64 -d"$WARMUP" -s bench/endpoint_post.lua "http://127.0.0.1:$PORT" >/dev/null
  for c in 64 1; do
    out=$WORK/$1-$2-c$c.txt
    wrk -t"$([ "$c" -lt "$THREADS" ] && echo "$c" || echo "$THREADS")" -c"$c" -d"$DURATION" --latency \
      -s bench/endpoint_post.lua "http://127.0.0.1:$PORT" > "$out"
    [ -z "$(non2xx "$out")" ] || { echo "$1 round $2 c=$c: $(non2xx "$out") non-2xx answers"; exit 1; }
    printf '%s %s %s %s %s\n' "$1" "$2" "$c" "$(rps "$out")" "$(p99_ms "$out")" | tee -a "$WORK/results.txt"
  done
  kill -INT "$srv"; wait "$srv" 2>/dev/null || true
}

echo "== build round concurrency req/s p99_ms"
for r in $(seq 1 "$ROUNDS"); do
  one_run old "$r"
  one_run new "$r"
done
one_run old $((ROUNDS + 1))

python3 - "$WORK/results.txt" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
val = {(b, int(r), int(c)): (float(q), float(p)) for b, r, c, q, p in rows}
rounds = sorted({int(r) for b, r, *_ in rows if b == "new"})
def span(xs):
    return f"median {statistics.median(xs):.3f} (min {min(xs):.3f}, max {max(xs):.3f})"
for c in (64, 1):
    print(f"== concurrency {c}")
    for b in ("old", "new"):
        q = [v[0] for k, v in val.items() if k[0] == b and k[2] == c]
        p = [v[1] for k, v in val.items() if k[0] == b and k[2] == c]
        print(f"  {b}: req/s median {statistics.median(q):.0f} ({min(q):.0f}-{max(q):.0f}), "
              f"p99 ms median {statistics.median(p):.2f} ({min(p):.2f}-{max(p):.2f})")
    for i, name in ((0, "req/s"), (1, "p99")):
        ratios = []
        for r in rounds:
            around = [val[("old", r, c)][i], val[("old", r + 1, c)][i]]
            ratios.append(val[("new", r, c)][i] / statistics.mean(around))
        # the old build's own spread: each old run against the mean of its neighbours
        olds = sorted(r for (b, r, cc) in val if b == "old" and cc == c)
        own = [val[("old", r, c)][i] / statistics.mean([val[("old", r - 1, c)][i], val[("old", r + 1, c)][i]])
               for r in olds[1:-1]]
        print(f"  new/old {name}: {span(ratios)}; old against its neighbours: {span(own) if own else 'n/a'}")
EOF
