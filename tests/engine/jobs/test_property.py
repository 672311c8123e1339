"""Random sequences of queue operations from several workers, checked against a model.

After every step: each job is in exactly one state (and in exactly one Redis structure),
``counts()`` matches the model and adds up to the live jobs, every active job is held by
one worker with one lease token, and stale tokens are refused.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest
from corral.definition import QueueDefinition, Retention
from corral.errors import JobStateError
from corral.job import JobOptions
from corral.queue import (
    ClaimCode,
    ClaimedJob,
    LeaseSettings,
    NewJob,
    Outcome,
    Queue,
    QueueCounts,
)
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import FakeClock, Payload, delete_prefix, noop
from tests.engine.conftest import RedisTarget

ATTEMPTS = 2
MAX_STALLS = 1
CONCURRENCY = 4
LEASE_MS = 1_000
GROUPS = ("a", "b", "c")
WORKERS = ("w1", "w2", "w3")
STATES = ("waiting", "active", "delayed", "completed", "failed", "cancelled")
STRUCTURES = STATES[1:]
KEEP_ALL = Retention(completed_count=-1, completed_age_ms=0, failed_count=-1, failed_age_ms=0)


@dataclass
class ModelJob:
    state: str
    group: str
    attempts_made: int = 0
    stalls: int = 0
    due: int = 0
    lease: int = 0
    token: str = ""


class QueueMachine(RuleBasedStateMachine):
    """Drives one queue; ``target`` is set on a subclass per Redis target."""

    target: RedisTarget

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.client: Any = self.target.connect()
        self.prefix = f"p{uuid4().hex[:12]}"
        self.clock = FakeClock()
        definition = QueueDefinition(
            name="prop",
            payload=Payload,
            handler=noop,
            concurrency=CONCURRENCY,
            attempts=ATTEMPTS,
            max_stalls=MAX_STALLS,
            retention=KEEP_ALL,
        )
        lease = LeaseSettings(cap_ms=LEASE_MS, margin_ms=0)
        self.queue = Queue(
            self.client, definition, prefix=self.prefix, lease=lease, clock=self.clock
        )
        self.jobs: dict[str, ModelJob] = {}
        self.held: dict[str, ClaimedJob] = {}
        self.stale: list[ClaimedJob] = []
        self.paused = False
        self.leases: dict[str, float] = {}

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        try:
            self.run(delete_prefix(self.client, self.prefix))
            self.run(self.client.aclose())
        finally:
            self.loop.close()

    # -- helpers -------------------------------------------------------------------

    def in_state(self, state: str) -> list[str]:
        return sorted(i for i, job in self.jobs.items() if job.state == state)

    def forget_hold(self, job_id: str) -> None:
        held = self.held.pop(job_id, None)
        if held is not None:
            self.stale.append(held)

    def promote_due(self) -> None:
        """Claim and settle (which embeds a claim) first move due delayed jobs to waiting."""
        for job_id in self.in_state("delayed"):
            if self.jobs[job_id].due <= self.clock.now:
                self.jobs[job_id].state = "waiting"

    def settle(self, outcome: Outcome) -> int:
        codes, _ = self.run(self.queue.settle("w", [outcome]))
        self.promote_due()
        return int(codes[0])

    def pick(self, ids: list[str], index: int) -> str:
        return ids[index % len(ids)]

    # -- rules ---------------------------------------------------------------------

    @rule(
        count=st.integers(1, 2),
        delay=st.sampled_from([0, 0, 500]),
        group=st.sampled_from(GROUPS),
    )
    def enqueue(self, count: int, delay: int, group: str) -> None:
        # Ids chosen here, not random, so that hypothesis replays a run exactly.
        ids = [f"j{len(self.jobs) + i}" for i in range(count)]
        batch = [NewJob({"n": 1}, JobOptions(delay=delay, job_id=i), group) for i in ids]
        for result in self.run(self.queue.add_bulk(batch)):
            assert result.created and result.job_id not in self.jobs
            state = "delayed" if delay else "waiting"
            self.jobs[result.job_id] = ModelJob(state, group, due=self.clock.now + delay)

    @rule(ms=st.sampled_from([1, 300, 600]), recover=st.booleans())
    def time_passes(self, ms: int, recover: bool) -> None:
        """Time passes; leases that ran out are stalls (their workers died) once recovered."""
        self.clock.advance(ms)
        if recover:
            self.recover()

    @precondition(lambda self: self.held)
    @rule()
    def stall(self) -> None:
        """Every worker dies: all leases run out, then a poller recovers the jobs."""
        self.clock.advance(LEASE_MS + 1)
        self.recover()

    def claim_while_paused(self, worker: str) -> None:
        """Paused, the queue hands nothing out (resumed at once so the run keeps moving)."""
        assert self.run(self.queue.pause()) is True
        self.paused = True
        self.every_job_is_accounted_for()
        result = self.run(self.queue.claim(worker, 4))
        assert (result.code, result.jobs) == (ClaimCode.PAUSED, [])
        self.promote_due()
        assert self.run(self.queue.resume()) is True
        self.paused = False

    @rule(
        worker=st.sampled_from(WORKERS),
        n=st.integers(1, 4),
        paused=st.sampled_from([False, False, False, True]),
    )
    def claim(self, worker: str, n: int, paused: bool) -> None:
        if paused:
            self.claim_while_paused(worker)
        now = self.clock.now
        self.promote_due()
        waiting = set(self.in_state("waiting"))
        room = CONCURRENCY - len(self.in_state("active"))
        result = self.run(self.queue.claim(worker, n))
        expected = min(n, len(waiting), max(room, 0))
        assert len(result.jobs) == expected, (result, waiting, room)
        if expected == 0:
            assert result.code is (ClaimCode.AT_CONCURRENCY if room <= 0 else ClaimCode.EMPTY)
        for job in result.jobs:
            model = self.jobs[job.id]
            assert job.id in waiting and job.id not in self.held
            waiting.discard(job.id)
            model.attempts_made += 1
            assert job.attempt == model.attempts_made
            model.state, model.lease, model.token = "active", now + LEASE_MS, job.token
            self.held[job.id] = job

    @precondition(lambda self: self.held)
    @rule(index=st.integers(0, 100))
    def complete(self, index: int) -> None:
        job = self.held[self.pick(sorted(self.held), index)]
        self.jobs[job.id].state = "completed"
        assert self.settle(Outcome(job, "c", "null")) == 1
        self.forget_hold(job.id)

    @precondition(lambda self: self.held)
    @rule(index=st.integers(0, 100), backoff=st.sampled_from([0, 300]))
    def fail(self, index: int, backoff: int) -> None:
        job = self.held[self.pick(sorted(self.held), index)]
        model = self.jobs[job.id]
        retry = model.attempts_made < ATTEMPTS
        outcome = Outcome(job, "r" if retry else "f", json.dumps({"m": "x"}))
        outcome.retry_at = self.clock.now + backoff
        if not retry:
            model.state = "failed"
        elif backoff:
            model.state, model.due = "delayed", self.clock.now + backoff
        else:
            model.state = "waiting"
        assert self.settle(outcome) == 1
        self.forget_hold(job.id)

    @precondition(lambda self: self.held)
    @rule(index=st.integers(0, 100))
    def release(self, index: int) -> None:
        job = self.held[self.pick(sorted(self.held), index)]
        assert self.run(self.queue.release([job])) == 1
        model = self.jobs[job.id]
        model.state, model.attempts_made = "waiting", model.attempts_made - 1
        self.forget_hold(job.id)

    def recover(self) -> None:
        requeued, failed = self.run(self.queue.recover_stalled())
        want_requeued, want_failed = set(), set()
        for job_id in self.in_state("active"):
            model = self.jobs[job_id]
            if model.lease > self.clock.now:
                continue
            model.stalls += 1
            if model.stalls > MAX_STALLS or model.attempts_made >= ATTEMPTS:
                model.state = "failed"
                want_failed.add(job_id)
            else:
                model.state = "waiting"
                want_requeued.add(job_id)
            self.forget_hold(job_id)
        assert (set(requeued), set(failed)) == (want_requeued, want_failed)

    @precondition(lambda self: self.stale)
    @rule(index=st.integers(0, 100), kind=st.sampled_from(["c", "f", "r"]))
    def settle_with_a_stale_token(self, index: int, kind: str) -> None:
        job = self.stale[index % len(self.stale)]
        if self.jobs[job.id].token == job.token and job.id in self.held:
            return  # the same worker holds it again under the same token
        assert self.settle(Outcome(job, kind, "null")) == -2

    @precondition(lambda self: self.jobs)
    @rule(index=st.integers(0, 1000))
    def cancel(self, index: int) -> None:
        job_id = self.pick(sorted(self.jobs), index)
        model = self.jobs[job_id]
        if model.state in ("waiting", "delayed"):
            self.run(self.queue.cancel(job_id))
            model.state = "cancelled"
            return
        with pytest.raises(JobStateError):
            self.run(self.queue.cancel(job_id))

    @precondition(lambda self: self.jobs)
    @rule(index=st.integers(0, 1000))
    def retry(self, index: int) -> None:
        job_id = self.pick(sorted(self.jobs), index)
        model = self.jobs[job_id]
        if model.state in ("failed", "cancelled"):
            self.run(self.queue.retry(job_id))
            model.state, model.attempts_made, model.stalls = "waiting", 0, 0
            return
        with pytest.raises(JobStateError):
            self.run(self.queue.retry(job_id))

    # -- invariants ----------------------------------------------------------------

    async def _snapshot(self) -> tuple[dict[str, list[str]], list[Any], list[str], QueueCounts]:
        """In one pipeline: ids per state structure, each job's (state, lock), the ring."""
        base, ids = self.queue.keys.base, sorted(self.jobs)
        pipe = self.client.pipeline(transaction=False)
        for group in GROUPS:
            pipe.zrange(f"{base}group:{group}", 0, -1)
        for state in STRUCTURES:
            pipe.zrange(base + state, 0, -1, withscores=state == "active")
        for job_id in ids:
            pipe.hmget(self.queue.keys.job(job_id), "state", "lock")
        pipe.lrange(base + "ring", 0, -1)
        replies = await pipe.execute()
        groups, rest = replies[: len(GROUPS)], replies[len(GROUPS) :]
        where = {"waiting": [i for members in groups for i in members]}
        for state, members in zip(STRUCTURES, rest, strict=False):
            where[state] = [m[0] for m in members] if state == "active" else members
        self.leases = {m[0]: m[1] for m in rest[0]}
        hashes = rest[len(STRUCTURES) : len(STRUCTURES) + len(ids)]
        return where, hashes, rest[-1], await self.queue.counts()

    @invariant()
    def every_job_is_accounted_for(self) -> None:
        where, hashes, ring, counts = self.run(self._snapshot())
        # No job lost or invented, none in two places, each where the model says.
        seen = Counter(job_id for ids in where.values() for job_id in ids)
        assert set(seen) == set(self.jobs), "a job was lost or invented"
        assert all(n == 1 for n in seen.values()), "a job is in two states"
        for state, ids in where.items():
            assert sorted(ids) == self.in_state(state), state
        # The job hashes agree; each active job is held by one worker under one token.
        assert sorted(self.held) == self.in_state("active")
        for job_id, (state, lock) in zip(sorted(self.jobs), hashes, strict=True):
            model = self.jobs[job_id]
            assert state == model.state, job_id
            if state == "active":
                assert lock == model.token == self.held[job_id].token
                assert self.leases[job_id] == model.lease
            else:
                assert not lock, f"{job_id} is {state} but still locked"
        assert len(self.held) <= CONCURRENCY
        # counts() matches the model and adds up to every live job.
        by_state = Counter(job.state for job in self.jobs.values())
        w, a, d, c, f, x = (by_state[s] for s in STATES)
        assert counts == QueueCounts(
            name=self.queue.name, pending=w + d, waiting=w, delayed=d, processing=a,
            completed=c, failed=f, cancelled=x, paused=self.paused, dead_letter=0,
        )  # fmt: skip
        assert sum(by_state[s] for s in STATES) == len(self.jobs)
        # Each group with waiting jobs is in the ring exactly once (no group limit here).
        assert sorted(ring) == sorted({self.jobs[i].group for i in self.in_state("waiting")})


@pytest.mark.slow
def test_random_operations_keep_every_job_accounted_for(redis_target: RedisTarget) -> None:
    machine = type("Machine", (QueueMachine,), {"target": redis_target})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            # Shrinking replays against Redis and can take minutes; a failure prints its
            # steps unshrunk, and the example database replays it on the next run.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
