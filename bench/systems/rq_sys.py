"""RQ: ``enqueue`` / ``enqueue_many`` and one ``SimpleWorker`` (RQ runs one job at a time
per worker; SimpleWorker runs it in-process instead of forking per job)."""

from __future__ import annotations

import time

from redis import Redis
from rq import Queue, SimpleWorker

from bench.protocol import Counter, ready_then_wait

COUNTER: Counter | None = None
"""Set in the worker process; RQ imports ``noop`` by name, so it cannot be a closure."""


def noop(i: int = 0, ts: float = 0.0) -> None:
    if COUNTER is not None:
        COUNTER.hit(ts)


class RQClient:
    def __init__(self, url: str, name: str) -> None:
        self.redis = Redis.from_url(url)
        self.queue = Queue(name, connection=self.redis)

    async def single(self, n: int) -> None:
        for i in range(n):
            self.queue.enqueue(noop, i)

    async def bulk(self, n: int, chunk: int) -> None:
        for start in range(0, n, chunk):
            datas = [Queue.prepare_data(noop, (i,)) for i in range(start, min(n, start + chunk))]
            self.queue.enqueue_many(datas)

    async def produce(self, n: int, gap_s: float) -> None:
        for _ in range(n):
            self.queue.enqueue(noop, 0, time.time())
            time.sleep(gap_s)

    async def close(self) -> None:
        self.redis.close()


async def client(url: str, name: str) -> RQClient:
    return RQClient(url, name)


def run_worker(url: str, name: str, counter: Counter, concurrency: int) -> None:
    global COUNTER
    COUNTER = counter
    redis = Redis.from_url(url)
    worker = SimpleWorker([Queue(name, connection=redis)], connection=redis)
    ready_then_wait()
    worker.work(logging_level="WARNING")
