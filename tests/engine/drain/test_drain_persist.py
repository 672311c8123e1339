"""The persist hook: outcomes are settled in Redis only once they are durable (invariant 1),
and outcomes the hook could not persist are kept, their leases held, and settled later."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from corral.context import JobContext
from corral.drain import Drainer, DrainHooks
from corral.job import JobState
from corral.queue import LeaseSettings, NewJob, Outcome, Queue
from redis.asyncio import Redis

from tests.conftest import Payload
from tests.engine.drain_helpers import real_queue

# A short lease, so that outcomes held back for longer than it are lost unless heartbeats
# keep extending them.
LEASE = LeaseSettings(cap_ms=200, margin_ms=400)


class FlakyStore(DrainHooks):
    """A durable store that is down until ``down_until`` and refuses ``refuse`` once.

    At every call it checks invariant 1: nothing is settled in Redis that it has not stored.
    """

    def __init__(self, queue: Queue, down_until: float = 0.0, refuse: Sequence[str] = ()) -> None:
        self.queue = queue
        self.down_until = down_until
        self.refuse = set(refuse)
        self.stored: dict[str, str] = {}
        self.calls = 0
        self.failures = 0
        self.violations: list[str] = []
        self.refused_still_held: list[bool] = []

    async def persist(self, outcomes: Sequence[Outcome]) -> Sequence[str]:
        self.calls += 1
        await self._check_invariant()
        if time.monotonic() < self.down_until:
            self.failures += 1
            raise ConnectionError("store unavailable")
        refused = [o.job.id for o in outcomes if o.job.id in self.refuse]
        for outcome in outcomes:
            if outcome.job.id in self.refuse:
                self.refuse.discard(outcome.job.id)
            else:
                self.stored[outcome.job.id] = outcome.kind
        return refused

    async def _check_invariant(self) -> None:
        redis, base = self.queue.redis, self.queue.keys.base
        finished = [
            *await redis.zrange(base + "completed", 0, -1),
            *await redis.zrange(base + "failed", 0, -1),
        ]
        self.violations += [job_id for job_id in finished if job_id not in self.stored]


async def test_outcomes_are_held_while_persisting_fails(single_redis: Redis, prefix: str) -> None:
    runs: list[str] = []

    async def handle(payload: Payload, job: JobContext) -> int:
        runs.append(job.id)
        return payload.n

    queue = real_queue(single_redis, prefix, handle, lease=LEASE, timeout_ms=5_000)
    ids = [r.job_id for r in await queue.add_bulk([NewJob({"n": i}) for i in range(20)])]
    # Down for more than two leases: the held jobs survive only if their leases are extended.
    store = FlakyStore(queue, down_until=time.monotonic() + 1.5)
    drainer = Drainer(queue, concurrency=4, batch_size=8, hooks=store)

    stats = await asyncio.wait_for(drainer.run(until_empty=True), 30)

    assert store.failures >= 1
    assert store.violations == []
    assert sorted(runs) == sorted(ids), "each job ran exactly once"
    assert store.stored == dict.fromkeys(ids, "c")
    for job_id in ids:
        job = await queue.get_job(job_id)
        assert job is not None and (job.state, job.attempts_made) == (JobState.COMPLETED, 1)
    assert (stats.completed, stats.lease_lost, stats.stalled_requeued) == (20, 0, 0)
    # A store that is down is retried every PERSIST_RETRY_S, not in a tight loop (was ~500).
    print(f"persist calls while the store was down: {store.failures}")
    assert store.failures <= 10


async def test_outcomes_the_hook_returns_are_kept_and_settled_later(
    single_redis: Redis, prefix: str
) -> None:
    async def handle(payload: Payload, job: JobContext) -> int:
        return payload.n

    queue = real_queue(single_redis, prefix, handle, lease=LEASE)
    ids = [r.job_id for r in await queue.add_bulk([NewJob({"n": i}) for i in range(3)])]
    store = FlakyStore(queue, refuse=[ids[1]])
    seen_held: list[JobState] = []

    class Watching(DrainHooks):
        async def persist(self, outcomes: Sequence[Outcome]) -> Sequence[str]:
            if store.refuse == set() and ids[1] not in store.stored:
                job = await queue.get_job(ids[1])
                assert job is not None
                seen_held.append(job.state)
            return await store.persist(outcomes)

    drainer = Drainer(queue, concurrency=3, hooks=Watching())

    stats = await asyncio.wait_for(drainer.run(until_empty=True), 30)

    assert store.violations == []
    # Refused once: still active (held, not settled) when the hook was called again.
    assert seen_held and set(seen_held) == {JobState.ACTIVE}
    assert store.stored == dict.fromkeys(ids, "c")
    states = [(await queue.get_job(job_id)).state for job_id in ids]  # type: ignore[union-attr]
    assert states == [JobState.COMPLETED] * 3
    assert (stats.completed, stats.lease_lost) == (3, 0)


async def test_a_store_that_stays_down_does_not_hold_the_drainer_past_its_deadline(
    single_redis: Redis, prefix: str
) -> None:
    async def handle(payload: Payload, job: JobContext) -> int:
        return payload.n

    queue = real_queue(single_redis, prefix, handle, lease=LEASE, timeout_ms=500)
    job_id = (await queue.add({"n": 1})).job_id
    store = FlakyStore(queue, down_until=float("inf"))
    drainer = Drainer(queue, hooks=store, start_margin_ms=100)
    deadline = time.monotonic() + 2.0

    await asyncio.wait_for(drainer.run(deadline), 10)

    # It gave up before its deadline; the job stays active in Redis, to be recovered later.
    assert time.monotonic() < deadline + 0.5
    assert store.violations == [] and store.stored == {}
    job = await queue.get_job(job_id)
    assert job is not None and job.state is JobState.ACTIVE
