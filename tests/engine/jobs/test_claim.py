"""claim.lua: leases, pause, global concurrency, rate limit, groups and round-robin."""

from __future__ import annotations

import json

from corral.definition import RateLimit
from corral.job import JobOptions, JobState
from corral.queue import ClaimCode, LeaseSettings, NewJob, Queue

from tests.conftest import FakeClock, QueueFactory
from tests.engine.helpers import claim_ids, raw, settle_one, state_of


async def add_many(queue: Queue, count: int, group: str | None = None) -> list[str]:
    results = await queue.add_bulk([NewJob({"n": i}, group=group) for i in range(count)])
    return [r.job_id for r in results]


async def test_empty_queue_says_when_the_next_delayed_job_is_due(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    nothing = await queue.claim("w1", 5)
    assert (nothing.code, nothing.hint_ms, nothing.jobs, nothing.expired) == (
        ClaimCode.EMPTY,
        -1,
        [],
        [],
    )

    await queue.add({"n": 1}, JobOptions(delay=3_000))
    clock.advance(1_000)
    later = await queue.claim("w1", 5)
    assert (later.code, later.hint_ms) == (ClaimCode.EMPTY, 2_000)


async def test_claiming_zero_jobs_takes_nothing(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add({"n": 1})

    result = await queue.claim("w1", 0)

    assert (result.code, result.jobs) == (ClaimCode.EMPTY, [])
    assert (await queue.counts()).waiting == 1


async def test_claimed_job_carries_what_a_worker_needs_and_a_lease(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(timeout_ms=2_000, lease=LeaseSettings(cap_ms=30_000, margin_ms=500))
    job_id = (await queue.add({"n": 3}, group="acme")).job_id
    clock.advance(10)

    result = await queue.claim("w1", 5)

    assert result.code is ClaimCode.CLAIMED
    (job,) = result.jobs
    assert (job.id, job.attempt, job.group, job.token) == (job_id, 1, "acme", "w1:1")
    assert job.created_at == clock.now - 10
    assert job.options.timeout == 2_000
    assert json.loads(job.data) == {"n": 3, "subAccountId": None}
    redis = raw(queue)
    lease = await redis.zscore(queue.keys.base + "active", job_id)
    assert lease == clock.now + 2_000 + 500
    stored = await queue.get_job(job_id)
    assert stored is not None and stored.state is JobState.ACTIVE
    assert (stored.attempts_made, stored.processed_at) == (1, clock.now)


async def test_lease_is_capped_for_long_timeouts(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(timeout_ms=600_000, lease=LeaseSettings(cap_ms=10_000, margin_ms=1_000))
    job_id = (await queue.add({"n": 1})).job_id
    await queue.claim("w1", 1)

    lease = await raw(queue).zscore(queue.keys.base + "active", job_id)
    assert lease == clock.now + 11_000


async def test_paused_queue_hands_out_nothing(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add({"n": 1})
    await queue.pause()

    result = await queue.claim("w1", 5)

    assert (result.code, result.jobs) == (ClaimCode.PAUSED, [])
    assert (await queue.counts()).waiting == 1


async def test_global_concurrency_bounds_active_jobs(make_queue: QueueFactory) -> None:
    queue = make_queue(concurrency=2)
    await add_many(queue, 5)

    first = await queue.claim("w1", 5)
    full = await queue.claim("w2", 5)

    assert len(first.jobs) == 2
    assert (full.code, full.jobs) == (ClaimCode.AT_CONCURRENCY, [])
    await settle_one(queue, first.jobs[0], "c")
    assert len(await claim_ids(queue, "w2", 5)) == 1


async def test_rate_limit_and_the_hint_to_the_next_token(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(rate_limit=RateLimit(max=3, duration_ms=1_000))
    await add_many(queue, 8)

    assert len(await claim_ids(queue, n=5)) == 3
    limited = await queue.claim("w1", 5)
    assert (limited.code, limited.hint_ms, limited.jobs) == (ClaimCode.RATE_LIMITED, 1_000, [])

    clock.advance(400)
    assert (await queue.claim("w1", 5)).hint_ms == 600
    clock.advance(600)
    assert len(await claim_ids(queue, n=5)) == 3


async def test_rate_limit_window_slides(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue(rate_limit=RateLimit(max=2, duration_ms=1_000))
    await add_many(queue, 6)
    assert len(await claim_ids(queue, n=1)) == 1
    clock.advance(500)
    assert len(await claim_ids(queue, n=5)) == 1

    clock.advance(500)  # the first token is free again, the second is not

    assert len(await claim_ids(queue, n=5)) == 1
    assert (await queue.claim("w1", 5)).hint_ms == 500


async def test_groups_are_served_round_robin(make_queue: QueueFactory) -> None:
    queue = make_queue()
    big = await add_many(queue, 6, group="big")
    small = await add_many(queue, 2, group="small")

    batch = await claim_ids(queue, n=4)

    assert batch == [big[0], small[0], big[1], small[1]]
    # A lone group then takes the rest of a batch at once.
    assert await claim_ids(queue, n=10) == big[2:]


async def test_priority_orders_jobs_within_a_tenant_while_tenants_take_turns(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    routine = (await queue.add({"n": 1}, JobOptions(priority=9), group="a")).job_id
    other = (await queue.add({"n": 2}, JobOptions(priority=5), group="b")).job_id
    urgent = (await queue.add({"n": 3}, JobOptions(priority=1), group="a")).job_id

    batch = await claim_ids(queue, n=3)

    assert batch == [urgent, other, routine]


async def test_a_backlog_does_not_starve_a_new_tenant(make_queue: QueueFactory) -> None:
    queue = make_queue()
    backlog = await add_many(queue, 50, group="busy")
    assert await claim_ids(queue, n=5) == backlog[:5]

    (single,) = await add_many(queue, 1, group="quiet")

    assert single in await claim_ids(queue, n=2)


async def test_group_concurrency_parks_a_busy_group(make_queue: QueueFactory) -> None:
    queue = make_queue(group_concurrency=1)
    a = await add_many(queue, 3, group="a")
    b = await add_many(queue, 3, group="b")

    first = (await queue.claim("w1", 10)).jobs
    assert [j.id for j in first] == [a[0], b[0]]
    assert await claim_ids(queue, n=10) == []
    assert await raw(queue).smembers(queue.keys.base + "parked") == {"a", "b"}

    await settle_one(queue, first[0], "c")
    assert await claim_ids(queue, n=10) == [a[1]]
    assert (await queue.counts()).waiting == 3


async def test_group_concurrency_with_a_new_job_for_a_busy_group(make_queue: QueueFactory) -> None:
    queue = make_queue(group_concurrency=1)
    (first,) = await add_many(queue, 1, group="a")
    (job,) = (await queue.claim("w1", 5)).jobs
    (second,) = await add_many(queue, 1, group="a")

    assert await claim_ids(queue, n=5) == []
    await settle_one(queue, job, "c")
    assert await claim_ids(queue, n=5) == [second]
    assert first != second


async def test_expired_jobs_are_reported_and_others_still_claimed(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    expiring = (await queue.add({"n": 1}, JobOptions(ttl=10))).job_id
    clock.advance(11)

    only_expired = await queue.claim("w1", 5)

    assert (only_expired.code, only_expired.expired, only_expired.hint_ms) == (
        ClaimCode.EMPTY,
        [expiring],
        -1,
    )
    assert await state_of(queue, expiring) is JobState.FAILED
    assert (await queue.counts()).failed == 1


async def test_claim_passes_the_wake_up_on_while_work_remains(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await add_many(queue, 2, group="a")
    await add_many(queue, 1, group="b")
    await raw(queue).delete(queue.keys.wake)

    await queue.claim("w1", 1)
    assert await raw(queue).llen(queue.keys.wake) == 1

    await raw(queue).delete(queue.keys.wake)
    await queue.claim("w1", 10)
    assert await raw(queue).llen(queue.keys.wake) == 0


async def test_at_concurrency_says_when_the_earliest_lease_runs_out(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    lease = LeaseSettings(cap_ms=1_000, margin_ms=500)
    queue = make_queue(concurrency=2, timeout_ms=1_000, lease=lease)
    await add_many(queue, 3)
    await queue.claim("w1", 1)
    clock.advance(200)
    await queue.claim("w2", 1)

    full = await queue.claim("w3", 1)
    assert (full.code, full.hint_ms, full.at) == (ClaimCode.AT_CONCURRENCY, 1_300, clock.now)
    assert full.code.held_by_leases

    clock.advance(1_300)
    assert (await queue.claim("w3", 1)).hint_ms == 0  # lapsed: recover.lua frees the slot
    assert await queue.recover_stalled() != ([], [])
    assert len((await queue.claim("w3", 1)).jobs) == 1


async def test_jobs_behind_a_group_limit_are_not_reported_as_nothing_waiting(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    lease = LeaseSettings(cap_ms=1_000, margin_ms=500)
    queue = make_queue(group_concurrency=1, timeout_ms=1_000, lease=lease)
    await add_many(queue, 2, group="acme")
    assert len(await claim_ids(queue, "w1", 5)) == 1

    limited = await queue.claim("w2", 5)
    assert (limited.code, limited.hint_ms, limited.jobs) == (ClaimCode.GROUP_LIMITED, 1_500, [])
    assert limited.code.held_by_leases
