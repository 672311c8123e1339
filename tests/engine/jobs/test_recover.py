"""recover.lua: expired leases are requeued (stall counted) or failed after max stalls."""

from __future__ import annotations

from corral.job import JobOptions, JobState
from corral.queue import NewJob

from tests.conftest import FakeClock, QueueFactory
from tests.engine.helpers import raw, settle_one, state_of

TIMEOUT = 1_000
PAST_LEASE = 60_000


async def test_nothing_to_recover_while_leases_hold(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(timeout_ms=TIMEOUT)
    await queue.add({"n": 1})
    await queue.claim("w1", 1)
    clock.advance(TIMEOUT)

    assert await queue.recover_stalled() == ([], [])
    assert (await queue.counts()).processing == 1


async def test_stalled_job_is_requeued_with_its_stall_counted(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(timeout_ms=TIMEOUT, max_stalls=1, group_concurrency=1)
    await queue.add({"n": 1}, group="g")
    (job,) = (await queue.claim("w1", 1)).jobs
    await raw(queue).delete(queue.keys.wake)
    clock.advance(PAST_LEASE)

    assert await queue.recover_stalled() == ([job.id], [])

    stored = await queue.get_job(job.id)
    assert stored is not None
    assert (stored.state, stored.stalls, stored.attempts_made) == (JobState.WAITING, 1, 1)
    assert await raw(queue).llen(queue.keys.wake) == 1
    # The group's slot was freed, so the job can run again, as its next attempt.
    (again,) = (await queue.claim("w2", 1)).jobs
    assert (again.id, again.attempt) == (job.id, 2)


async def test_job_fails_after_too_many_stalls(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue(timeout_ms=TIMEOUT, max_stalls=1, attempts=5)
    await queue.add({"n": 1}, JobOptions(job_id="j1"))
    await queue.claim("w1", 1)
    clock.advance(PAST_LEASE)
    assert await queue.recover_stalled() == (["j1"], [])
    await queue.claim("w1", 1)
    clock.advance(PAST_LEASE)

    assert await queue.recover_stalled() == ([], ["j1"])

    stored = await queue.get_job("j1")
    assert stored is not None
    assert (stored.state, stored.stalls) == (JobState.FAILED, 2)
    assert stored.error["type"] == "StalledError"
    assert (await queue.counts()).failed == 1


async def test_stall_on_the_last_attempt_fails(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue(timeout_ms=TIMEOUT, max_stalls=10)
    job_id = (await queue.add({"n": 1}, JobOptions(attempts=1))).job_id
    await queue.claim("w1", 1)
    clock.advance(PAST_LEASE)

    assert await queue.recover_stalled() == ([], [job_id])
    assert await state_of(queue, job_id) is JobState.FAILED


async def test_the_stalled_worker_cannot_settle_afterwards(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(timeout_ms=TIMEOUT)
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs
    clock.advance(PAST_LEASE)
    await queue.recover_stalled()

    assert await settle_one(queue, job, "c") == -2
    assert await state_of(queue, job.id) is JobState.WAITING


async def test_recover_takes_at_most_limit_jobs(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue(timeout_ms=TIMEOUT)
    await queue.add_bulk([NewJob({"n": i}) for i in range(3)])
    await queue.claim("w1", 3)
    clock.advance(PAST_LEASE)

    first, _ = await queue.recover_stalled(limit=2)
    rest, _ = await queue.recover_stalled(limit=2)

    assert (len(first), len(rest)) == (2, 1)
    assert (await queue.counts()).waiting == 3
