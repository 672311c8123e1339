"""clean.lua: delete finished jobs past a grace period, cancel old pending ones."""

from __future__ import annotations

from corral.definition import Retention
from corral.job import JobOptions, JobState
from corral.queue import NewJob, Queue

from tests.conftest import FakeClock, QueueFactory
from tests.engine.helpers import raw, settle_one, state_of


async def finish(queue: Queue, kind: str, count: int) -> list[str]:
    await queue.add_bulk([NewJob({"n": i}) for i in range(count)])
    jobs = (await queue.claim("w1", count)).jobs
    for job in jobs:
        await settle_one(queue, job, kind, {"message": "x"})
    return [j.id for j in jobs]


async def test_clean_removes_finished_jobs_older_than_the_grace(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    old = await finish(queue, "c", 2)
    clock.advance(5_000)
    young = await finish(queue, "c", 1)

    removed = await queue.clean(JobState.COMPLETED, grace_ms=1_000)

    assert sorted(removed) == sorted(old)
    assert [await queue.get_job(i) for i in old] == [None, None]
    assert await state_of(queue, young[0]) is JobState.COMPLETED
    assert (await queue.counts()).completed == 1


async def test_clean_failed_and_cancelled(make_queue: QueueFactory) -> None:
    queue = make_queue()
    failed = await finish(queue, "f", 1)
    cancelled = (await queue.add({"n": 9})).job_id
    await queue.cancel(cancelled)

    assert await queue.clean(JobState.FAILED) == failed
    assert await queue.clean(JobState.CANCELLED) == [cancelled]
    counts = await queue.counts()
    assert (counts.failed, counts.cancelled) == (0, 0)


async def test_clean_respects_its_limit(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await finish(queue, "c", 3)

    assert len(await queue.clean(JobState.COMPLETED, limit=2)) == 2
    assert (await queue.counts()).completed == 1


async def test_clean_cancels_old_waiting_jobs(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue()
    old = [(await queue.add({"n": i}, group=g)).job_id for i, g in enumerate("ab")]
    clock.advance(5_000)
    young = (await queue.add({"n": 3}, group="a")).job_id

    removed = await queue.clean(JobState.WAITING, grace_ms=1_000)

    assert sorted(removed) == sorted(old)
    assert [await state_of(queue, i) for i in old] == [JobState.CANCELLED] * 2
    counts = await queue.counts()
    assert (counts.waiting, counts.cancelled) == (1, 2)
    assert await raw(queue).lrange(queue.keys.base + "ring", 0, -1) == ["a"]
    assert [j.id for j in (await queue.claim("w1", 5)).jobs] == [young]


async def test_clean_cancels_old_delayed_jobs(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue()
    old = (await queue.add({"n": 1}, JobOptions(delay=60_000))).job_id
    clock.advance(5_000)
    young = (await queue.add({"n": 2}, JobOptions(delay=60_000))).job_id

    assert await queue.clean(JobState.DELAYED, grace_ms=1_000) == [old]
    assert await state_of(queue, old) is JobState.CANCELLED
    assert await state_of(queue, young) is JobState.DELAYED


async def test_jobs_clean_cancels_are_bounded_by_the_failed_retention(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(retention=Retention(failed_count=2, failed_age_ms=0))
    ids = [(await queue.add({"n": i}, group=f"g{i}")).job_id for i in range(5)]
    clock.advance(5_000)

    assert sorted(await queue.clean(JobState.WAITING, grace_ms=1_000)) == sorted(ids)

    assert (await queue.counts()).cancelled == 2
    kept = [i for i in ids if await queue.get_job(i) is not None]
    assert len(kept) == 2
    assert [await state_of(queue, i) for i in kept] == [JobState.CANCELLED] * 2


async def test_clean_pending_respects_its_limit(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add_bulk([NewJob({"n": i}, group=f"g{i}") for i in range(3)])

    assert len(await queue.clean(JobState.WAITING, limit=2)) == 2
    assert (await queue.counts()).waiting == 1


async def test_clean_never_touches_active_jobs(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    await queue.claim("w1", 1)

    assert await queue.clean(JobState.ACTIVE) == []
    assert (await queue.counts()).processing == 1
