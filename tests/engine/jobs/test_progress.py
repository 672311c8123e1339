"""progress.lua: a held job records progress; others get the matching error."""

from __future__ import annotations

import pytest
from corral.errors import JobNotFoundError, LeaseLostError

from tests.conftest import FakeClock, QueueFactory


async def test_progress_is_recorded_by_the_holder(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs

    await queue.progress(job.id, job.token, 40)
    await queue.progress(job.id, job.token, {"rows": 10, "pct": 50})

    stored = await queue.get_job(job.id)
    assert stored is not None and stored.progress == {"rows": 10, "pct": 50}


async def test_progress_for_a_missing_job(make_queue: QueueFactory) -> None:
    queue = make_queue()

    with pytest.raises(JobNotFoundError):
        await queue.progress("nope", "w1:1", 1)


async def test_progress_after_the_lease_was_lost(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(timeout_ms=1_000)
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs
    clock.advance(60_000)
    await queue.recover_stalled()

    with pytest.raises(LeaseLostError):
        await queue.progress(job.id, job.token, 99)

    stored = await queue.get_job(job.id)
    assert stored is not None and stored.progress is None


async def test_progress_on_a_job_never_claimed_is_a_lost_lease(make_queue: QueueFactory) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1})).job_id

    with pytest.raises(LeaseLostError):
        await queue.progress(job_id, "w1:1", 5)
