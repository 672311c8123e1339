"""Profile corral's hot paths: ``python -m bench.profile_drain --url URL --jobs N``.

Enqueues N no-op jobs under a fresh key prefix, drains them with ``Drainer(concurrency=8)``
under cProfile, then enqueues ``--single`` jobs one ``Queue.add`` at a time under cProfile;
prints each path's rate and its top functions by own time and by cumulative time, then
deletes its keys (so it may run on a shared Redis too).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
import uuid

from corral.drain import Drainer
from corral.queue import NewJob
from redis.asyncio import Redis

from bench.systems.corral_sys import Noop, make_queue


async def drain(url: str, jobs: int, concurrency: int, profiler: cProfile.Profile) -> float:
    redis = Redis.from_url(url, decode_responses=True)
    prefix = f"prof{uuid.uuid4().hex[:8]}"
    queue = make_queue(redis, prefix)
    try:
        for start in range(0, jobs, 1000):
            await queue.add_bulk([NewJob(Noop(i=i)) for i in range(start, min(jobs, start + 1000))])
        drainer = Drainer(queue, concurrency=concurrency)
        began = time.perf_counter()
        profiler.enable()
        await drainer.run(time.monotonic() + 600, until_empty=True)
        profiler.disable()
        return time.perf_counter() - began
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 500):
            await redis.delete(*keys[start : start + 500])
        await redis.aclose()


async def single(url: str, jobs: int, profiler: cProfile.Profile) -> float:
    """``Queue.add`` of ``jobs`` no-op jobs, each awaited, under the profiler."""
    redis = Redis.from_url(url, decode_responses=True)
    prefix = f"prof{uuid.uuid4().hex[:8]}"
    queue = make_queue(redis, prefix)
    try:
        await queue.add(Noop(i=-1))  # the scripts load once, outside the profile
        began = time.perf_counter()
        profiler.enable()
        for i in range(jobs):
            await queue.add(Noop(i=i))
        profiler.disable()
        return time.perf_counter() - began
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 500):
            await redis.delete(*keys[start : start + 500])
        await redis.aclose()


def show(what: str, jobs: int, seconds: float, profiler: cProfile.Profile, top: int) -> None:
    print(f"{what} {jobs} jobs in {seconds:.2f} s under cProfile: {jobs / seconds:,.0f} jobs/s, ")
    print(f"{seconds / jobs * 1e6:.1f} µs per job (profiling slows Python code about 2x)\n")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--jobs", type=int, default=20000)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--single", type=int, default=5000, help="jobs for Queue.add (0: skip)")
    p.add_argument("--top", type=int, default=25)
    a = p.parse_args()
    profiler = cProfile.Profile()
    seconds = asyncio.run(drain(a.url, a.jobs, a.concurrency, profiler))
    show("drained", a.jobs, seconds, profiler, a.top)
    if a.single:
        profiler = cProfile.Profile()
        seconds = asyncio.run(single(a.url, a.single, profiler))
        show("enqueued one at a time", a.single, seconds, profiler, a.top)


if __name__ == "__main__":
    main()
