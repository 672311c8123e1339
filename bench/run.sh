#!/usr/bin/env bash
# make bench: corral beside BullMQ, RQ, SAQ and Celery on one dedicated Redis, then the
# scaling and backlog tables (corral and BullMQ) and the flow line.
#
#   BENCH_JOBS=20000      jobs per phase (BENCH_JOBS=2000 for a quick smoke run)
#   BENCH_SLOW_JOBS=2000  jobs per phase for RQ, SAQ and Celery (they drain at ~1k/s or less)
#   BENCH_REPEATS=3       runs per measurement; the table shows medians
#   BENCH_LATENCY=50      pickup-latency samples per run
#   BENCH_SYSTEMS=corral,bullmq,rq,saq,celery
#   BENCH_SCALING=1,2,4   drainer processes per row of the scaling table ('' skips it)
#   BENCH_BACKLOG=10000,100000  waiting jobs per backlog row; add 1000000 for the 1M row
#                         (about 1 GB of Redis memory per system and some minutes); '' skips it
#   BENCH_BACKLOG_DRAIN=20000   jobs drained from the head of each backlog
#   BENCH_BACKLOG_REPEATS=$BENCH_REPEATS  runs per backlog size
#   BENCH_PORT=           the dedicated Redis' port (default: a free one; flushed freely)
#   BENCH_PROFILE=1       instead: profile corral's drain and single enqueue
#   BENCH_FLOWS=5         flows of 1 parent + 100 children for the flow line (0 skips it)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python

if ! "$PY" -c "import rq, saq, celery" 2>/dev/null; then
  "$PY" -m pip install -q -e '.[bench]' >&2
fi
# Installs report on stderr: stdout opens with the ratios (bench/report.py, headline).
# Install (again) when the BullMQ in node_modules is not the one the lock names.
locked() { node -p "require('./bench/package-lock.json').packages['node_modules/bullmq'].version"; }
installed() { node -p "require('./bench/node_modules/bullmq/package.json').version" 2>/dev/null || true; }
if [ ! -d bench/node_modules/ioredis ] || [ "$(installed)" != "$(locked)" ]; then
  (cd bench && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

mkdir -p bench/results
# A Redis of its own on a free loopback port, no RDB or AOF (bench/redis_server.py).
pidfile="$(mktemp -u /tmp/corral-bench-redis.XXXXXX).pid"
trap '"$PY" -c "import sys, pathlib; from bench.redis_server import stop; stop(pathlib.Path(sys.argv[1]))" "$pidfile"' EXIT
started=$("$PY" -m bench.redis_server "$pidfile" "${BENCH_PORT:-}")
eval "$started"
URL="redis://127.0.0.1:${PORT}/0"

if [ -n "${BENCH_PROFILE:-}" ]; then
  "$PY" -m bench.profile_drain --url "$URL" --jobs "${BENCH_JOBS:-20000}"
  exit 0
fi
"$PY" -m bench.run --url "$URL" \
  --jobs "${BENCH_JOBS:-20000}" \
  --slow-jobs "${BENCH_SLOW_JOBS:-2000}" \
  --repeats "${BENCH_REPEATS:-3}" \
  --latency-samples "${BENCH_LATENCY:-50}" \
  --systems "${BENCH_SYSTEMS:-corral,bullmq,rq,saq,celery}" \
  --scaling "${BENCH_SCALING-1,2,4}" \
  --backlog "${BENCH_BACKLOG-10000,100000}" \
  --backlog-drain "${BENCH_BACKLOG_DRAIN:-20000}" \
  --backlog-repeats "${BENCH_BACKLOG_REPEATS:-${BENCH_REPEATS:-3}}"
# One more line: a flow of 1 parent + 100 children, against a plain drain of 101 jobs.
if [ "${BENCH_FLOWS:-5}" != 0 ]; then
  "$PY" -m bench.flow_bench --url "$URL" --flows "${BENCH_FLOWS:-5}"
fi
