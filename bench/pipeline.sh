#!/usr/bin/env bash
# The default pipeline on the real reviews data: a cold run, then an identical rerun
# answered from the step cache. Prints wall times and the orchestration overhead.
#   bench/pipeline.sh [data.csv] [extra --param name=value ...]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/womens_clothing_ecommerce_reviews.csv}
shift || true
scripts/setup.sh
cargo build --release -q -p sentio
BIN=target/release/sentio
export SENTIO_HOME=$(mktemp -d)
trap 'rm -rf "$SENTIO_HOME"' EXIT
PARAMS=(--param "input_data=$DATA" --param device=cpu "$@")
echo "== cold run"
/usr/bin/time -f "wall %es, max RSS %MKB" "$BIN" pipeline run "${PARAMS[@]}"
echo "== identical rerun (cached)"
/usr/bin/time -f "wall %es, max RSS %MKB" "$BIN" pipeline run "${PARAMS[@]}"
echo "== registry"
"$BIN" registry list
