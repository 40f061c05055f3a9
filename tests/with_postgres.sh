#!/usr/bin/env bash
# Runs a command with TEST_DATABASE_URL pointing at a throw-away PostgreSQL 15 cluster on a
# free local port. Installs PostgreSQL 15 from Debian's packages when it is missing; stops
# the cluster and removes its files afterwards, whatever the command's outcome.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

if [ ! -x "$PG_BIN/initdb" ]; then
  echo "with_postgres: installing PostgreSQL 15 from Debian's packages" >&2
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq postgresql-15 >/dev/null
fi

workdir=$(mktemp -d /tmp/zq-postgres.XXXXXX)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  # initdb refuses to run as root: the cluster belongs to the postgres system user.
  chown postgres "$workdir"
  as_owner=(runuser -u postgres --)
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
  "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap stop EXIT

"${as_owner[@]}" "$PG_BIN/initdb" -D "$workdir/data" -U postgres --auth=trust -E UTF8 \
  --locale=C >/dev/null
# Durability is off for tests: this cluster lives for one test run. The benchmark measures
# durable writes (ZQ_PG_DURABLE=1 keeps PostgreSQL's defaults: fsync, synchronous commit).
durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[ "${ZQ_PG_DURABLE:-}" = 1 ] && durability=""
"${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$workdir/data" -l "$workdir/postgres.log" -w \
  -o "-p $port -k $workdir -c listen_addresses=127.0.0.1 $durability -c max_connections=200" \
  start >/dev/null
"$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres zq_test

export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/zq_test"
echo "with_postgres: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $port" >&2
"$@"
