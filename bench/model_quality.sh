#!/usr/bin/env bash
# Model quality by cross-validation on the real reviews (issue 20): `sentio evaluate --cv K`
# for each seed in SEEDS (each seed deals different folds and initialises differently), for
# the default settings and for each extra configuration named in CONFIGS, all in one run.
# Prints, per configuration, the balanced accuracy over all folds of all seeds (mean ± sample
# standard deviation, min–max), each seed's mean, macro-F1, and the training seconds per
# fold. Nothing is written into the repository.
#   bench/model_quality.sh [DATA.csv]
# Env: SEEDS ("42 7 9"), K (5), BIN (target/release/sentio; built when it is the default),
#      CONFIGS: extra configurations, `name=flags` separated by `;`, e.g.
#        CONFIGS='tuned=--lr 0.002 --dim 80;quality=--preset quality'
#      (the quality preset fine-tunes MiniLM-L6: hours per seed on a 2-core CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
data=$(reviews_data "${1:-}")
seeds=${SEEDS:-42 7 9}
k=${K:-5}
bin=$(sentio_bin)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "machine: $(machine_info); $(date -u +%F)"
echo "$k-fold cross-validation, seeds: $seeds"
configs="default=;${CONFIGS:-}"
IFS=';' read -ra entries <<< "$configs"
for entry in "${entries[@]}"; do
  [ -n "$entry" ] || continue
  name=${entry%%=*}
  read -ra flags <<< "${entry#*=}"
  for s in $seeds; do
    start=$(date +%s.%N)
    "$bin" evaluate --cv "$k" --seed "$s" --device cpu --log warn --data "$data" \
      --out "$out/$name-$s.json" "${flags[@]}" > "$out/$name-$s.log" 2>&1 ||
      { cat "$out/$name-$s.log" >&2; exit 1; }
    echo "$(date +%s.%N) - $start" | bc > "$out/$name-$s.wall"
  done
  python3 - "$out" "$name" "${entry#*=}" $seeds <<'PY'
import json, statistics as st, sys
out, name, flags, seeds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
ba, f1, secs, per_seed = [], [], [], []
for s in seeds:
    folds = json.load(open(f"{out}/{name}-{s}.json"))["folds"]
    b = [f["balanced_accuracy"] for f in folds]
    ba += b; f1 += [f["macro_f1"] for f in folds]; secs += [f["train_seconds"] for f in folds]
    per_seed.append(f"{st.mean(b):.4f}")
print(f"{name} ({flags or 'default settings'}): balanced accuracy {st.mean(ba):.4f} ± {st.stdev(ba):.4f} "
      f"({min(ba):.4f}–{max(ba):.4f}) over {len(ba)} folds; per seed {', '.join(per_seed)}; "
      f"macro-F1 {st.mean(f1):.4f} ± {st.stdev(f1):.4f}; training {st.median(secs):.1f} s per fold "
      f"(median; {min(secs):.1f}–{max(secs):.1f})")
PY
done
