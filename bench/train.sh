#!/usr/bin/env bash
# Training and inference benchmark of the default model on the real reviews
# (../shared/data, seeded 80/10/10 split): balanced accuracy on the test split, wall time
# of train+evaluate, training examples/s, then batched CPU inference for batches of 1, 32
# and 256. Runs RUNS times (default 3) and prints each run and the medians.
#   bench/train.sh [DATA.csv]
# Env: RUNS (3), EPOCHS (unset: the architecture's default), PREDICT (1; 0 skips inference),
#      PRESET (unset: the default model; `quality` fine-tunes MiniLM-L6: ~20 min per epoch
#      on a 2-core CPU), DEVICE (cpu; cuda on a GPU machine)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
data=${1:-../shared/data/womens_clothing_ecommerce_reviews.csv}
runs=${RUNS:-3}
epochs=()
[ -z "${EPOCHS:-}" ] || epochs=(--epochs "$EPOCHS")
[ -z "${PRESET:-}" ] || epochs+=(--preset "$PRESET")
scripts/setup.sh
cargo build --release -q -p sentio -p train --example predict_bench
out=$(mktemp -d)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -m); $(date -u +%F)"
for i in $(seq 1 "$runs"); do
  rm -rf "$out/model"  # train refuses to overwrite an artifact
  start=$(date +%s.%N)
  target/release/sentio train --data "$data" --out "$out/model" --device "${DEVICE:-cpu}" "${epochs[@]}" > "$out/log" 2>&1
  end=$(date +%s.%N)
  bal=$(awk '/^ *balanced/ {print $2}' "$out/log")
  eps=$(grep -o '[0-9]* examples/s' "$out/log" | tail -1)
  wall=$(echo "$end - $start" | bc)
  echo "$wall" >> "$out/wall"; echo "${eps% examples/s}" >> "$out/eps"
  printf 'run %d: balanced accuracy %s, train+evaluate %.1f s wall, %s\n' "$i" "$bal" "$wall" "$eps"
done
echo "median train+evaluate: $(stats %.1f < "$out/wall") s wall, $(stats < "$out/eps") examples/s"
[ "${PREDICT:-1}" = 0 ] || target/release/examples/predict_bench "$out/model" "$data" 1
rm -rf "$out"
