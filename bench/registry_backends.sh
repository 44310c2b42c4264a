#!/usr/bin/env bash
# Registry operations on PostgreSQL against SQLite (issue 22's target: PostgreSQL within
# 2x of SQLite's latency for the same sequence, local server, same machine). The same
# sequence (register, describe by id and by number, approve, list the group, history,
# record a deployment; ROUNDS rounds) runs RUNS times on each store, alternating:
#   SQLite: WAL, synchronous=NORMAL (as sentio.db is opened)
#   PostgreSQL (default durability: fsync, synchronous_commit=on)
#   PostgreSQL (synchronous_commit=off: the durability of SQLite's synchronous=NORMAL)
# Prints per-run sequence times, medians with min-max, and the ratios of medians.
#   bench/registry_backends.sh   Env: ROUNDS (200), RUNS (5)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
. bench/pg.sh
ROUNDS=${ROUNDS:-200}
RUNS=${RUNS:-5}
cargo build --release -q -p pipeline --example registry_ops
BIN=target/release/examples/registry_ops
WORK=$(mktemp -d)
trap 'pg_stop; rm -rf "$WORK"' EXIT
chmod 755 "$WORK"

echo "machine: $(machine_info)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sequence: $ROUNDS rounds of 7 registry operations; $RUNS runs per store, alternating"
mkdir -p "$WORK/pg"
pg_start "$WORK/pg"
echo "PostgreSQL: $("$PG_BIN/postgres" --version)"
seq_ms() { awk '/^sequence/ { print $5 }' "$1"; }
: >"$WORK/sqlite.txt"; : >"$WORK/pg.txt"; : >"$WORK/pg_async.txt"
for i in $(seq "$RUNS"); do
  "$BIN" "sqlite:$WORK/sqlite-$i/sentio.db" "$ROUNDS" >"$WORK/sqlite-$i.out"
  seq_ms "$WORK/sqlite-$i.out" >>"$WORK/sqlite.txt"
  "$BIN" "$PG_URL" "$ROUNDS" >"$WORK/pg-$i.out"
  seq_ms "$WORK/pg-$i.out" >>"$WORK/pg.txt"
  "$BIN" "$PG_URL_ASYNC" "$ROUNDS" >"$WORK/pga-$i.out"
  seq_ms "$WORK/pga-$i.out" >>"$WORK/pg_async.txt"
  echo "  run $i: sqlite $(tail -1 "$WORK/sqlite.txt") ms, postgres $(tail -1 "$WORK/pg.txt") ms, postgres (synchronous_commit=off) $(tail -1 "$WORK/pg_async.txt") ms"
done
S=$(median <"$WORK/sqlite.txt"); P=$(median <"$WORK/pg.txt"); PA=$(median <"$WORK/pg_async.txt")
echo "sequence ms, median (min-max):"
echo "  sqlite                              $(stats %.1f <"$WORK/sqlite.txt")"
echo "  postgres                            $(stats %.1f <"$WORK/pg.txt")   ratio $(awk -v a="$P" -v b="$S" 'BEGIN { printf "%.2f", a / b }')x"
echo "  postgres, synchronous_commit=off    $(stats %.1f <"$WORK/pg_async.txt")   ratio $(awk -v a="$PA" -v b="$S" 'BEGIN { printf "%.2f", a / b }')x"
echo "per operation, last run (median / p90 us):"
paste <(awk '/^op/ { $1=""; print }' "$WORK/sqlite-$RUNS.out") <(awk '/^op/ { print "| pg", $(NF-2), $NF }' "$WORK/pg-$RUNS.out")
