"""update_waiting.lua: change a job's data, priority or delay before it starts; any
other state answers with its code."""

from __future__ import annotations

import json

import pytest
from corral.controls import update_waiting
from corral.errors import JobNotFoundError, JobStateError
from corral.job import JobOptions, JobState
from corral.queue import Outcome

from tests.conftest import FakeClock, QueueFactory


async def test_new_data_is_what_the_job_runs_with(make_queue: QueueFactory) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1})).job_id
    opts, data = await update_waiting(queue, job_id, json.dumps({"n": 7}), None, None)
    assert json.loads(data) == {"n": 7}
    assert opts.priority == 0
    (job,) = (await queue.claim("w", 1)).jobs
    assert json.loads(job.data) == {"n": 7}


async def test_a_new_priority_moves_a_waiting_job_ahead(make_queue: QueueFactory) -> None:
    queue = make_queue()
    first = (await queue.add({"n": 1}, JobOptions(priority=5))).job_id
    second = (await queue.add({"n": 2}, JobOptions(priority=5))).job_id
    opts, _ = await update_waiting(queue, second, None, 1, None)
    assert opts.priority == 1
    claimed = [job.id for job in (await queue.claim("w", 2)).jobs]
    assert claimed == [second, first]
    stored = await queue.get_job(second)
    assert stored is not None and stored.priority == 1


async def test_a_delay_postpones_a_waiting_job_and_zero_runs_a_delayed_one(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1})).job_id
    clock.advance(1_000)
    opts, _ = await update_waiting(queue, job_id, None, None, 60_000)
    # Kept as the delay from creation, as a restore from the job table reads it.
    assert opts.delay == 61_000
    stored = await queue.get_job(job_id)
    assert stored is not None and stored.state is JobState.DELAYED
    assert (await queue.claim("w", 1)).jobs == []

    await update_waiting(queue, job_id, None, None, 0)
    (job,) = (await queue.claim("w", 1)).jobs
    assert job.id == job_id


async def test_a_running_finished_or_missing_job_is_refused(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w", 1)).jobs
    with pytest.raises(JobStateError):
        await update_waiting(queue, job.id, None, 3, None)
    await queue.settle("w", [Outcome(job, "c", "null")])
    with pytest.raises(JobStateError):
        await update_waiting(queue, job.id, None, 3, None)
    with pytest.raises(JobNotFoundError):
        await update_waiting(queue, "nope", None, 3, None)
