"""A job's whole life as EventBridge events (moto: a rule copies them into SQS): started,
progress, failed with a retry, completed; and a job that is dead-lettered."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from corral.context import JobContext
from corral.definition import QueueDefinition
from corral.drain import Drainer, DrainHooks
from corral.events import EventBridgeSink, EventHooks, combine
from corral.events.sink import EventSink
from corral.intake import Intake
from corral.job import Backoff, BackoffType, JobOptions
from corral.poller import StoreHooks
from corral.queue import LeaseSettings, Queue, now_ms
from corral.service import JobService
from corral.stats import CounterSink, CounterWriter, StatsReader, Tally, TallyFlusher
from redis.asyncio import Redis

from tests.conftest import Payload
from tests.functions.events.conftest import TENANT_TABLE, EventStack, subscribe
from tests.support.awsmock import BrokenClient

TENANT = "acme"
FAST_RETRY = Backoff(type=BackoffType.FIXED, delay=50, jitter=0)


async def flaky(payload: Payload, job: JobContext) -> dict[str, Any]:
    if payload.n == 2 or job.attempt == 1:
        raise RuntimeError(f"attempt {job.attempt} of job {payload.n} failed")
    job.progress(50)
    # Progress is written (and announced) only while the job runs: wait until it is.
    queue = QUEUES[job.queue]
    for _ in range(200):
        if await queue.redis.hget(queue.keys.job(job.id), "progress"):
            break
        await asyncio.sleep(0.05)
    return {"ok": payload.n}


QUEUES: dict[str, Queue] = {}


def jobs_queue(redis: Redis, prefix: str, name: str = "jobs", **options: Any) -> Queue:
    options = {"attempts": 2, "backoff": FAST_RETRY, **options}
    definition = QueueDefinition(name=name, payload=Payload, handler=flaky, **options)
    QUEUES[name] = Queue(redis, definition, prefix=prefix)
    return QUEUES[name]


async def enqueue(
    queue: Queue, aws: EventStack, *numbers: int, sink: EventSink | None = None
) -> list[str]:
    """Enqueue as the API does (the job service), announcing to ``sink``."""
    service = JobService({queue.name: queue}, aws.store, events=sink)
    accepted = await service.enqueue_many(
        queue.name, [({"n": n}, JobOptions()) for n in numbers], TENANT
    )
    return [a.job_id for a in accepted]


async def drain_until_final(
    queue: Queue, hooks: DrainHooks, aws: EventStack, ids: list[str]
) -> None:
    for _ in range(10):
        await Drainer(queue, concurrency=2, hooks=hooks, linger_ms=300).run()
        records = [aws.store.get("jobs", job_id) for job_id in ids]
        if all(r is not None and r.status in ("completed", "failed") for r in records):
            return
    raise AssertionError("the jobs did not finish")


def life(events: list[dict[str, Any]], job_id: str) -> Counter[tuple[Any, ...]]:
    return Counter(
        (e["detail-type"], e["detail"].get("attempt"), e["detail"].get("willRetry"))
        for e in events
        if e["detail"].get("jobId") == job_id
    )


async def test_a_job_life_with_a_retry_and_a_dead_letter(
    single_redis: Redis, prefix: str, aws: EventStack
) -> None:
    queue = jobs_queue(single_redis, prefix)
    sink = aws.sink()
    completes, dies = await enqueue(queue, aws, 1, 2, sink=sink)
    tally = Tally(single_redis, prefix)
    events = combine(sink, CounterSink(tally))
    hooks = EventHooks(queue, StoreHooks(queue, aws.store, aws.failures), events)

    await drain_until_final(queue, hooks, aws, [completes, dies])
    await events.flush()
    received = aws.received()

    assert life(received, completes) == Counter(
        {
            ("Job Queued", None, None): 1,
            ("Job Started", 1, None): 1,
            ("Job Failed", 1, True): 1,
            ("Job Started", 2, None): 1,
            ("Job Progress", 2, None): 1,
            ("Job Completed", 2, None): 1,
        }
    )
    assert life(received, dies) == Counter(
        {
            ("Job Queued", None, None): 1,
            ("Job Started", 1, None): 1,
            ("Job Failed", 1, True): 1,
            ("Job Started", 2, None): 1,
            ("Job Failed", 2, False): 1,
            ("Job Dead-Lettered", 2, False): 1,
        }
    )
    assert any(e["detail-type"] == "Queue Drained" for e in received)
    assert {e["source"] for e in received} == {"corral"}
    by_type = {(e["detail-type"], e["detail"].get("jobId")): e["detail"] for e in received}
    done = by_type[("Job Completed", completes)]
    assert done["result"] == {"ok": 1}
    assert done["tenant"] == TENANT and done["queue"] == "jobs" and done["attempts"] == 2
    assert done["durationMs"] >= 0 and done["createdAt"] <= done["timestamp"]
    dead = by_type[("Job Dead-Lettered", dies)]
    assert dead["error"]["type"] == "RuntimeError" and "stack" not in dead["error"]
    assert all("data" not in e["detail"] for e in received), "no payload unless opted in"
    # The same events counted for the tenant's history, once flushed.
    writer = CounterWriter(aws.dynamodb, TENANT_TABLE)
    await TallyFlusher(tally, writer).flush("jobs")
    today = datetime.now(UTC).date()
    report = StatsReader(aws.dynamodb, TENANT_TABLE).report(TENANT, ["jobs"], today, today)
    assert (report.totals["completed"], report.totals["failed"], report.totals["retried"]) == (
        1,
        1,
        2,
    )


async def test_a_rule_for_one_queue_sees_only_its_failures(
    single_redis: Redis, prefix: str, aws: EventStack
) -> None:
    """The rule of docs/events.md: final ``Job Failed`` of the ``jobs`` queue, nothing else."""
    pattern = {
        "source": ["corral"],
        "detail-type": ["Job Failed"],
        "detail": {"queue": ["jobs"], "willRetry": [False]},
    }
    url = subscribe(aws.events, aws.sqs, pattern, "jobs-failures")
    queue = jobs_queue(single_redis, prefix)
    other = jobs_queue(single_redis, prefix, "other", attempts=1)
    ids = await enqueue(queue, aws, 2)
    await Intake(other, aws.store, TENANT, now_ms).run([({"n": 2}, JobOptions())])
    sink = aws.sink()
    for q in (queue, other):
        await drain_until_final(
            q,
            EventHooks(q, StoreHooks(q, aws.store, aws.failures), sink),
            aws,
            ids if q is queue else [],
        )
    await sink.flush()
    bodies = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    got = sorted(json.loads(m["Body"])["detail"]["attempt"] for m in bodies)
    assert got == [2]


async def test_payload_is_published_only_when_the_queue_opts_in(
    single_redis: Redis, prefix: str, aws: EventStack
) -> None:
    queue = jobs_queue(single_redis, prefix, events_include_payload=True)
    (job_id,) = await enqueue(queue, aws, 1)
    sink = aws.sink()
    hooks = EventHooks(queue, StoreHooks(queue, aws.store, aws.failures), sink)
    await drain_until_final(queue, hooks, aws, [job_id])
    await sink.flush()
    started = [e for e in aws.received() if e["detail-type"] == "Job Started"]
    assert started and all(e["detail"]["data"]["n"] == 1 for e in started)


async def test_a_stalled_job_is_announced_and_runs_again(
    single_redis: Redis, prefix: str, aws: EventStack
) -> None:
    queue = jobs_queue(single_redis, prefix)
    queue.lease = LeaseSettings(cap_ms=50, margin_ms=50)
    queue._limits[:2] = [50, 50]  # the claim script reads the lease from these
    (job_id,) = await enqueue(queue, aws, 3)
    lost = await queue.claim("a-poller-that-died", 1)
    assert [j.id for j in lost.jobs] == [job_id]
    await asyncio.sleep(0.3)  # its lease lapses
    sink = aws.sink()
    hooks = EventHooks(queue, StoreHooks(queue, aws.store, aws.failures), sink)
    await Drainer(queue, concurrency=1, hooks=hooks, linger_ms=300).run()
    await sink.flush()
    kinds = [e["detail-type"] for e in aws.received() if e["detail"].get("jobId") == job_id]
    assert "Job Stalled" in kinds


async def test_events_that_cannot_be_published_never_fail_a_job(
    single_redis: Redis, prefix: str, aws: EventStack
) -> None:
    queue = jobs_queue(single_redis, prefix, attempts=1)
    ids = await enqueue(queue, aws, 3, 4)
    aws.events = BrokenClient(aws.events, "put_events")
    publisher = aws.publisher()
    sink = EventBridgeSink(publisher)
    hooks = EventHooks(queue, StoreHooks(queue, aws.store, aws.failures), sink)
    await drain_until_final(queue, hooks, aws, ids)
    await sink.flush()
    assert publisher.failed > 0 and publisher.calls >= 3, "each chunk was tried again"
    records = [aws.store.get("jobs", job_id) for job_id in ids]
    assert [r.status for r in records if r] == ["failed", "failed"]  # attempt 1 always fails


async def test_the_service_announces_new_jobs_and_cancellations(
    single_redis: Redis, prefix: str, aws: EventStack
) -> None:
    queue = jobs_queue(single_redis, prefix)
    service = JobService({"jobs": queue}, aws.store, events=aws.sink())
    once = JobOptions.model_validate({"deduplication": {"id": "once"}, "delay": 60_000})
    first = await service.enqueue("jobs", {"n": 1}, once, TENANT)
    again = await service.enqueue("jobs", {"n": 1}, once, TENANT)
    assert again.deduplicated and again.job_id == first.job_id
    await service.cancel("jobs", first.job_id, TENANT)

    kinds = Counter(e["detail-type"] for e in aws.received())
    assert kinds == Counter({"Job Queued": 1, "Job Cancelled": 1})
