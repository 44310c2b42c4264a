#!/usr/bin/env bash
# Console page-render benchmark (issue 19): a home generated with 1,000 executions (8 step
# runs each), 200 model versions with their history and 30 days of hourly drift reports
# (720 monitoring_report.json), then every page and its JSON requested REQUESTS (200)
# times one after another from a console on 127.0.0.1:0; p50/p99/max per page. Target:
# p99 < 50 ms for every page. The table goes to stdout (bench/console_results.md keeps
# the last figures).
#
# Usage: bench/console.sh      Env: REQUESTS (200), PROFILE (release)
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE=${PROFILE:-release}
cargo build -q --profile "$PROFILE" -p console@0.1.0 --example render_bench
dir=$([ "$PROFILE" = dev ] || [ "$PROFILE" = test ] && echo debug || echo "$PROFILE")
"target/$dir/examples/render_bench" "${REQUESTS:-200}"
