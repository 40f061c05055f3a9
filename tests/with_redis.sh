#!/usr/bin/env bash
# Runs a command with TEST_REDIS_URL pointing at a throw-away Redis on a free local port (the
# shared rate-limit storage the limit tests run their app processes against). Installs
# Debian's redis-server when it is missing; stops the server and removes its files
# afterwards, whatever the command's outcome.
set -euo pipefail

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

if ! command -v redis-server >/dev/null 2>&1; then
  echo "with_redis: installing Debian's redis-server" >&2
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq redis-server >/dev/null
fi

workdir=$(mktemp -d /tmp/zq-redis.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

server=""
stop() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap stop EXIT

# Nothing is written to disk: this server lives for one test run.
redis-server --port "$port" --bind 127.0.0.1 --dir "$workdir" --save "" --appendonly no \
  --logfile "$workdir/redis.log" &
server=$!
for _ in $(seq 100); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$port" ping >/dev/null || { cat "$workdir/redis.log" >&2; exit 1; }

export TEST_REDIS_URL="redis://127.0.0.1:$port/0"
echo "with_redis: Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on port $port" >&2
"$@"
