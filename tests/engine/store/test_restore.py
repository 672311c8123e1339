"""restore.lua: jobs the table holds but Redis lost come back with their attempts; jobs
Redis still holds are left alone. Runs on one Redis and on a cluster."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any

from corral.definition import QueueDefinition, QueueRegistry
from corral.failures import FailureRecorder
from corral.job import (
    Backoff,
    BackoffType,
    Deduplication,
    DedupMode,
    JobOptions,
    JobState,
    JobStatus,
    KeyGroupOption,
    KeyGroupRate,
    WebhookOption,
)
from corral.queue import Queue
from corral.reconciler import Reconciler, restore_fields
from corral.records import JobRecord
from corral.scripts import run_queue_script
from corral.service import JobService
from corral.store import JobStore

from tests.conftest import START_MS, FakeClock, Payload, QueueFactory, delete_prefix, noop
from tests.engine.helpers import claim_ids, state_of
from tests.support.awsmock import start_aws


def record(job_id: str, *, made: int = 0, created: int = START_MS, **options: Any) -> JobRecord:
    return JobRecord(
        job_id=job_id,
        queue="jobs",
        tenant="acme",
        status=JobStatus.PENDING if made == 0 else JobStatus.PROCESSING,
        data={"n": 1, "subAccountId": "acme"},
        options=JobOptions(**options).model_dump(mode="json", by_alias=True, exclude_none=True),
        attempts=options.get("attempts") or 3,
        created_at=created,
        attempts_made=made,
    )


async def restore(queue: Queue, *records: JobRecord) -> list[str]:
    now = queue.clock()
    args: list[Any] = [now, queue.definition.group_concurrency, len(records)]
    for r in records:
        args.extend(restore_fields(queue, r, now))
    restored: list[str] = await run_queue_script(queue.redis, queue.keys, "restore", args)
    return restored


async def test_a_lost_job_is_restored_waiting_with_its_attempts(make_queue: QueueFactory) -> None:
    queue = make_queue()

    assert await restore(queue, record("a", made=1, attempts=4, priority=3)) == ["a"]

    job = await queue.get_job("a")
    assert job is not None
    assert (job.state, job.attempts_made, job.priority, job.group) == (
        JobState.WAITING,
        1,
        3,
        "acme",
    )
    assert job.options.attempts == 4
    claimed = (await queue.claim("w", 1)).jobs
    assert [(j.id, j.attempt) for j in claimed] == [("a", 2)]


async def test_a_job_that_never_started_keeps_what_is_left_of_its_delay(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    clock.advance(4_000)

    await restore(queue, record("d", delay=10_000))

    assert await state_of(queue, "d") is JobState.DELAYED
    clock.advance(5_000)
    assert await claim_ids(queue) == []
    clock.advance(1_001)
    assert await claim_ids(queue) == ["d"]


async def test_a_job_redis_still_holds_is_left_alone(make_queue: QueueFactory) -> None:
    queue = make_queue()
    added = await queue.add({"n": 1}, JobOptions(job_id="kept"), group="acme")
    assert await claim_ids(queue) == [added.job_id]

    assert await restore(queue, record("kept"), record("lost")) == ["lost"]

    assert await state_of(queue, "kept") is JobState.ACTIVE
    kept = await queue.get_job("kept")
    assert kept is not None and kept.attempts_made == 1 and kept.options.attempts == 3


async def test_a_restored_job_keeps_its_key_group_and_its_limits(make_queue: QueueFactory) -> None:
    queue = make_queue()
    group = KeyGroupOption(id="key", concurrency=1)

    assert await restore(queue, record("a", group=group), record("b", group=group)) == ["a", "b"]

    job = await queue.get_job("a")
    assert job is not None and job.options.as_dict()["group"] == {"id": "key", "concurrency": 1}
    # Restored through the same options code as an enqueue: the key group's limit holds.
    assert await claim_ids(queue) == ["a"]


async def test_a_job_with_every_option_set_comes_back_field_by_field(
    redis: Any, prefix: str, clock: FakeClock
) -> None:
    """Enqueue and restore share the option-resolving code: nothing is dropped (a restored
    job once lost its webhook)."""
    options = JobOptions(
        delay=5_000,
        priority=7,
        attempts=5,
        backoff=Backoff(type=BackoffType.FIXED, delay=250, max_delay=1_000, jitter=0),
        timeout=4_000,
        ttl=60_000,
        job_id="everything",
        deduplication=Deduplication(id="once", mode=DedupMode.DEBOUNCE, ttl=90_000),
        webhook=WebhookOption(url="https://hooks.example.com/corral", events=["completed"]),
        group=KeyGroupOption(id="acct", concurrency=2, rate_limit=KeyGroupRate(max=9)),
    )
    registry = QueueRegistry([QueueDefinition(name="jobs", payload=Payload, handler=noop)])
    with contextmanager(start_aws)() as aws:
        store = JobStore(aws.dynamodb, aws.table)
        service = JobService.build(registry, redis, store, prefix=prefix, clock=clock)
        queue = service.queue("jobs")
        await service.enqueue("jobs", {"n": 1}, options, "acme")
        enqueued = await redis.hgetall(queue.keys.job("everything"))
        await delete_prefix(redis, prefix)  # Redis loses everything, as in a flush

        reconciler = Reconciler(
            service.queues, store, FailureRecorder(store, None), grace_ms=0, clock=clock
        )
        report = (await reconciler.run())["jobs"]
        restored = await redis.hgetall(queue.keys.job("everything"))

    assert report.restored == ["everything"]
    assert json.loads(restored.pop("opts")) == json.loads(enqueued.pop("opts"))
    # The dedup key went with the flush: the restored job holds none to release.
    assert (enqueued.pop("dedup"), restored.pop("dedup", None)) == ("t4.acme.once", None)
    assert restored == enqueued
    assert json.loads(enqueued["data"]) == {"n": 1, "subAccountId": "acme"}
