"""retry.lua: a failed or cancelled job runs again with a fresh attempt budget."""

from __future__ import annotations

import pytest
from corral.errors import JobNotFoundError, JobStateError
from corral.job import JobOptions, JobState

from tests.conftest import QueueFactory
from tests.engine.helpers import claim_ids, settle_one, state_of


async def test_retry_a_failed_job(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add({"n": 1}, JobOptions(attempts=1))
    (job,) = (await queue.claim("w1", 1)).jobs
    await queue.progress(job.id, job.token, 50)
    await settle_one(queue, job, "f", {"message": "boom"})

    await queue.retry(job.id)

    stored = await queue.get_job(job.id)
    assert stored is not None
    assert (stored.state, stored.attempts_made, stored.stalls) == (JobState.WAITING, 0, 0)
    assert (stored.finished_at, stored.progress) == (None, None)
    counts = await queue.counts()
    assert (counts.failed, counts.waiting) == (0, 1)
    (again,) = (await queue.claim("w2", 1)).jobs
    assert (again.id, again.attempt) == (job.id, 1)


async def test_retry_a_cancelled_job(make_queue: QueueFactory) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1})).job_id
    await queue.cancel(job_id)

    await queue.retry(job_id)

    assert (await queue.counts()).cancelled == 0
    assert await claim_ids(queue) == [job_id]


async def test_retried_job_keeps_its_priority(make_queue: QueueFactory) -> None:
    queue = make_queue()
    urgent = (await queue.add({"n": 1}, JobOptions(priority=1))).job_id
    await queue.cancel(urgent)
    plain = (await queue.add({"n": 2}, JobOptions(priority=5))).job_id

    await queue.retry(urgent)

    assert await claim_ids(queue, n=2) == [urgent, plain]


async def test_retry_refuses_jobs_that_are_not_failed_or_cancelled(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    waiting = (await queue.add({"n": 1})).job_id
    with pytest.raises(JobStateError):
        await queue.retry(waiting)

    (job,) = (await queue.claim("w1", 1)).jobs
    with pytest.raises(JobStateError):
        await queue.retry(job.id)

    await settle_one(queue, job, "c")
    with pytest.raises(JobStateError):
        await queue.retry(job.id)
    assert await state_of(queue, job.id) is JobState.COMPLETED


async def test_retry_a_missing_job(make_queue: QueueFactory) -> None:
    with pytest.raises(JobNotFoundError):
        await make_queue().retry("nope")
