"""release.lua: jobs a worker will not start go back to the front, attempt returned."""

from __future__ import annotations

from corral.job import JobState
from corral.queue import NewJob

from tests.conftest import FakeClock, QueueFactory
from tests.engine.helpers import claim_ids, raw


async def test_release_returns_the_attempt_and_the_place_in_line(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    ids = [r.job_id for r in await queue.add_bulk([NewJob({"n": i}) for i in range(3)])]
    first, second = (await queue.claim("w1", 2)).jobs
    await raw(queue).delete(queue.keys.wake)

    assert await queue.release([second]) == 1

    stored = await queue.get_job(second.id)
    assert stored is not None
    assert (stored.state, stored.attempts_made) == (JobState.WAITING, 0)
    assert await raw(queue).llen(queue.keys.wake) == 1
    assert (await queue.counts()).processing == 1
    (again,) = (await queue.claim("w2", 1)).jobs
    assert (again.id, again.attempt) == (ids[1], 1)
    assert first.id == ids[0]


async def test_release_skips_jobs_whose_lease_was_lost(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(timeout_ms=1_000)
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs
    clock.advance(60_000)
    await queue.recover_stalled()
    (retaken,) = (await queue.claim("w2", 1)).jobs

    assert await queue.release([job]) == 0

    stored = await queue.get_job(job.id)
    assert stored is not None and stored.state is JobState.ACTIVE
    assert retaken.id == job.id


async def test_release_of_nothing_is_zero(make_queue: QueueFactory) -> None:
    assert await make_queue().release([]) == 0


async def test_release_frees_the_group_slot(make_queue: QueueFactory) -> None:
    queue = make_queue(group_concurrency=1)
    await queue.add_bulk([NewJob({"n": i}, group="g") for i in range(2)])
    jobs = (await queue.claim("w1", 5)).jobs
    assert len(jobs) == 1

    assert await queue.release(jobs) == 1

    assert await claim_ids(queue, "w2", 5) == [jobs[0].id]
