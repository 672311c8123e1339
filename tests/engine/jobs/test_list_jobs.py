"""list_jobs.lua: a page of jobs by state, in run order or newest first, with a total."""

from __future__ import annotations

from corral.job import JobOptions, JobState
from corral.queue import NewJob

from tests.conftest import FakeClock, QueueFactory
from tests.engine.helpers import settle_one


async def test_waiting_jobs_in_run_order_across_groups(make_queue: QueueFactory) -> None:
    queue = make_queue()
    a = (await queue.add({"n": 1}, group="a")).job_id
    b = (await queue.add({"n": 2}, group="b")).job_id
    urgent = (await queue.add({"n": 3}, JobOptions(priority=0), group="b")).job_id
    later = (await queue.add({"n": 4}, JobOptions(priority=3), group="a")).job_id

    total, jobs = await queue.list_jobs(JobState.WAITING)

    assert total == 4
    assert [j.id for j in jobs] == [a, b, urgent, later]
    assert jobs[0].data == {"n": 1, "subAccountId": None}
    assert all(j.state is JobState.WAITING for j in jobs)


async def test_pages_with_offset_and_limit(make_queue: QueueFactory) -> None:
    queue = make_queue()
    ids = [r.job_id for r in await queue.add_bulk([NewJob({"n": i}) for i in range(5)])]

    total, page = await queue.list_jobs(JobState.WAITING, offset=2, limit=2)
    _, tail = await queue.list_jobs(JobState.WAITING, offset=4, limit=2)
    _, beyond = await queue.list_jobs(JobState.WAITING, offset=9, limit=2)

    assert total == 5
    assert [j.id for j in page] == ids[2:4]
    assert [j.id for j in tail] == ids[4:]
    assert beyond == []


async def test_finished_jobs_newest_first(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue()
    await queue.add_bulk([NewJob({"n": i}) for i in range(3)])
    jobs = (await queue.claim("w1", 3)).jobs
    for job in jobs:
        clock.advance(10)
        await settle_one(queue, job, "c", {"n": job.id})

    total, listed = await queue.list_jobs(JobState.COMPLETED, limit=2)

    assert total == 3
    assert [j.id for j in listed] == [jobs[2].id, jobs[1].id]
    assert listed[0].result == {"n": jobs[2].id}


async def test_delayed_by_due_time_and_active_by_lease(make_queue: QueueFactory) -> None:
    queue = make_queue()
    late = (await queue.add({"n": 1}, JobOptions(delay=5_000))).job_id
    soon = (await queue.add({"n": 2}, JobOptions(delay=1_000))).job_id
    running = (await queue.add({"n": 3})).job_id
    await queue.claim("w1", 1)

    assert [j.id for j in (await queue.list_jobs(JobState.DELAYED))[1]] == [soon, late]
    total, active = await queue.list_jobs(JobState.ACTIVE)
    assert (total, [j.id for j in active]) == (1, [running])


async def test_failed_and_cancelled_lists(make_queue: QueueFactory) -> None:
    queue = make_queue()
    cancelled = (await queue.add({"n": 1}, JobOptions(delay=10))).job_id
    await queue.cancel(cancelled)
    await queue.add({"n": 2})
    (job,) = (await queue.claim("w1", 1)).jobs
    await settle_one(queue, job, "f", {"message": "x"})

    assert [j.id for j in (await queue.list_jobs(JobState.CANCELLED))[1]] == [cancelled]
    _, failed = await queue.list_jobs(JobState.FAILED)
    assert [(j.id, j.error) for j in failed] == [(job.id, {"message": "x"})]
