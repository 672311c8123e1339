"""Random sequences of operations on jobs with and without key groups, several tenants and
limits: after every step the waiting lines are consistent (includes/groups.lua), and in the
end every job is claimed, none twice, with no key group over its concurrency."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from typing import Any

import pytest
from corral.controls import update_waiting
from corral.errors import JobNotFoundError, JobStateError
from corral.job import Deduplication, DedupMode, JobOptions, KeyGroupOption, KeyGroupRate
from corral.queue import ClaimedJob, NewJob, Outcome, Queue

from tests.conftest import FakeClock, QueueFactory

TENANTS = ("t1", "t2", "t3")
KEYS: dict[str | None, KeyGroupOption | None] = {
    None: None,
    "k1": KeyGroupOption(id="k1", concurrency=1),
    "k2": KeyGroupOption(id="k2", concurrency=2),
    "k3": KeyGroupOption(id="k3", rate_limit=KeyGroupRate(max=2, duration_ms=500)),
    "k4": KeyGroupOption(id="k4"),
}


async def check_lines(queue: Queue) -> None:
    """The invariants of includes/groups.lua, read from Redis."""
    r: Any = queue.redis
    keys, base = queue.keys, queue.keys.base
    ring, parked = await r.lrange(base + "ring", 0, -1), await r.smembers(base + "parked")
    assert len(ring) == len(set(ring)) and not set(ring) & parked, (ring, parked)
    lanes = await r.smembers(keys.key_group_lanes)
    kgwaiting = {t: int(n) for t, n in (await r.hgetall(keys.key_groups_waiting)).items()}
    per_tenant: Counter[str] = Counter()
    for lane in lanes:
        tenant, key = lane.split(":", 1)
        size = await r.zcard(keys.lane(tenant, key))
        assert size > 0, lane
        per_tenant[tenant] += size
        in_turn = (await r.lrange(keys.lanes_turn(tenant), 0, -1)).count(key)
        held = await r.sismember(keys.key_group_parked(key), tenant)
        assert in_turn + held == 1, (lane, in_turn, held)
    assert dict(per_tenant) == kgwaiting
    for tenant in TENANTS:
        kring = await r.lrange(keys.lanes_turn(tenant), 0, -1)
        own = await r.zcard(keys.group(tenant))
        assert len(kring) == len(set(kring)), kring
        assert ("" in kring) == (bool(kring) and own > 0), (tenant, kring, own)
        for key in kring:
            assert key == "" or f"{tenant}:{key}" in lanes, (tenant, key)
        waits = own > 0 or bool(kring)
        assert waits == (tenant in ring or tenant in parked), (tenant, kring, own, ring)
    counts = await queue.counts()
    ready = sum([await r.zcard(keys.group(t)) for t in TENANTS])
    assert counts.waiting == ready + sum(kgwaiting.values())


class Run:
    """One random run: the jobs added, those claimed and not settled yet."""

    def __init__(self, queue: Queue, clock: FakeClock, seed: int) -> None:
        self.queue, self.clock, self.rng = queue, clock, random.Random(seed)
        self.held: list[ClaimedJob] = []
        self.jobs: dict[str, str | None] = {}  # job id -> its key group

    async def add(self) -> None:
        key = self.rng.choice(list(KEYS))
        dedup = None
        if self.rng.random() < 0.15:
            dedup = Deduplication(id=f"d{self.rng.randrange(3)}", mode=DedupMode.DEBOUNCE)
        options = JobOptions(group=KEYS[key], priority=self.rng.randrange(3), deduplication=dedup)
        job = NewJob({"n": len(self.jobs)}, options, group=self.rng.choice(TENANTS))
        for result in await self.queue.add_bulk([job]):
            self.jobs[result.job_id] = key

    async def claim(self) -> None:
        worker = f"w{self.rng.randrange(3)}"
        self.held.extend((await self.queue.claim(worker, self.rng.randrange(1, 6))).jobs)
        running = Counter(self.jobs[j.id] for j in self.held)
        assert running["k1"] <= 1 and running["k2"] <= 2, running

    async def settle(self) -> None:
        by_worker: dict[str, list[Outcome]] = {}
        for _ in range(min(len(self.held), 3)):
            job = self.held.pop(self.rng.randrange(len(self.held)))
            kind = self.rng.choice("ccr")
            outcome = Outcome(job, kind, "1", self.clock.now + 100 if kind == "r" else 0)
            by_worker.setdefault(job.token.rsplit(":", 1)[0], []).append(outcome)
        for worker, outcomes in by_worker.items():
            await self.queue.settle(worker, outcomes)

    async def release(self) -> None:
        if self.held:
            await self.queue.release([self.held.pop()])

    async def change(self) -> None:
        if self.jobs:
            job_id, delay = self.rng.choice(list(self.jobs)), self.rng.choice([None, 0, 300])
            with contextlib.suppress(JobStateError, JobNotFoundError):
                await update_waiting(self.queue, job_id, None, self.rng.randrange(3), delay)

    async def cancel(self) -> None:
        if self.jobs:
            with contextlib.suppress(JobStateError, JobNotFoundError):
                await self.queue.cancel(self.rng.choice(list(self.jobs)))

    async def step(self) -> None:
        steps = [self.add] * 6 + [self.claim] * 4 + [self.settle] * 3
        await self.rng.choice([*steps, self.release, self.change, self.cancel])()
        self.clock.advance(self.rng.choice([0, 0, 50, 400]))

    async def pending(self) -> int:
        counts = await self.queue.counts()
        return len(self.held) + counts.waiting + counts.delayed + counts.processing


@pytest.mark.parametrize("seed", range(6))
async def test_random_operations_keep_the_lines_consistent(
    make_queue: QueueFactory, clock: FakeClock, seed: int
) -> None:
    run = Run(make_queue(group_concurrency=3), clock, seed)
    for _ in range(150):
        await run.step()
        await check_lines(run.queue)

    # Run everything out: every pending job starts, and no key group runs over its limit.
    for _ in range(400):
        if not await run.pending():
            break
        if run.held:
            await run.settle()
        else:
            clock.advance(600)
        await run.claim()
        await check_lines(run.queue)
    assert await run.pending() == 0
