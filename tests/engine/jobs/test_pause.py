"""pause.lua: a paused queue accepts jobs but hands none out until resumed."""

from __future__ import annotations

from corral.queue import ClaimCode

from tests.conftest import QueueFactory
from tests.engine.helpers import claim_ids, raw, settle_one


async def test_pause_and_resume_report_whether_anything_changed(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()

    assert await queue.resume() is False
    assert await queue.pause() is True
    assert await queue.pause() is False
    assert (await queue.counts()).paused is True
    assert await queue.resume() is True
    assert (await queue.counts()).paused is False


async def test_paused_queue_accepts_jobs_and_lets_running_ones_finish(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    (running,) = (await queue.claim("w1", 1)).jobs
    await queue.pause()

    queued = (await queue.add({"n": 2})).job_id

    assert (await queue.claim("w1", 5)).code is ClaimCode.PAUSED
    assert await settle_one(queue, running, "c") == 1
    await raw(queue).delete(queue.keys.wake)
    await queue.resume()
    assert await raw(queue).llen(queue.keys.wake) == 1
    assert await claim_ids(queue) == [queued]
