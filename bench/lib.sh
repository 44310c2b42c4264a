# Shared helpers of the bench/*.sh scripts; source it: `. "$(dirname "$0")/lib.sh"`.

# median of the numbers on stdin (one a line); empty input prints nothing
median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# "median (min-max)" of the numbers on stdin, printf format FMT (default %.0f)
stats() {
  local fmt=${1:-%.0f}
  sort -g | awk -v f="$fmt" '{ v[NR] = $1 } END {
    if (!NR) { print "n/a"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
    printf f " (" f "–" f ")\n", m, v[1], v[NR] }'
}

# first numeric value of "KEY": in a JSON file (the loadtest report's field order puts
# run.latency_ms before service_time_ms, so p50_ms/p99_ms are the latency ones)
json_field() { # FILE KEY
  grep -o "\"$2\": [0-9.e+-]*" "$1" | head -1 | awk '{ print $2 }'
}

# wait until http://127.0.0.1:PORT/PATH answers 2xx (30 s at most)
wait_http() { # PORT PATH
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$1$2" >/dev/null && return 0
    sleep 0.1
  done
  echo "no answer on port $1" >&2
  return 1
}

# one line of machine information: CPUs, memory, CPU model
machine_info() {
  echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem/ { print $2 }') GiB memory, $(uname -m)"
}

# the data file argument, or the shared reviews; stops when it is missing
reviews_data() { # [FILE]
  local d=${1:-../shared/data/womens_clothing_ecommerce_reviews.csv}
  [ -f "$d" ] || { echo "no data at $d (see ../shared/data/README.md)" >&2; exit 1; }
  echo "$d"
}

# the sentio binary to measure: $BIN when set, else a fresh release build
sentio_bin() {
  if [ -n "${BIN:-}" ]; then echo "$BIN"; return; fi
  scripts/setup.sh >&2
  cargo build --release -q -p sentio >&2
  echo target/release/sentio
}

# release builds of sentio and the endpoint_bench example, then the model to serve: MODEL
# when given, else a fastText artifact generated under DIR (printed)
release_model() { # DIR [MODEL]
  cargo build --release -q --bin sentio >&2
  cargo build --release -q -p serve --example endpoint_bench >&2
  if [ -n "${2:-}" ]; then echo "$2"; return; fi
  target/release/examples/endpoint_bench make-model "$1/model" >/dev/null
  echo "$1/model"
}
