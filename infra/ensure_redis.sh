#!/usr/bin/env bash
# Make sure a Redis answers on REDIS_URL's host and port; start a throwaway one on loopback if not.
set -euo pipefail
url=${REDIS_URL:-redis://127.0.0.1:6379/0}
hostport=${url#*://}; hostport=${hostport#*@}; hostport=${hostport%%/*}
host=${hostport%%:*}; port=${hostport##*:}
[ "$port" = "$host" ] && port=6379
if ! command -v redis-server >/dev/null; then
  echo "redis-server is not installed; installing it from Debian's packages" >&2
  apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
fi
if redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1; then
  exit 0
fi
case "$host" in
  127.0.0.1|localhost)
    echo "no Redis on $host:$port; starting one (nothing kept on disk)" >&2
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly no
    for _ in $(seq 50); do redis-cli -h "$host" -p "$port" ping >/dev/null 2>&1 && exit 0; sleep 0.1; done
    ;;
esac
echo "Redis at $host:$port does not answer. Start one with:" >&2
echo "  redis-server --daemonize yes --bind 127.0.0.1 --port $port --save '' --appendonly no" >&2
exit 1
