#!/usr/bin/env bash
# Make sure the Redis at REDIS_URL answers, reached as given (rediss:// for TLS, a user and a
# password in the URL). Only for a plain loopback URL without credentials, where nothing
# answers yet, start a throwaway redis-server on its port. The password is never printed.
set -euo pipefail
url=${REDIS_URL:-redis://127.0.0.1:6379/0}
py=${PY:-.venv/bin/python}
rc=0
port=$("$py" -m infra.redis_check "$url") || rc=$?
[ "$rc" -eq 0 ] && exit 0
[ "$rc" -eq 3 ] || exit 1
if ! command -v redis-server >/dev/null; then
  echo "redis-server is not installed; installing it from Debian's packages" >&2
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
fi
echo "no Redis on loopback port $port; starting one (nothing kept on disk)" >&2
redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly no
for _ in $(seq 50); do
  "$py" -m infra.redis_check "$url" >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "the redis-server started on port $port does not answer" >&2
exit 1
