"""Redis memory per waiting job: N no-op jobs added with the bulk enqueue, on a Redis of
its own.

    .venv/bin/python -m bench.memory [--jobs 100000] [--batch 1000]

Starts a redis-server on a free loopback port (``--save "" --appendonly no``), adds the
jobs as the API's bulk enqueue adds them (``Queue.add_bulk``, each job with its id chosen
up front and the tenant as its group; payload ``{"i": n}``, as BullMQ's bench adds
``{i}``), and reports INFO ``used_memory`` before and after, divided by N; also one job
hash's fields, its encoding and ``MEMORY USAGE``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import tempfile
import time

from corral.definition import QueueDefinition
from corral.ids import new_job_id
from corral.job import JobOptions, JobState
from corral.queue import NewJob, Queue
from pydantic import BaseModel
from redis.asyncio import Redis

TENANT = "acme"


class Noop(BaseModel):
    i: int = 0


async def _ignore(payload: Noop, ctx: object) -> None:
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(port: int, workdir: str) -> subprocess.Popen[bytes]:
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    args += ["--save", "", "--appendonly", "no", "--dir", workdir]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


async def measure(port: int, jobs: int, batch: int) -> dict[str, object]:
    redis = Redis(host="127.0.0.1", port=port, decode_responses=True)
    try:
        queue = Queue(redis, QueueDefinition("memory", Noop, _ignore))
        await queue.counts()  # scripts loaded and the queue's fixed keys made first
        await redis.memory_purge()
        before = int((await redis.info("memory"))["used_memory"])
        started = time.perf_counter()
        for start in range(0, jobs, batch):
            now = queue.clock()
            await queue.add_bulk(
                [
                    NewJob(Noop(i=i), JobOptions(job_id=new_job_id(now)), TENANT)
                    for i in range(start, min(jobs, start + batch))
                ]
            )
        took = time.perf_counter() - started
        await redis.memory_purge()
        after = int((await redis.info("memory"))["used_memory"])
        counts = await queue.counts()
        (_, [sample]) = await queue.list_jobs(JobState.WAITING, 0, 1)
        key = queue.keys.job(sample.id)
        return {
            "jobs": jobs,
            "waiting": counts.waiting,
            "used_memory_before": before,
            "used_memory_after": after,
            "bytes_per_job": round((after - before) / jobs, 1),
            "enqueue_jobs_per_s": round(jobs / took),
            "job_hash": await redis.hgetall(key),
            "job_hash_encoding": await redis.object("encoding", key),
            "job_hash_memory_usage": await redis.memory_usage(key),
            "group_zset_encoding": await redis.object("encoding", queue.keys.group(TENANT)),
        }
    finally:
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed")
    workdir = tempfile.mkdtemp(prefix="corral-memory-")
    port = free_port()
    proc = start_redis(port, workdir)
    try:
        result = asyncio.run(measure(port, args.jobs, args.batch))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
