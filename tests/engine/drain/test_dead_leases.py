"""Slots held by dead leases: a poller that finds jobs waiting but every slot taken stays
for a lease nobody renews, takes the slot back the moment it runs out, and never reports
"empty" while jobs wait; behind live, heartbeating holders it leaves at once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from corral.keys import QueueKeys
from corral.poller import Poller, PollerSettings, Presence
from corral.queue import LeaseSettings, NewJob
from redis.asyncio import Redis

from tests.engine.drain_helpers import real_queue

LEASE = LeaseSettings(cap_ms=500, margin_ms=300)
"""Leases of 800 ms: long enough to see a poller wait for one, short enough for a fast test."""


async def test_a_poller_takes_back_slots_of_dead_workers_as_their_leases_run_out(
    single_redis: Redis, prefix: str
) -> None:
    starts: list[float] = []

    async def record(payload: Any, job: Any) -> None:
        starts.append(time.time() * 1000)

    queue = real_queue(single_redis, prefix, record, concurrency=2, timeout_ms=500, lease=LEASE)
    await queue.add_bulk([NewJob({"n": i}) for i in range(6)])
    # A poller killed mid-drain: its leases hold both slots and nobody renews them, and its
    # registration outlives it, so it still looks like a poller at work.
    dead = await queue.claim("killed-poller", 2)
    assert len(dead.jobs) == 2
    await Presence(single_redis, QueueKeys("jobs", prefix), "killed-poller").join()
    first_end: Any = await single_redis.zrange(queue.keys.base + "active", 0, 0, withscores=True)
    lease_end = float(first_end[0][1])

    report = await Poller(queue, settings=PollerSettings(linger_ms=200)).run()

    assert (report.completed, report.stalled_requeued) == (6, 2)
    assert report.stop_reason == "others running"  # the dead one's registration, until it lapses
    # The queue ran again within a second of the first dead lease running out.
    assert min(starts) - lease_end < 1_000


async def test_behind_live_holders_a_poller_leaves_saturated_without_waiting(
    single_redis: Redis, prefix: str
) -> None:
    queue = real_queue(single_redis, prefix, _noop, concurrency=1, timeout_ms=500, lease=LEASE)
    await queue.add_bulk([NewJob({"n": i}) for i in range(4)])
    held = (await queue.claim("live-poller", 1)).jobs
    await Presence(single_redis, QueueKeys("jobs", prefix), "live-poller").join()

    async def heartbeat() -> None:
        while True:
            await queue.extend(held, 800)
            await asyncio.sleep(0.1)

    beating = asyncio.create_task(heartbeat())
    try:
        started = time.monotonic()
        report = await Poller(queue, settings=PollerSettings(linger_ms=100)).run()
        elapsed = time.monotonic() - started
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating

    assert (report.claimed, report.stop_reason) == (0, "saturated")
    assert elapsed < 2.5, elapsed  # one renewal seen, not a wait for a lease that never ends


async def _noop(payload: Any, job: Any) -> None:
    """A handler that does nothing."""
