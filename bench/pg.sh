# A throwaway PostgreSQL cluster on a free loopback port for the bench scripts (source it):
# pg_start DIR [extra postgres -c settings…] sets PG_URL (and PG_URL_ASYNC, a database with
# synchronous_commit=off); pg_stop stops it. As root the
# server runs as the `postgres` user (PostgreSQL refuses root). Debian's postgresql
# (scripts/setup.sh installs it).
pg_bin() {
  local d
  d=$(dirname "$(readlink -f "$(command -v initdb 2>/dev/null || true)")" 2>/dev/null || true)
  if [ -x "$d/pg_ctl" ] && [ -x "$d/createdb" ]; then echo "$d"; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}
pg_start() { # DIR [-c name=value ...]
  PG_DIR=$1; shift
  PG_BIN=$(pg_bin)
  [ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL server binaries missing: run scripts/setup.sh" >&2; return 1; }
  PG_AS=()
  if [ "$(id -u)" = 0 ]; then PG_AS=(runuser -u postgres --); chown postgres: "$PG_DIR"; fi
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U sentio -A trust -E UTF8 --locale=C >/dev/null
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PG_DIR $*" start >/dev/null
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U sentio bench
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U sentio bench_async
  "$PG_BIN/psql" -q "postgres://sentio@127.0.0.1:$PG_PORT/bench" -c "ALTER DATABASE bench_async SET synchronous_commit = off"
  PG_URL="postgres://sentio@127.0.0.1:$PG_PORT/bench"
  PG_URL_ASYNC="postgres://sentio@127.0.0.1:$PG_PORT/bench_async"
}
pg_stop() {
  [ -n "${PG_DIR:-}" ] && "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" stop -m fast >/dev/null 2>&1 || true
}
