#!/usr/bin/env bash
# Tuning on the real reviews (issue 20): `sentio tune` over examples/tune-space.toml with
# STRATEGIES (asha, then tpe), TRIALS trials each, 3-fold validation, PARALLEL trials at
# once. Prints each job's wall time and the top of its leaderboard, where the row marked
# `start` is the default settings scored on the same folds: the gain of tuning is the
# best row against it, to be read against the ± spread over folds.
#   bench/tune.sh [DATA.csv]
# Env: TRIALS (32), STRATEGIES ("asha tpe"), PARALLEL (2), SEED (1), TOP (6),
#      BIN (target/release/sentio; built when it is the default).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
data=$(reviews_data "${1:-}")
bin=$(sentio_bin)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "machine: $(machine_info); $(date -u +%F)"
for strategy in ${STRATEGIES:-asha tpe}; do
  start=$(date +%s.%N)
  "$bin" tune --data "$data" --space examples/tune-space.toml --strategy "$strategy" \
    --trials "${TRIALS:-32}" --folds 3 --parallel "${PARALLEL:-2}" --seed "${SEED:-1}" \
    --device cpu --no-model --out "$out/$strategy" --log warn > "$out/$strategy.log" 2>&1 ||
    { cat "$out/$strategy.log" >&2; exit 1; }
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  printf '%s: %.0f s wall\n' "$strategy" "$wall"
  "$bin" tune describe "$out/$strategy" | head -n $((3 + ${TOP:-6}))
  echo
done
