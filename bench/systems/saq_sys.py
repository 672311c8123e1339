"""SAQ: ``Queue.enqueue`` (bulk: a ``gather`` of enqueues, SAQ has no bulk call) and a
``Worker`` with concurrency 8."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from saq import Queue, Worker

from bench.protocol import Counter, ready_then_wait

COUNTER: Counter | None = None


async def noop(ctx: Any, *, i: int = 0, ts: float = 0.0) -> None:
    if COUNTER is not None:
        COUNTER.hit(ts)


class SAQClient:
    def __init__(self, url: str, name: str) -> None:
        self.queue = Queue.from_url(url, name=name)

    async def single(self, n: int) -> None:
        for i in range(n):
            await self.queue.enqueue("noop", i=i)

    async def bulk(self, n: int, chunk: int) -> None:
        for start in range(0, n, chunk):
            jobs = (self.queue.enqueue("noop", i=i) for i in range(start, min(n, start + chunk)))
            await asyncio.gather(*jobs)

    async def produce(self, n: int, gap_s: float) -> None:
        for _ in range(n):
            await self.queue.enqueue("noop", ts=time.time())
            await asyncio.sleep(gap_s)

    async def close(self) -> None:
        await self.queue.disconnect()


async def client(url: str, name: str) -> SAQClient:
    ops = SAQClient(url, name)
    await ops.queue.connect()
    return ops


async def _work(url: str, name: str, concurrency: int) -> None:
    queue = Queue.from_url(url, name=name)
    await queue.connect()
    worker = Worker(queue, functions=[noop], concurrency=concurrency)
    await asyncio.get_running_loop().run_in_executor(None, ready_then_wait)
    await worker.start()


def run_worker(url: str, name: str, counter: Counter, concurrency: int) -> None:
    global COUNTER
    COUNTER = counter
    asyncio.run(_work(url, name, concurrency))
