"""Celery with its Redis broker: ``apply_async`` (bulk: a ``group`` per chunk) and a worker
on the thread pool with concurrency 8, so that one process counts every job.

The worker runs without heartbeat, gossip and mingle, which only add broker traffic.
"""

from __future__ import annotations

import time
from typing import Any

from celery import Celery, group

from bench.protocol import Counter, ready_then_wait

COUNTER: Counter | None = None

app = Celery("bench")
app.conf.update(
    task_ignore_result=True, worker_hijack_root_logger=False, worker_redirect_stdouts=False
)


@app.task(name="bench.noop")  # type: ignore[untyped-decorator]
def noop(i: int = 0, ts: float = 0.0) -> None:
    if COUNTER is not None:
        COUNTER.hit(ts)


def configure(url: str, name: str) -> None:
    app.conf.update(broker_url=url, task_default_queue=name)


class CeleryClient:
    async def single(self, n: int) -> None:
        for i in range(n):
            noop.apply_async((i,))

    async def bulk(self, n: int, chunk: int) -> None:
        for start in range(0, n, chunk):
            group(noop.s(i) for i in range(start, min(n, start + chunk))).apply_async()

    async def produce(self, n: int, gap_s: float) -> None:
        for _ in range(n):
            noop.apply_async((0, time.time()))
            time.sleep(gap_s)

    async def close(self) -> None:
        app.close()


async def client(url: str, name: str) -> CeleryClient:
    configure(url, name)
    # Connect before "go" so that set-up is not measured.
    with app.connection_for_write() as conn:
        conn.ensure_connection()
    return CeleryClient()


def run_worker(url: str, name: str, counter: Counter, concurrency: int) -> None:
    global COUNTER
    COUNTER = counter
    configure(url, name)
    argv: list[Any] = ["worker", "--pool=threads", f"--concurrency={concurrency}"]
    argv += ["--loglevel=WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    ready_then_wait()
    app.worker_main(argv=argv)
