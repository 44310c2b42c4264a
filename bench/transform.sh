#!/usr/bin/env bash
# Batch-transform benchmark (issue 5): a 200,000-record jsonlines file of real reviews
# (built from ../shared/data, rows repeated; nothing copied into the repo), the default
# model, and in the same run:
#   (a) the in-process batched Predictor over the same texts (in memory, chunks of 256),
#   (b) the transform (`sentio transform` arguments) under /usr/bin/time -v for peak RSS,
#   (c) `sentio transform` over the same reviews as a text file (one review a line) and
#   (d) `sentio predict < that file`, both timed as whole processes (model load included),
#       alternating which goes first.
# Targets: (b) ≥ 80 % of (a) in records/s, peak RSS ≤ 1 GiB; (d) within 20 % of (c).
# RUNS runs each; medians and min–max.
# With BIG=1, also (c): one transform of a ~2 GiB file (BIG_BYTES) with its resident memory
# sampled every 0.5 s, to show it stays flat while the file streams through.
#
# Usage: bench/transform.sh [MODEL_DIR]   (default /tmp/sentio-bench-model, trained if absent)
# Env: RECORDS (200000), RUNS (3), BIG (0), BIG_BYTES (2147483648), DATA (../shared/data/womens_clothing_ecommerce_reviews.csv),
#      PREDICT_ONLY (0; 1: only (c) and (d))
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RECORDS=${RECORDS:-200000}
RUNS=${RUNS:-3}
DATA=${DATA:-../shared/data/womens_clothing_ecommerce_reviews.csv}
MODEL=${1:-/tmp/sentio-bench-model}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cargo build --release -q -p transform --example transform_bench
cargo build --release -q --bin sentio
BIN=${CARGO_TARGET_DIR:-target}/release/examples/transform_bench
SENTIO=${CARGO_TARGET_DIR:-target}/release/sentio
if [ ! -f "$MODEL/config.json" ]; then
  "$SENTIO" train --data "$DATA" --out "$MODEL"
fi

"$BIN" make-input "$DATA" "$WORK/reviews.jsonl" "$RECORDS"
echo "input: $RECORDS records, $(du -h "$WORK/reviews.jsonl" | cut -f1)"
jq -r '.review_body | gsub("[\r\n]+"; " ")' "$WORK/reviews.jsonl" | grep -v '^[[:space:]]*$' > "$WORK/reviews.txt"
LINES=$(wc -l < "$WORK/reviews.txt")

# records/s of one whole process: N, then the command
timed() {
  local n=$1 t0 t1; shift
  t0=$EPOCHREALTIME; "$@"; t1=$EPOCHREALTIME
  awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", n / (b - a) }'
}
transform_txt() { rm -rf "$WORK/out-txt"; "$SENTIO" transform --model "$MODEL" --input "$WORK/reviews.txt" --output "$WORK/out-txt" --quiet > /dev/null; }
predict_txt() { "$SENTIO" predict --model "$MODEL" --device cpu < "$WORK/reviews.txt" > "$WORK/predicted.jsonl"; }

: > "$WORK/a"; : > "$WORK/b"; : > "$WORK/rss"; : > "$WORK/c"; : > "$WORK/d"
for i in $(seq 1 "$RUNS"); do
  if [ $((i % 2)) = 1 ]; then
    timed "$LINES" transform_txt >> "$WORK/c"; timed "$LINES" predict_txt >> "$WORK/d"
  else
    timed "$LINES" predict_txt >> "$WORK/d"; timed "$LINES" transform_txt >> "$WORK/c"
  fi
  echo "run $i: transform (text) $(tail -1 "$WORK/c") rec/s, predict (stdin) $(tail -1 "$WORK/d") rec/s"
  [ "${PREDICT_ONLY:-0}" = 1 ] && continue
  "$BIN" predictor "$MODEL" "$WORK/reviews.jsonl" | sed -n 's/.*"records_per_second": \([0-9.]*\).*/\1/p' >> "$WORK/a"
  rm -rf "$WORK/out"
  /usr/bin/time -v -o "$WORK/time" "$SENTIO" transform --model "$MODEL" --input "$WORK/reviews.jsonl" \
      --output "$WORK/out" --input-filter '$.review_body' --quiet > "$WORK/summary.json"
  sed -n 's/.*"records_per_second": \([0-9.]*\).*/\1/p' "$WORK/summary.json" >> "$WORK/b"
  awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time" >> "$WORK/rss"
  echo "run $i: predictor $(tail -1 "$WORK/a") rec/s, transform $(tail -1 "$WORK/b") rec/s, peak RSS $(tail -1 "$WORK/rss") KiB"
done
echo "(c) transform over the text file: $(stats < "$WORK/c") records/s (median, min–max)"
echo "(d) predict over standard input:   $(stats < "$WORK/d") records/s (median, min–max)"
echo "predicted lines: $(wc -l < "$WORK/predicted.jsonl") of $LINES"
awk -v c="$(median < "$WORK/c")" -v d="$(median < "$WORK/d")" 'BEGIN {
  printf "predict / transform: %.1f%% (target >= 80%%)\n", 100 * d / c }'
[ "${PREDICT_ONLY:-0}" = 1 ] && exit 0
A=$(median < "$WORK/a"); B=$(median < "$WORK/b"); RSS=$(median < "$WORK/rss")
echo "records in output: $(wc -l < "$WORK/out/reviews.jsonl.out"), failed: $(grep -o '"failed": [0-9]*' "$WORK/summary.json" | head -1)"
awk -v a="$A" -v b="$B" -v rss="$RSS" 'BEGIN {
  printf "median in-process predictor: %.0f records/s\nmedian transform: %.0f records/s (%.1f%% of the predictor; target >= 80%%)\nmedian peak RSS: %.0f MiB (target <= 1024 MiB)\n", a, b, 100*b/a, rss/1024 }'

[ "${BIG:-0}" = 1 ] || exit 0
BIG_BYTES=${BIG_BYTES:-2147483648}
PER=$(( $(stat -c %s "$WORK/reviews.jsonl") / RECORDS ))
N=$(( BIG_BYTES / PER + 1 ))
rm -rf "$WORK/out" "$WORK/reviews.jsonl"
"$BIN" make-input "$DATA" "$WORK/big.jsonl" "$N"
echo "(c) input: $N records, $(du -h "$WORK/big.jsonl" | cut -f1)"
/usr/bin/time -v -o "$WORK/time" "$SENTIO" transform --model "$MODEL" --input "$WORK/big.jsonl" \
    --output "$WORK/out" --input-filter '$.review_body' --quiet > "$WORK/summary.json" &
sleep 0.2
PID=$(pgrep -n -f "sentio transform --model") # the transform itself, not time
: > "$WORK/rss-trace"
while kill -0 "$PID" 2>/dev/null; do
  r=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status" 2>/dev/null || true)
  [ -n "$r" ] && echo "$EPOCHREALTIME $r" >> "$WORK/rss-trace"
  sleep 0.5
done
wait
sed -n 's/.*"records_per_second": \([0-9.]*\).*/(c) transform: \1 records\/s/p' "$WORK/summary.json"
echo "(c) records in output: $(wc -l < "$WORK/out/big.jsonl.out"), output $(du -h "$WORK/out/big.jsonl.out" | cut -f1), peak RSS $(( $(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time") / 1024 )) MiB"
awk 'NR == 1 { t0 = $1 } { t[NR] = $1 - t0; r[NR] = $2; if ($2 > peak) peak = $2 } END {
  printf "(c) resident memory (MiB) at 10/25/50/75/95 %% of the run: %.0f / %.0f / %.0f / %.0f / %.0f; peak %.0f over %.0f s (%d samples)\n",
    r[int(NR*0.10)+1]/1024, r[int(NR*0.25)+1]/1024, r[int(NR*0.5)+1]/1024, r[int(NR*0.75)+1]/1024, r[int(NR*0.95)+1]/1024, peak/1024, t[NR], NR }' "$WORK/rss-trace"
