"""corral: ``Queue.add`` / ``Queue.add_bulk`` and a ``Drainer`` with a no-op async handler,
on the event loop corral's functions run on (``new_loop``)."""

from __future__ import annotations

import asyncio
import time

from corral.context import JobContext
from corral.definition import Handler, QueueDefinition
from corral.drain import Drainer
from corral.event_loops import new_loop
from corral.queue import NewJob, Queue
from pydantic import BaseModel
from redis.asyncio import Redis

from bench.protocol import Counter, ready_then_wait

QUEUE = "bench"


class Noop(BaseModel):
    """The smallest payload: a number, and the enqueue time for latency samples."""

    i: int = 0
    ts: float = 0.0


async def _ignore(payload: Noop, ctx: JobContext) -> None:
    return None


def make_queue(redis: Redis, prefix: str, handler: Handler = _ignore) -> Queue:
    """The bench queue under ``prefix`` (corral's key prefix), with a no-op handler."""
    return Queue(redis, QueueDefinition(QUEUE, Noop, handler), prefix=prefix)


class CorralClient:
    def __init__(self, url: str, name: str) -> None:
        self.redis = Redis.from_url(url, decode_responses=True)
        self.queue = make_queue(self.redis, name)

    async def single(self, n: int) -> None:
        for i in range(n):
            await self.queue.add(Noop(i=i))

    async def bulk(self, n: int, chunk: int) -> None:
        for start in range(0, n, chunk):
            jobs = [NewJob(Noop(i=i)) for i in range(start, min(n, start + chunk))]
            await self.queue.add_bulk(jobs)

    async def produce(self, n: int, gap_s: float) -> None:
        for _ in range(n):
            await self.queue.add(Noop(ts=time.time()))
            await asyncio.sleep(gap_s)

    async def close(self) -> None:
        await self.redis.aclose()


async def client(url: str, name: str) -> CorralClient:
    return CorralClient(url, name)


async def drain_forever(url: str, name: str, counter: Counter, concurrency: int) -> None:
    """Run a ``Drainer`` that counts jobs until the orchestrator kills the process."""
    redis = Redis.from_url(url, decode_responses=True)

    async def handler(payload: Noop, ctx: JobContext) -> None:
        counter.hit(payload.ts)

    drainer = Drainer(make_queue(redis, name, handler), concurrency=concurrency)
    await asyncio.get_running_loop().run_in_executor(None, ready_then_wait)
    await drainer.run(time.monotonic() + 3600)


def run_worker(url: str, name: str, counter: Counter, concurrency: int) -> None:
    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(drain_forever(url, name, counter, concurrency))
