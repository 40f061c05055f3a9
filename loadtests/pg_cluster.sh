#!/usr/bin/env bash
# A long-lived PostgreSQL 15 cluster for benchmark data (`flask --app loadtests.app bench
# generate`), kept between runs unlike tests/with_postgres.sh's throw-away one.
#
#   loadtests/pg_cluster.sh start [DB]   # initdb on first use, start, create DB; prints its URL
#   loadtests/pg_cluster.sh stop | status | url [DB]
#
# ZQ_BENCH_PG (default /var/tmp/zq-bench-pg) holds the data directory, ZQ_BENCH_PG_PORT
# (default 55432) is the port; DB defaults to zq_big. Durability stays on (fsync,
# synchronous_commit): the benchmark measures durable writes against this cluster too.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
dir=${ZQ_BENCH_PG:-/var/tmp/zq-bench-pg}
port=${ZQ_BENCH_PG_PORT:-55432}
command=${1:-status}
database=${2:-zq_big}
as_owner=()
[ "$(id -u)" -eq 0 ] && as_owner=(runuser -u postgres --)
url="postgresql+psycopg://postgres@127.0.0.1:$port/$database"

case "$command" in
  start)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
      "${as_owner[@]}" "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
        --locale=C >/dev/null
      # Sized for a 2-core, 23 GB machine shared with the app servers and locust.
      cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 2GB
effective_cache_size = 8GB
work_mem = 32MB
maintenance_work_mem = 1GB
max_wal_size = 8GB
checkpoint_timeout = 15min
random_page_cost = 1.1
CONF
    fi
    if ! "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w start >/dev/null
    fi
    "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1 ||
      "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres "$database"
    echo "$url"
    ;;
  stop)
    "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" -m fast stop
    ;;
  status)
    "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$dir/data" status
    ;;
  url)
    echo "$url"
    ;;
  *)
    echo "usage: $0 start|stop|status|url [database]" >&2
    exit 2
    ;;
esac
