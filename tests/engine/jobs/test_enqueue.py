"""enqueue.lua: add, bulk add, custom ids, delay, priority, ttl and deduplication."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from corral.errors import InvalidIdentifierError, WaitingQuotaError
from corral.job import Backoff, Deduplication, DedupMode, JobOptions, JobState
from corral.queue import ClaimCode, NewJob

from tests.conftest import START_MS, FakeClock, QueueFactory
from tests.engine.helpers import claim_ids, raw, settle_one, state_of


async def test_add_stores_the_job_waiting_with_resolved_options(make_queue: QueueFactory) -> None:
    queue = make_queue(attempts=4, timeout_ms=2_000)

    result = await queue.add({"n": 7})

    assert result.created and not result.deduplicated and not result.debounced
    job = await queue.get_job(result.job_id)
    assert job is not None
    assert job.state is JobState.WAITING
    assert job.data == {"n": 7, "subAccountId": None}
    assert job.group == "default"
    assert job.created_at == START_MS
    assert job.attempts_made == 0
    assert job.options.attempts == 4
    assert job.options.timeout == 2_000
    assert job.options.backoff.type == "exponential"
    assert (await queue.counts()).waiting == 1


async def test_group_comes_from_the_tenant_or_the_caller(make_queue: QueueFactory) -> None:
    queue = make_queue()

    by_tenant = await queue.add({"subAccountId": "acme"})
    by_caller = await queue.add({"subAccountId": "acme"}, group="other")

    assert (await queue.get_job(by_tenant.job_id)).group == "acme"  # type: ignore[union-attr]
    assert (await queue.get_job(by_caller.job_id)).group == "other"  # type: ignore[union-attr]


async def test_invalid_group_is_rejected_before_redis(make_queue: QueueFactory) -> None:
    queue = make_queue()

    with pytest.raises(InvalidIdentifierError):
        await queue.add({"n": 1}, group="no spaces")

    assert (await queue.counts()).waiting == 0


async def test_bulk_add_keeps_order_and_fifo(make_queue: QueueFactory) -> None:
    queue = make_queue()

    results = await queue.add_bulk([NewJob({"n": i}) for i in range(5)])

    assert [r.created for r in results] == [True] * 5
    assert await claim_ids(queue, n=5) == [r.job_id for r in results]


async def test_one_bulk_mixes_jobs_with_and_without_options(make_queue: QueueFactory) -> None:
    """A call whose jobs set no option sends each as id, group and data alone; one job with
    options sends them all in full: both forms store the same jobs."""
    queue = make_queue(timeout_ms=2_000)
    plain = await queue.add_bulk([NewJob({"n": 1}), NewJob({"n": 2}, None, "acme")])
    mixed = await queue.add_bulk(
        [NewJob({"n": 3}), NewJob({"n": 4}, JobOptions(priority=5, delay=1_000, timeout=900))]
    )

    jobs = [await queue.get_job(r.job_id) for r in [*plain, *mixed]]
    assert all(job is not None for job in jobs)
    one, two, three, four = (job for job in jobs if job is not None)
    assert (one.group, two.group, three.group) == ("default", "acme", "default")
    assert [job.state for job in (one, two, three)] == [JobState.WAITING] * 3
    assert [job.options.timeout for job in (one, two, three)] == [2_000] * 3
    assert [job.priority for job in (one, two, three)] == [0, 0, 0]
    assert four.state is JobState.DELAYED
    assert (four.priority, four.options.timeout, four.options.delay) == (5, 900, 1_000)
    # The queue's defaults are kept once, not in the hash of a job that took them.
    assert await raw(queue).hget(queue.keys.job(one.id), "opts") is None


async def test_defaults_are_written_again_when_redis_lost_the_queue(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue(timeout_ms=2_000)
    await queue.add({"n": 1})
    # A flush, as far as this queue can tell, then another script starts its sequence anew
    # (a restore, a retry) before the producer's next enqueue.
    await raw(queue).delete(queue.keys.meta)
    await raw(queue).hset(queue.keys.meta, "seq", "5")

    result = await queue.add({"n": 2})

    assert await raw(queue).hget(queue.keys.meta, "timeout") == "2000"
    job = await queue.get_job(result.job_id)
    assert job is not None and job.options.timeout == 2_000


async def test_custom_id_is_used_and_a_second_add_is_a_duplicate(make_queue: QueueFactory) -> None:
    queue = make_queue()

    first = await queue.add({"n": 1}, JobOptions(job_id="order-42"))
    second = await queue.add({"n": 2}, JobOptions(job_id="order-42"))

    assert (first.job_id, first.created) == ("order-42", True)
    assert (second.job_id, second.created, second.deduplicated) == ("order-42", False, True)
    job = await queue.get_job("order-42")
    assert job is not None and job.data["n"] == 1
    assert (await queue.counts()).waiting == 1


async def test_custom_id_repeated_within_one_bulk(make_queue: QueueFactory) -> None:
    queue = make_queue()
    opts = JobOptions(job_id="same")

    results = await queue.add_bulk([NewJob({"n": 1}, opts), NewJob({"n": 2}, opts)])

    assert [(r.job_id, r.created) for r in results] == [("same", True), ("same", False)]


async def test_delayed_job_runs_only_when_due(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1}, JobOptions(delay=5_000))).job_id
    assert await state_of(queue, job_id) is JobState.DELAYED

    early = await queue.claim("w1", 1)
    assert (early.code, early.hint_ms, early.jobs) == (ClaimCode.EMPTY, 5_000, [])

    clock.advance(5_000)
    assert await claim_ids(queue) == [job_id]


async def test_lower_priority_first_and_fifo_within_a_priority(make_queue: QueueFactory) -> None:
    queue = make_queue()
    low = [(await queue.add({"n": i}, JobOptions(priority=5))).job_id for i in range(2)]
    high = [(await queue.add({"n": i}, JobOptions(priority=1))).job_id for i in range(2)]
    plain = (await queue.add({"n": 9})).job_id

    assert await claim_ids(queue, n=10) == [plain, *high, *low]


async def test_delayed_jobs_keep_their_priority_once_due(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    late = (await queue.add({"n": 1}, JobOptions(priority=9))).job_id
    urgent = (await queue.add({"n": 2}, JobOptions(priority=1, delay=10))).job_id
    clock.advance(10)

    assert await claim_ids(queue, n=2) == [urgent, late]


async def test_ttl_expires_a_job_that_did_not_start_in_time(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    stale = (await queue.add({"n": 1}, JobOptions(ttl=1_000))).job_id
    fresh = (await queue.add({"n": 2}, JobOptions(ttl=5_000))).job_id
    clock.advance(1_001)

    result = await queue.claim("w1", 5)

    assert [j.id for j in result.jobs] == [fresh]
    assert result.expired == [stale]
    job = await queue.get_job(stale)
    assert job is not None and job.state is JobState.FAILED
    assert job.error["type"] == "ExpiredError"


async def test_ttl_counts_from_the_end_of_the_delay(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1}, JobOptions(delay=1_000, ttl=500))).job_id
    clock.advance(1_400)

    assert await claim_ids(queue) == [job_id]


async def test_ttl_does_not_expire_a_retry_of_a_started_job(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1}, JobOptions(ttl=1_000))).job_id
    (job,) = (await queue.claim("w1", 1)).jobs
    assert await settle_one(queue, job, "r", {"message": "boom"}, clock.now + 5_000) == 1
    clock.advance(5_000)

    result = await queue.claim("w1", 1)

    assert [j.id for j in result.jobs] == [job_id] and result.expired == []
    assert result.jobs[0].attempt == 2


async def test_enqueue_wakes_idle_drainers_once(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add_bulk([NewJob({"n": i}) for i in range(3)])
    await queue.add({"n": 4})

    assert await raw(queue).lrange(queue.keys.wake, 0, -1) == ["1"]


def dedup(mode: DedupMode, ttl: int | None = None, delay: int = 0) -> JobOptions:
    return JobOptions(delay=delay, deduplication=Deduplication(id="d1", mode=mode, ttl=ttl))


async def test_simple_dedup_while_pending_or_active(make_queue: QueueFactory) -> None:
    queue = make_queue()
    first = await queue.add({"n": 1}, dedup(DedupMode.SIMPLE))

    while_waiting = await queue.add({"n": 2}, dedup(DedupMode.SIMPLE))
    (job,) = (await queue.claim("w1", 1)).jobs
    while_active = await queue.add({"n": 3}, dedup(DedupMode.SIMPLE))

    for dup in (while_waiting, while_active):
        assert (dup.job_id, dup.deduplicated) == (first.job_id, True)
    assert (await queue.get_job(first.job_id)).data["n"] == 1  # type: ignore[union-attr]

    assert await settle_one(queue, job, "c") == 1
    after = await queue.add({"n": 4}, dedup(DedupMode.SIMPLE))
    assert after.created and after.job_id != first.job_id


@pytest.mark.parametrize("kind", ["f", "cancel"])
async def test_simple_dedup_released_by_failure_and_cancel(
    make_queue: QueueFactory, kind: str
) -> None:
    queue = make_queue()
    first = await queue.add({"n": 1}, dedup(DedupMode.SIMPLE))
    if kind == "cancel":
        await queue.cancel(first.job_id)
    else:
        (job,) = (await queue.claim("w1", 1)).jobs
        await settle_one(queue, job, kind, {"message": "x"})

    assert (await queue.add({"n": 2}, dedup(DedupMode.SIMPLE))).created


async def test_throttle_ignores_duplicates_for_its_ttl_even_after_completion(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    first = await queue.add({"n": 1}, dedup(DedupMode.THROTTLE, ttl=60_000))
    (job,) = (await queue.claim("w1", 1)).jobs
    await settle_one(queue, job, "c")

    dup = await queue.add({"n": 2}, dedup(DedupMode.THROTTLE, ttl=60_000))

    assert (dup.job_id, dup.deduplicated) == (first.job_id, True)
    pttl = await raw(queue).pttl(queue.keys.dedup("d1"))
    assert 0 < pttl <= 60_000


async def test_throttle_lets_a_job_through_once_its_ttl_is_over(make_queue: QueueFactory) -> None:
    queue = make_queue()
    first = await queue.add({"n": 1}, dedup(DedupMode.THROTTLE, ttl=20))
    # The throttle window is a Redis key expiry (server time), so wait it out for real.
    await asyncio.sleep(0.1)

    second = await queue.add({"n": 2}, dedup(DedupMode.THROTTLE, ttl=20))

    assert second.created and second.job_id != first.job_id


async def test_debounce_replaces_data_and_restarts_the_delay(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    first = await queue.add({"n": 1}, dedup(DedupMode.DEBOUNCE, delay=1_000))
    clock.advance(800)

    second = await queue.add({"n": 2}, dedup(DedupMode.DEBOUNCE, delay=1_000))

    assert (second.job_id, second.debounced, second.created) == (first.job_id, True, False)
    job = await queue.get_job(first.job_id)
    assert job is not None and job.data["n"] == 2
    clock.advance(800)
    assert await claim_ids(queue) == []
    clock.advance(200)
    assert await claim_ids(queue) == [first.job_id]


async def test_debounce_of_a_waiting_job_moves_it_back_to_delayed(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    first = await queue.add({"n": 1}, dedup(DedupMode.DEBOUNCE))

    second = await queue.add({"n": 2}, dedup(DedupMode.DEBOUNCE, delay=500))

    assert second.debounced and second.job_id == first.job_id
    counts = await queue.counts()
    assert (counts.waiting, counts.delayed) == (0, 1)
    assert await state_of(queue, first.job_id) is JobState.DELAYED
    assert await raw(queue).llen(queue.keys.base + "ring") == 0


async def test_debounce_starts_a_new_job_once_the_old_one_runs(make_queue: QueueFactory) -> None:
    queue = make_queue()
    first = await queue.add({"n": 1}, dedup(DedupMode.DEBOUNCE))
    await queue.claim("w1", 1)

    second = await queue.add({"n": 2}, dedup(DedupMode.DEBOUNCE))

    assert second.created and second.job_id != first.job_id


async def test_backoff_option_overrides_the_queue_default(make_queue: QueueFactory) -> None:
    queue = make_queue()
    opts: dict[str, Any] = {"backoff": Backoff(type="fixed", delay=10), "timeout": 50}

    job_id = (await queue.add({"n": 1}, JobOptions(**opts))).job_id

    job = await queue.get_job(job_id)
    assert job is not None
    assert job.options.backoff.type == "fixed" and job.options.timeout == 50


# -- the waiting-jobs quota (checked in the script, before anything is written) -----------


async def test_a_group_over_its_waiting_quota_gets_nothing_added(
    make_queue: QueueFactory, redis: Any
) -> None:
    queue = make_queue()
    acme = [NewJob({"n": i}, None, "acme") for i in range(3)]
    assert len(await queue.add_bulk(acme, max_waiting=3)) == 3
    seq_before = await redis.hget(queue.keys.meta, "seq")

    with pytest.raises(WaitingQuotaError, match=r"3 jobs waiting .*quota 3") as refused:
        await queue.add_bulk([NewJob({"n": 9}, None, "acme")], max_waiting=3)

    assert refused.value.retry_after_s >= 1
    assert (await queue.counts()).waiting == 3
    assert await redis.hget(queue.keys.meta, "seq") == seq_before  # nothing written
    # Another group, and delayed jobs, are not held to acme's count.
    assert await queue.add_bulk([NewJob({"n": 1}, None, "zeta")], max_waiting=3)
    later = NewJob({"n": 2}, JobOptions(delay=60_000), "acme")
    assert await queue.add_bulk([later], max_waiting=3)
    # No quota: as before.
    assert await queue.add_bulk([NewJob({"n": 3}, None, "acme")])


async def test_a_batch_that_would_pass_the_waiting_quota_is_refused_whole(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    await queue.add_bulk([NewJob({"n": 0}, None, "acme")], max_waiting=3)

    batch = [NewJob({"n": i}, None, "acme") for i in range(3)]
    with pytest.raises(WaitingQuotaError):
        await queue.add_bulk(batch, max_waiting=3)
    assert (await queue.counts()).waiting == 1
    assert len(await queue.add_bulk(batch[:2], max_waiting=3)) == 2
