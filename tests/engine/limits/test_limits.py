"""Limits under contention: 8 drainers, each with its own Redis client, drain one queue.

Global concurrency, the rate limit, per-group concurrency and fairness between tenants
must hold across all of them, because they are checked inside the claim script.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from corral.context import JobContext
from corral.definition import RateLimit, Retention
from corral.drain import Drainer, DrainHooks
from corral.job import JobOptions, KeyGroupOption, KeyGroupRate
from corral.limits import StoredLimits, mirror
from corral.queue import ClaimedJob, NewJob, Queue
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL, Payload, shared_client
from tests.engine.drain_helpers import CountingRedis, Recorder, real_queue, wait_for

DRAINERS = 8
Crew = Callable[..., list[Queue]]


@pytest.fixture
async def crew(single_redis: Redis, prefix: str) -> AsyncIterator[Crew]:
    """``crew(handler, **definition_options)``: one queue object per drainer, own clients."""
    clients: list[CountingRedis] = []

    def build(handler: Callable[..., Any], **options: Any) -> list[Queue]:
        queues = []
        for _ in range(DRAINERS):
            client = shared_client(CountingRedis)
            clients.append(client)
            queues.append(real_queue(client, prefix, handler, **options))
        return queues

    try:
        yield build
    finally:
        for client in clients:
            await client.aclose()


async def drain_all(queues: list[Queue], total: int, timeout: float = 30, **kw: Any) -> None:
    """Run one drainer per queue object until ``total`` jobs completed, then stop them."""
    drainers = [Drainer(queue, **kw) for queue in queues]
    tasks = [asyncio.create_task(d.run()) for d in drainers]

    async def all_done() -> bool:
        return (await queues[0].counts()).completed >= total

    try:
        await wait_for(all_done, timeout)
    finally:
        for drainer in drainers:
            drainer.stop()
        # Unblock the idle ones waiting on the wake-up list, so they see the stop.
        await queues[0].redis.lpush(queues[0].keys.wake, *["1"] * DRAINERS)
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert sum(d.stats.completed for d in drainers) == total
    assert sum(d.stats.lease_lost + d.stats.stalled_requeued for d in drainers) == 0


async def test_global_concurrency_holds_across_drainers(crew: Crew) -> None:
    recorder = Recorder()
    queues = crew(recorder.handler(0.02), concurrency=3)
    await queues[0].add_bulk([NewJob({"n": i}) for i in range(120)])

    await drain_all(queues, 120, concurrency=4, batch_size=8)

    calls = sum(q.redis.sent["EVALSHA"] for q in queues)  # type: ignore[union-attr]
    print(f"script calls per job, 8 drainers at the concurrency limit: {calls / 120:.1f}")
    assert len(recorder.starts) == 120
    assert recorder.max_running == 3
    # Drainers at the limit block until a settle frees a slot (they polled: ~5 calls a job).
    assert calls <= 3 * 120


async def test_under_a_limit_a_drainer_claims_only_what_its_free_handlers_start(
    crew: Crew,
) -> None:
    recorder = Recorder()
    queues = crew(recorder.handler(0.5), concurrency=3)
    await queues[0].add_bulk([NewJob({"n": i}) for i in range(6)])
    one = Drainer(queues[0], concurrency=1, batch_size=8)
    other = Drainer(queues[1], concurrency=2, batch_size=8)
    tasks = [asyncio.create_task(one.run())]
    try:

        async def started() -> bool:
            return recorder.running == 1

        await wait_for(started)
        # A job claimed ahead of its one handler would hold a slot of the three.
        assert (await queues[0].counts()).processing == 1
        tasks.append(asyncio.create_task(other.run()))

        async def full() -> bool:
            return recorder.running == 3

        await wait_for(full, 3)
    finally:
        for drainer in (one, other):
            drainer.stop()
        await queues[0].redis.lpush(queues[0].keys.wake, "1", "1")
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
    assert recorder.max_running == 3


async def test_a_runtime_concurrency_holds_across_drainers_mid_run(crew: Crew) -> None:
    recorder = Recorder()
    # Jobs long enough that several overlap after the raise, even on a loaded machine.
    queues = crew(recorder.handler(0.12), concurrency=6)
    await queues[0].add_bulk([NewJob({"n": i}) for i in range(100)])
    await mirror(queues[0], StoredLimits({"concurrency": 2}, 1, []))
    drain = asyncio.create_task(drain_all(queues, 100, concurrency=4, batch_size=8))

    async def half_done() -> bool:
        return (await queues[0].counts()).completed >= 50

    await wait_for(half_done)
    at_two = recorder.max_running
    # Raised while the drainers run: in force at their next claims, with no restart.
    await mirror(queues[0], StoredLimits({"concurrency": 5}, 2, []))
    await drain

    assert at_two == 2
    # In force with no restart: all five slots fill, and never more. Under a limit a drainer
    # claims only what its free handlers can start, so no slot is held by a waiting job.
    assert recorder.max_running == 5


async def test_group_concurrency_holds_across_drainers(crew: Crew) -> None:
    recorder = Recorder()
    queues = crew(recorder.handler(0.02), group_concurrency=2)
    tenants = ["acme", "globex", "initech", "umbrella"]
    jobs = [NewJob({"n": i, "subAccountId": t}) for i in range(25) for t in tenants]
    await queues[0].add_bulk(jobs)

    # Each drainer can run all it claims at once, so the group limit is the only bound.
    await drain_all(queues, 100, concurrency=8, batch_size=8)

    assert len(recorder.starts) == 100
    assert set(recorder.group_max) == set(tenants)
    assert max(recorder.group_max.values()) == 2, dict(recorder.group_max)
    assert recorder.max_running <= 2 * len(tenants)


@pytest.mark.slow
async def test_rate_limit_holds_across_drainers(crew: Crew) -> None:
    recorder = Recorder()
    queues = crew(recorder.handler(0.0), rate_limit=RateLimit(max=20, duration_ms=1000))
    ids = [r.job_id for r in await queues[0].add_bulk([NewJob({"n": i}) for i in range(100)])]

    await drain_all(queues, 100, concurrency=4, batch_size=8)

    # Claim times as the limiter saw them (ms, the same clock for every drainer).
    claimed = sorted([int((await queues[0].get_job(i)).processed_at or 0) for i in ids])  # type: ignore[union-attr]
    busiest = max(bisect.bisect_left(claimed, t + 1000) - k for k, t in enumerate(claimed))
    # The first window's 20 come at once (a full bucket); each later second adds 20.
    rate = (len(claimed) - 20) / ((claimed[-1] - claimed[0]) / 1000)
    print(f"busiest 1 s window: {busiest} starts; rate after the first burst: {rate:.2f}/s")
    assert busiest <= 20
    assert 19 <= rate <= 21


class ClaimLog(DrainHooks):
    """Every claimed batch, in the order the drainers received them."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def claimed(self, jobs: Sequence[ClaimedJob]) -> None:
        self.batches.append([job.id for job in jobs])


@pytest.mark.slow
async def test_one_tenants_backlog_delays_another_by_at_most_one_batch(crew: Crew) -> None:
    recorder, log = Recorder(), ClaimLog()
    queues = crew(recorder.handler(0.001))
    batch = 8
    await queues[0].add_bulk([NewJob({"n": i, "subAccountId": "big"}) for i in range(1000)])
    drainers = [Drainer(q, concurrency=4, batch_size=batch, hooks=log) for q in queues]
    client = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    producer = real_queue(client, queues[0].keys.prefix, recorder.handler(0))
    tasks = [asyncio.create_task(d.run()) for d in drainers]
    try:

        async def underway() -> bool:
            return len(recorder.starts) >= 200

        await wait_for(underway)
        # A connection made beforehand, so that the enqueue is one round trip.
        await client.ping()
        before, claims_before = len(recorder.starts), len(log.batches)
        small = (await producer.add({"n": 0, "subAccountId": "small"})).job_id

        async def small_started() -> bool:
            return any(job_id == small for job_id, _, _ in recorder.starts)

        await wait_for(small_started)
    finally:
        for drainer in drainers:
            drainer.stop()
        await client.lpush(queues[0].keys.wake, *["1"] * DRAINERS)
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        await client.aclose()
    # In Redis it is exact: the first claim after the enqueue takes the small tenant's job,
    # with at most one job of the big tenant ahead of it (groups alternate).
    (claim,) = [k for k, ids in enumerate(log.batches) if small in ids]
    assert log.batches[claim].index(small) <= 1
    # Claims in flight when it was enqueued (one per drainer) may be logged after it.
    assert claim - claims_before <= 2 * DRAINERS
    # Each drainer then starts what it already holds first: at most low_water ready jobs
    # (a batch, once raised) when it claims, and until the first claim after the enqueue up
    # to a batch more.
    order = [job_id for job_id, _, _ in recorder.starts]
    ahead = order.index(small) - before
    print(f"claims in between: {claim - claims_before}; big-tenant starts in between: {ahead}")
    held = 2 * drainers[0].batch_size + 1
    assert 0 <= ahead <= DRAINERS * held


async def test_key_group_limits_hold_across_drainers(crew: Crew) -> None:
    """options.group: each key's concurrency and rate hold across 8 drainers, with two
    tenants taking turns, while the queue itself is unlimited."""
    running: Counter[str] = Counter()
    most: Counter[str] = Counter()

    async def handle(payload: Payload, job: JobContext) -> int:
        key = f"k{payload.n % 3}"
        running[key] += 1
        most[key] = max(most[key], running[key])
        try:
            await asyncio.sleep(0.02)
        finally:
            running[key] -= 1
        return payload.n

    queues = crew(handle)
    limits = {
        "k0": KeyGroupOption(id="k0", concurrency=2),
        "k1": KeyGroupOption(id="k1", concurrency=3),
        "k2": KeyGroupOption(id="k2", rate_limit=KeyGroupRate(max=5, duration_ms=400)),
    }
    jobs = [
        NewJob({"n": i, "subAccountId": f"t{i % 2}"}, JobOptions(group=limits[f"k{i % 3}"]))
        for i in range(90)
    ]
    ids = [r.job_id for r in await queues[0].add_bulk(jobs)]

    await drain_all(queues, 90, concurrency=8, batch_size=8)

    assert (most["k0"], most["k1"]) == (2, 3), dict(most)
    k2 = sorted([int((await queues[0].get_job(i)).processed_at or 0) for i in ids[2::3]])  # type: ignore[union-attr]
    busiest = max(bisect.bisect_left(k2, t + 400) - k for k, t in enumerate(k2))
    rate = (len(k2) - 5) / ((k2[-1] - k2[0]) / 400)
    print(f"key groups: most running {dict(most)}; k2 busiest 400 ms: {busiest}, rate {rate:.2f}")
    assert busiest <= 5
    assert 4 <= rate <= 5.5


async def test_key_groups_take_turns_across_drainers(crew: Crew) -> None:
    """Key a's 1,000 jobs enqueued before key b's 10, one tenant, 8 drainers: b's jobs start
    among the first ones, not after a's backlog."""
    recorder = Recorder()
    # Every completed job kept, so the count reaches 1,010 (retention keeps 1,000).
    keep = Retention(completed_count=-1, completed_age_ms=0)
    queues = crew(recorder.handler(0.001), retention=keep)
    big = [NewJob({"n": i}, JobOptions(group=KeyGroupOption(id="a"))) for i in range(1000)]
    await queues[0].add_bulk(big)
    small = [NewJob({"n": i}, JobOptions(group=KeyGroupOption(id="b"))) for i in range(10)]
    ids = {r.job_id for r in await queues[0].add_bulk(small)}

    await drain_all(queues, 1010, concurrency=4, batch_size=8)

    order = [job_id for job_id, _, _ in recorder.starts]
    last = max(order.index(job_id) for job_id in ids)
    print(f"key b's 10 jobs all started by start {last + 1} of 1,010")
    # Claims alternate a and b (b's 10 are among the first 20 claimed); drainers start
    # what they hold in any order, so allow each drainer a batch of a's more.
    assert last < 20 + DRAINERS * 8
