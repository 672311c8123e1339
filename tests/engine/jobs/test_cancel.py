"""cancel.lua: cancel a waiting or delayed job; active and finished jobs refuse."""

from __future__ import annotations

import pytest
from corral.definition import Retention
from corral.errors import JobNotFoundError, JobStateError
from corral.job import JobOptions, JobState
from corral.queue import NewJob

from tests.conftest import FakeClock, QueueFactory
from tests.engine.helpers import claim_ids, raw, settle_one, state_of


async def test_cancel_a_waiting_job(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1}, group="g")).job_id

    await queue.cancel(job_id)

    stored = await queue.get_job(job_id)
    assert stored is not None
    assert (stored.state, stored.finished_at) == (JobState.CANCELLED, clock.now)
    counts = await queue.counts()
    assert (counts.waiting, counts.cancelled) == (0, 1)
    # The group had nothing else waiting, so it leaves the ring.
    assert await raw(queue).llen(queue.keys.base + "ring") == 0
    assert await claim_ids(queue) == []


async def test_cancel_a_delayed_job(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1}, JobOptions(delay=1_000))).job_id

    await queue.cancel(job_id)

    assert await state_of(queue, job_id) is JobState.CANCELLED
    clock.advance(1_000)
    assert await claim_ids(queue) == []
    assert (await queue.counts()).delayed == 0


async def test_cancel_of_a_parked_groups_last_job(make_queue: QueueFactory) -> None:
    queue = make_queue(group_concurrency=1)
    ids = [r.job_id for r in await queue.add_bulk([NewJob({"n": i}, group="g") for i in range(2)])]
    (running,) = (await queue.claim("w1", 5)).jobs

    await queue.cancel(ids[1])

    assert await raw(queue).smembers(queue.keys.base + "parked") == set()
    await settle_one(queue, running, "c")
    assert (await queue.counts()).waiting == 0


async def test_cancel_refuses_active_and_finished_jobs(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs

    with pytest.raises(JobStateError) as active:
        await queue.cancel(job.id)
    assert active.value.state == "active"

    await settle_one(queue, job, "c")
    with pytest.raises(JobStateError) as finished:
        await queue.cancel(job.id)
    assert finished.value.state == "finished"
    assert await state_of(queue, job.id) is JobState.COMPLETED


async def test_cancel_twice_is_finished(make_queue: QueueFactory) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1})).job_id
    await queue.cancel(job_id)

    with pytest.raises(JobStateError):
        await queue.cancel(job_id)


async def test_cancel_a_missing_job(make_queue: QueueFactory) -> None:
    with pytest.raises(JobNotFoundError):
        await make_queue().cancel("nope")


async def test_cancelled_jobs_are_bounded_by_retention(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(retention=Retention(failed_count=1, failed_age_ms=0))
    first, second = [r.job_id for r in await queue.add_bulk([NewJob({"n": 1}), NewJob({"n": 2})])]
    await queue.cancel(first)
    clock.advance(1)

    await queue.cancel(second)

    assert await queue.get_job(first) is None
    assert (await queue.counts()).cancelled == 1
