#!/usr/bin/env bash
# Training and inference benchmark of the default model on the real reviews
# (../shared/data, seeded 80/10/10 split): balanced accuracy on the test split, wall time
# of train+evaluate, training examples/s, then batched CPU inference for batches of 1, 32
# and 256. Runs RUNS times (default 3) and prints each run; report the median.
#   bench/train.sh [DATA.csv]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/womens_clothing_ecommerce_reviews.csv}
runs=${RUNS:-3}
scripts/setup.sh
cargo build --release -q -p sentio -p train --example predict_bench
out=$(mktemp -d)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -m); $(date -u +%F)"
for i in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  target/release/sentio train --data "$data" --out "$out/model" --device cpu > "$out/log" 2>&1
  end=$(date +%s.%N)
  bal=$(awk '/^ *balanced/ {print $2}' "$out/log")
  eps=$(grep -o '[0-9]* examples/s' "$out/log" | tail -1)
  printf 'run %d: balanced accuracy %s, train+evaluate %.1f s wall, %s\n' "$i" "$bal" "$(echo "$end - $start" | bc)" "$eps"
done
target/release/examples/predict_bench "$out/model" "$data" 1
rm -rf "$out"
