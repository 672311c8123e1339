#!/usr/bin/env bash
# make bench: corral beside BullMQ, RQ, SAQ and Celery on one dedicated Redis.
#
#   BENCH_JOBS=20000      jobs per phase (BENCH_JOBS=2000 for a quick smoke run)
#   BENCH_SLOW_JOBS=2000  jobs per phase for RQ, SAQ and Celery (they drain at ~1k/s or less)
#   BENCH_REPEATS=3       runs per measurement; the table shows medians
#   BENCH_LATENCY=50      pickup-latency samples per run
#   BENCH_SYSTEMS=corral,bullmq,rq,saq,celery
#   BENCH_PORT=6390       the dedicated Redis (flushed freely; never the shared one)
#   BENCH_PROFILE=1       instead: profile corral's drain and print the top functions
#   BENCH_FLOWS=5         flows of 1 parent + 100 children for the flow line
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python
PORT=${BENCH_PORT:-6390}
URL="redis://127.0.0.1:${PORT}/0"

if ! "$PY" -c "import rq, saq, celery" 2>/dev/null; then
  "$PY" -m pip install -q -e '.[bench]'
fi
if [ ! -d bench/node_modules/bullmq ]; then
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi

if redis-cli -p "$PORT" ping >/dev/null 2>&1; then
  echo "port $PORT already answers; the bench needs a Redis of its own (set BENCH_PORT)" >&2
  exit 1
fi
mkdir -p bench/results
pidfile="$(mktemp -u /tmp/corral-bench-redis.XXXXXX).pid"
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --daemonize yes --pidfile "$pidfile" --logfile "" >/dev/null
stop_redis() {
  if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
}
trap stop_redis EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

if [ -n "${BENCH_PROFILE:-}" ]; then
  "$PY" -m bench.profile_drain --url "$URL" --jobs "${BENCH_JOBS:-20000}"
  exit 0
fi
"$PY" -m bench.run --url "$URL" \
  --jobs "${BENCH_JOBS:-20000}" \
  --slow-jobs "${BENCH_SLOW_JOBS:-2000}" \
  --repeats "${BENCH_REPEATS:-3}" \
  --latency-samples "${BENCH_LATENCY:-50}" \
  --systems "${BENCH_SYSTEMS:-corral,bullmq,rq,saq,celery}"
# One more line: a flow of 1 parent + 100 children, against a plain drain of 101 jobs.
"$PY" -m bench.flow_bench --url "$URL" --flows "${BENCH_FLOWS:-5}"
