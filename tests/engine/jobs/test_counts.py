"""counts.lua: jobs by state, summed over every group, and the paused flag."""

from __future__ import annotations

from corral.job import JobOptions
from corral.queue import NewJob, QueueCounts

from tests.conftest import QueueFactory
from tests.engine.helpers import settle_one


async def test_counts_of_an_empty_queue(make_queue: QueueFactory) -> None:
    queue = make_queue()
    assert await queue.counts() == QueueCounts(
        name=queue.name, pending=0, waiting=0, delayed=0, processing=0, completed=0,
        failed=0, cancelled=0, paused=False, dead_letter=0,
    )  # fmt: skip


async def test_counts_every_state_across_groups(make_queue: QueueFactory) -> None:
    queue = make_queue(group_concurrency=1)
    await queue.add_bulk([NewJob({"n": i}, group=f"g{i % 3}") for i in range(9)])
    await queue.add({"n": 1}, JobOptions(delay=1_000))
    cancelled = (await queue.add({"n": 2}, group="g9")).job_id
    await queue.cancel(cancelled)
    done, failed, running = (await queue.claim("w1", 10)).jobs
    await settle_one(queue, done, "c")
    await settle_one(queue, failed, "f", {"message": "x"})
    await queue.pause()

    counts = await queue.counts()

    # g2 still runs a job (parked); g0 and g1 are back in the ring.
    assert counts == QueueCounts(
        name=queue.name, pending=7, waiting=6, delayed=1, processing=1, completed=1,
        failed=1, cancelled=1, paused=True, dead_letter=0,
    )  # fmt: skip
    assert running.group == "g2"
