"""settle.lua: complete, retry with backoff, final failure, lease checks, retention."""

from __future__ import annotations

from corral.definition import Retention
from corral.job import JobState
from corral.queue import ClaimCode, ClaimedJob, NewJob, Outcome

from tests.conftest import FakeClock, QueueFactory
from tests.engine.helpers import claim_ids, raw, settle_one, state_of


async def test_complete_stores_the_result_and_frees_the_lease(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs
    clock.advance(25)

    assert await settle_one(queue, job, "c", {"ok": True}) == 1

    stored = await queue.get_job(job.id)
    assert stored is not None
    assert (stored.state, stored.result, stored.finished_at) == (
        JobState.COMPLETED,
        {"ok": True},
        clock.now,
    )
    counts = await queue.counts()
    assert (counts.processing, counts.completed) == (0, 1)
    assert await raw(queue).hget(queue.keys.job(job.id), "lock") == ""


async def test_results_of_any_text_arrive_intact(make_queue: QueueFactory) -> None:
    queue = make_queue()
    result = {"text": 'quotes " and \\ backslash,\nnewline, tab\t, é, 雪, 🐎, \u0000', "n": 2**53}
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs

    assert await settle_one(queue, job, "c", result) == 1

    stored = await queue.get_job(job.id)
    assert stored is not None and stored.result == result


async def test_final_failure_stores_the_error(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs

    assert await settle_one(queue, job, "f", {"message": "bad input"}) == 1

    stored = await queue.get_job(job.id)
    assert stored is not None
    assert (stored.state, stored.error) == (JobState.FAILED, {"message": "bad input"})
    assert (await queue.counts()).failed == 1


async def test_retry_with_backoff_waits_in_delayed(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs

    assert await settle_one(queue, job, "r", {"message": "flaky"}, clock.now + 2_000) == 1

    stored = await queue.get_job(job.id)
    assert stored is not None
    assert (stored.state, stored.error, stored.attempts_made) == (
        JobState.DELAYED,
        {"message": "flaky"},
        1,
    )
    assert (await queue.claim("w1", 1)).hint_ms == 2_000
    clock.advance(2_000)
    (again,) = (await queue.claim("w2", 1)).jobs
    assert (again.id, again.attempt, again.token) == (job.id, 2, "w2:2")


async def test_retry_without_backoff_is_waiting_at_once(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs

    await settle_one(queue, job, "r", {"message": "flaky"}, clock.now)

    assert await state_of(queue, job.id) is JobState.WAITING
    assert await claim_ids(queue) == [job.id]


async def test_missing_job_and_lost_lease_codes(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue(timeout_ms=1_000)
    await queue.add({"n": 1})
    (held,) = (await queue.claim("w1", 1)).jobs
    ghost = ClaimedJob("no-such-job", "{}", held.options, 1, "default", 0, "w1:1")

    clock.advance(60_000)
    await queue.recover_stalled()
    (retaken,) = (await queue.claim("w2", 1)).jobs

    codes, _ = await queue.settle("w1", [Outcome(held, "c", "null"), Outcome(ghost, "c", "null")])
    assert codes == [-2, -1]
    assert await state_of(queue, held.id) is JobState.ACTIVE
    assert await settle_one(queue, retaken, "c") == 1


async def test_settling_twice_loses_the_lease(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs

    codes, _ = await queue.settle("w1", [Outcome(job, "c", "1"), Outcome(job, "f", "2")])

    assert codes == [1, -2]
    assert await state_of(queue, job.id) is JobState.COMPLETED


async def test_settle_claims_the_next_batch_in_the_same_call(make_queue: QueueFactory) -> None:
    queue = make_queue(concurrency=2)
    await queue.add_bulk([NewJob({"n": i}) for i in range(4)])
    first = (await queue.claim("w1", 2)).jobs

    codes, claim = await queue.settle("w1", [Outcome(j, "c", "null") for j in first], claim=2)

    assert codes == [1, 1]
    assert claim.code is ClaimCode.CLAIMED and len(claim.jobs) == 2
    assert {j.id for j in claim.jobs}.isdisjoint(j.id for j in first)
    assert [j.token for j in claim.jobs] == ["w1:1", "w1:1"]


async def test_settle_with_nothing_left_reports_empty(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs

    _, claim = await queue.settle("w1", [Outcome(job, "c", "null")], claim=5)

    assert (claim.code, claim.hint_ms, claim.jobs) == (ClaimCode.EMPTY, -1, [])


async def test_settle_frees_a_parked_group(make_queue: QueueFactory) -> None:
    queue = make_queue(group_concurrency=1)
    await queue.add_bulk([NewJob({"n": i}, group="a") for i in range(2)])
    (job,) = (await queue.claim("w1", 5)).jobs

    _, claim = await queue.settle("w1", [Outcome(job, "r", "null", 0)], claim=5)

    # The retried job and its sibling wait in the same group; the freed slot takes one.
    assert len(claim.jobs) == 1
    assert (await queue.counts()).waiting == 1


async def test_retention_keeps_the_newest_completed_jobs(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(retention=Retention(completed_count=2, completed_age_ms=0))
    await queue.add_bulk([NewJob({"n": i}) for i in range(3)])
    jobs = (await queue.claim("w1", 3)).jobs
    for job in jobs:
        clock.advance(1)
        await settle_one(queue, job, "c")

    assert await queue.get_job(jobs[0].id) is None
    assert [await state_of(queue, j.id) for j in jobs[1:]] == [JobState.COMPLETED] * 2
    assert (await queue.counts()).completed == 2


async def test_retention_drops_completed_jobs_past_their_age(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(retention=Retention(completed_count=-1, completed_age_ms=1_000))
    await queue.add_bulk([NewJob({"n": i}) for i in range(2)])
    old, new = (await queue.claim("w1", 2)).jobs
    await settle_one(queue, old, "c")
    clock.advance(1_001)

    await settle_one(queue, new, "c")

    assert await queue.get_job(old.id) is None
    assert await state_of(queue, new.id) is JobState.COMPLETED


async def test_retention_of_failed_jobs(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue(retention=Retention(failed_count=1, failed_age_ms=0))
    await queue.add_bulk([NewJob({"n": i}) for i in range(2)])
    first, second = (await queue.claim("w1", 2)).jobs
    await settle_one(queue, first, "f", {"message": "x"})
    clock.advance(1)

    await settle_one(queue, second, "f", {"message": "y"})

    assert await queue.get_job(first.id) is None
    assert (await queue.counts()).failed == 1


async def test_retention_without_bounds_keeps_everything(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(retention=Retention(completed_count=-1, completed_age_ms=0))
    await queue.add_bulk([NewJob({"n": i}) for i in range(3)])
    for job in (await queue.claim("w1", 3)).jobs:
        clock.advance(10_000_000)
        await settle_one(queue, job, "c")

    assert (await queue.counts()).completed == 3
