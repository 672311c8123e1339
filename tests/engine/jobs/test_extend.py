"""extend.lua: heartbeats move a held job's lease deadline; lost leases are reported."""

from __future__ import annotations

from corral.queue import LeaseSettings

from tests.conftest import FakeClock, QueueFactory
from tests.engine.helpers import raw, settle_one


async def test_extend_moves_the_lease_deadline(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue(timeout_ms=1_000, lease=LeaseSettings(cap_ms=30_000, margin_ms=0))
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs
    clock.advance(900)

    assert await queue.extend([job], 5_000) == []

    active = queue.keys.base + "active"
    assert await raw(queue).zscore(active, job.id) == clock.now + 5_000
    clock.advance(4_000)
    assert await queue.recover_stalled() == ([], [])


async def test_extend_reports_lost_leases_and_leaves_them_alone(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(timeout_ms=1_000)
    await queue.add({"n": 1})
    await queue.add({"n": 2})
    stale, kept = (await queue.claim("w1", 2)).jobs
    clock.advance(60_000)
    await queue.extend([kept], 60_000)
    await queue.recover_stalled()
    (retaken,) = (await queue.claim("w2", 1)).jobs
    assert retaken.id == stale.id
    active = queue.keys.base + "active"
    deadline = await raw(queue).zscore(active, stale.id)

    assert await queue.extend([stale, kept], 120_000) == [stale.id]

    assert await raw(queue).zscore(active, stale.id) == deadline
    assert await raw(queue).zscore(active, kept.id) == clock.now + 120_000


async def test_extend_never_resurrects_a_finished_job(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w1", 1)).jobs
    assert await settle_one(queue, job, "c") == 1

    assert await queue.extend([job], 10_000) == [job.id]
    assert (await queue.counts()).processing == 0
