"""promote.lua: a delayed job (or one backing off before a retry) becomes due now."""

from __future__ import annotations

import pytest
from corral.errors import JobNotFoundError, JobStateError
from corral.job import Backoff, JobOptions, JobState

from tests.conftest import FakeClock, QueueFactory
from tests.engine.helpers import claim_ids, settle_one, state_of

HOUR = 3_600_000


async def test_a_delayed_job_is_claimable_at_once(make_queue: QueueFactory) -> None:
    queue = make_queue()
    later = (await queue.add({"n": 1}, JobOptions(delay=HOUR))).job_id
    assert await claim_ids(queue) == []
    await queue.redis.delete(queue.keys.wake)  # the enqueue's wake-up was taken

    await queue.promote(later)

    assert await state_of(queue, later) is JobState.WAITING
    counts = await queue.counts()
    assert (counts.delayed, counts.waiting) == (0, 1)
    assert await queue.redis.llen(queue.keys.wake) == 1, "idle drainers are woken"
    assert await claim_ids(queue) == [later]


async def test_a_promoted_job_keeps_its_priority(make_queue: QueueFactory) -> None:
    queue = make_queue()
    low = (await queue.add({"n": 1}, JobOptions(priority=5))).job_id
    high = (await queue.add({"n": 2}, JobOptions(priority=1, delay=HOUR))).job_id

    await queue.promote(high)

    assert await claim_ids(queue, n=2) == [high, low]


async def test_a_retry_backoff_is_cut_short(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue(attempts=2, backoff=Backoff(delay=HOUR, jitter=0))
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs
    await settle_one(queue, job, "r", {"message": "boom"}, retry_at=clock.now + HOUR)
    assert await state_of(queue, job.id) is JobState.DELAYED

    await queue.promote(job.id)

    (again,) = (await queue.claim("w2", 1)).jobs
    assert (again.id, again.attempt) == (job.id, 2)


async def test_only_a_delayed_job_is_promoted(make_queue: QueueFactory) -> None:
    queue = make_queue()
    waiting = (await queue.add({"n": 1})).job_id
    with pytest.raises(JobStateError, match="not delayed"):
        await queue.promote(waiting)
    (active,) = (await queue.claim("w1", 1)).jobs
    with pytest.raises(JobStateError):
        await queue.promote(active.id)
    await settle_one(queue, active, "c", 1)
    with pytest.raises(JobStateError):
        await queue.promote(active.id)
    with pytest.raises(JobNotFoundError):
        await queue.promote("nope")
