"""A poller stops billing idle time: it leaves after ``max_idle_ms`` without a claim, even
with jobs waiting that it cannot take (here: the queue's one slot held by a live poller
elsewhere, which renews its lease), instead of waiting for a slot until its Lambda
deadline. (A slot held by a dead lease is another matter: see test_dead_leases.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import time

from corral.definition import QueueDefinition
from corral.poller import Poller, PollerSettings
from corral.queue import ClaimCode, Queue
from redis.asyncio import Redis

from tests.conftest import Payload, noop


async def test_a_poller_that_cannot_claim_leaves_after_its_idle_cap(
    single_redis: Redis, prefix: str
) -> None:
    definition = QueueDefinition(name="jobs", payload=Payload, handler=noop, concurrency=1)
    queue = Queue(single_redis, definition, prefix=prefix)
    for n in range(2):
        await queue.add({"n": n})
    held = await queue.claim("elsewhere", 1)  # a poller on another machine holds the slot
    assert held.code is ClaimCode.CLAIMED and (await queue.counts()).waiting == 1

    async def renew() -> None:  # the holder is alive: it heartbeats
        while True:
            await queue.extend(held.jobs, 30_000)
            await asyncio.sleep(0.1)

    heartbeat = asyncio.create_task(renew())
    poller = Poller(queue, settings=PollerSettings(linger_ms=50, max_idle_ms=400))
    started = time.monotonic()
    try:
        report = await poller.run(lambda: 60_000)
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat

    assert report.stop_reason == "idle"
    assert time.monotonic() - started < 3, "not until the deadline (a minute away)"
    assert report.claimed == 0 and 0 < report.idle_ms <= report.elapsed_ms


async def test_a_run_for_a_lone_job_leaves_without_lingering(
    single_redis: Redis, prefix: str
) -> None:
    definition = QueueDefinition(name="jobs", payload=Payload, handler=noop)
    queue = Queue(single_redis, definition, prefix=prefix)
    await queue.add({"n": 1})

    report = await Poller(queue, settings=PollerSettings(linger_ms=100)).run(lambda: 60_000)

    assert (report.completed, report.stop_reason) == (1, "empty")
    assert report.idle_ms == 0


async def test_a_run_started_for_several_jobs_lingers_once_they_are_done(
    single_redis: Redis, prefix: str
) -> None:
    definition = QueueDefinition(name="jobs", payload=Payload, handler=noop)
    queue = Queue(single_redis, definition, prefix=prefix)
    for n in range(2):
        await queue.add({"n": n})

    report = await Poller(queue, settings=PollerSettings(linger_ms=100)).run(lambda: 60_000)

    assert (report.completed, report.stop_reason) == (2, "empty")
    assert report.elapsed_ms < 1500 and report.idle_ms >= 90
