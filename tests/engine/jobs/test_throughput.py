"""throughput.lua: completed and failed jobs per minute, oldest first, bounded to an hour."""

from __future__ import annotations

from corral.queue import Queue

from tests.conftest import START_MS, FakeClock, QueueFactory
from tests.engine.helpers import raw, settle_one

MINUTE_MS = 60_000


async def run_one(queue: Queue, kind: str) -> None:
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs
    assert await settle_one(queue, job, kind, {"message": "x"} if kind == "f" else {}) == 1


async def test_counts_land_in_the_minute_they_finished(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    await run_one(queue, "c")
    await run_one(queue, "c")
    clock.advance(MINUTE_MS)
    await run_one(queue, "f")
    clock.advance(MINUTE_MS)

    minutes = await queue.throughput(3)

    first = START_MS // MINUTE_MS * MINUTE_MS
    assert [(m.minute, m.completed, m.failed) for m in minutes] == [
        (first, 2, 0),
        (first + MINUTE_MS, 0, 1),
        (first + 2 * MINUTE_MS, 0, 0),
    ]


async def test_an_idle_queue_reads_zeros_and_the_window_is_at_most_an_hour(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()

    assert [(m.completed, m.failed) for m in await queue.throughput(5)] == [(0, 0)] * 5
    assert len(await queue.throughput(10_000)) == 60
    assert len(await queue.throughput(0)) == 1


async def test_a_minute_counter_expires_within_about_an_hour(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    await run_one(queue, "c")

    key = f"{queue.keys.base}minute:{clock.now // MINUTE_MS}"
    ttl = await raw(queue).ttl(key)

    assert 0 < ttl <= 2 * 3600
