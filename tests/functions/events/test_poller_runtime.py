"""A poller invocation as Lambda runs it (``PollerRuntime.invoke``), with the deployment's
sinks: every event of the run is on the bus, and its counts are in the daily counters,
when the invocation returns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
import redis as sync_redis
from corral.definition import QueueDefinition, QueueRegistry
from corral.events.deploy import DeploymentEvents
from corral.lambda_support import ThreadLoops
from corral.poller import PollerResult, PollerRuntime, PollerSettings
from corral.service import JobService
from corral.settings import Settings
from corral.stats import StatsReader
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL, Payload, noop
from tests.functions.events.conftest import BUS, JOB_TABLE, TENANT_TABLE, EventStack
from tests.support.awsmock import client

REGISTRY = QueueRegistry([QueueDefinition(name="jobs", payload=Payload, handler=noop)])


@pytest.fixture
def key_prefix() -> Iterator[str]:
    prefix = f"t{uuid4().hex[:12]}"
    yield prefix
    redis = sync_redis.Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
        redis.delete(key)
    redis.close()


def enqueue_and_drain(
    aws: EventStack,
    key_prefix: str,
    events: DeploymentEvents | None,
    enqueue: Callable[[Any], Coroutine[Any, Any, None]],
) -> PollerResult:
    """Run ``enqueue`` on the shared Redis, then one poller invocation of ``jobs``."""
    loops = ThreadLoops(lambda: Redis.from_url(SHARED_REDIS_URL, decode_responses=True))
    runtime = PollerRuntime(
        REGISTRY,
        aws.store,
        None,
        loops,
        prefix=key_prefix,
        settings=PollerSettings(linger_ms=100),
        events=events,
    )
    try:
        loops.run(enqueue)
        return runtime.invoke("jobs", lambda: 60_000)
    finally:
        loops.close()


def test_an_invocation_returns_with_its_events_published(aws: EventStack, key_prefix: str) -> None:
    settings = Settings(
        event_bus=BUS,
        tenant_table=TENANT_TABLE,
        key_prefix=key_prefix,
        event_types="started,completed,drained",
    )
    events = DeploymentEvents.from_settings(settings, client, REGISTRY, aws.store)

    async def enqueue(redis: Any) -> None:
        service = JobService.build(REGISTRY, redis, aws.store, prefix=key_prefix)
        await service.enqueue_many("jobs", [({"n": i}, None) for i in range(12)], "acme")

    result = enqueue_and_drain(aws, key_prefix, events, enqueue)

    assert result.tally.completed == 12
    kinds = Counter(e["detail-type"] for e in aws.received())
    assert kinds == Counter({"Job Started": 12, "Job Completed": 12, "Queue Drained": 1})
    today = datetime.now(UTC).date()
    report = StatsReader(aws.dynamodb, TENANT_TABLE).report("acme", ["jobs"], today, today)
    assert report.totals["completed"] == 12


def test_by_default_a_job_that_succeeds_sends_no_event(aws: EventStack, key_prefix: str) -> None:
    settings = Settings(event_bus=BUS, tenant_table=TENANT_TABLE, key_prefix=key_prefix)
    events = DeploymentEvents.from_settings(settings, client, REGISTRY, aws.store)

    async def enqueue(redis: Any) -> None:
        service = JobService.build(REGISTRY, redis, aws.store, prefix=key_prefix)
        await service.enqueue_many("jobs", [({"n": i}, None) for i in range(3)], "acme")

    assert enqueue_and_drain(aws, key_prefix, events, enqueue).tally.completed == 3

    assert aws.received() == []


def test_a_job_costs_two_table_writes_and_its_counts_one_write_a_minute(
    aws: EventStack, key_prefix: str
) -> None:
    writes: Counter[str] = Counter()

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"):
            writes[params.get("TableName", "")] += 1

    def counted(service: str) -> Any:
        made = client(service)
        made.meta.events.register("provide-client-params.dynamodb.*", count)
        return made

    aws.dynamodb.meta.events.register("provide-client-params.dynamodb.*", count)
    settings = Settings(event_bus=BUS, tenant_table=TENANT_TABLE, key_prefix=key_prefix)
    events = DeploymentEvents.from_settings(settings, counted, REGISTRY, aws.store)
    assert events is not None

    async def enqueue(redis: Any) -> None:
        service = JobService.build(
            REGISTRY, redis, aws.store, prefix=key_prefix, events=events.sink(redis)
        )
        for i in range(20):  # one job per request
            await service.enqueue_many("jobs", [({"n": i}, None)], "acme")

    assert enqueue_and_drain(aws, key_prefix, events, enqueue).tally.completed == 20

    assert writes == {JOB_TABLE: 40, TENANT_TABLE: 1}, "2 per job; 1 counter item a minute"
    records = aws.store.list_jobs("jobs", tenant="acme").records
    assert len(records) == 20
    for record in records:
        assert record.started_at is not None and record.completed_at is not None
        assert record.created_at <= record.started_at <= record.completed_at
    today = datetime.now(UTC).date()
    report = StatsReader(aws.dynamodb, TENANT_TABLE).report("acme", ["jobs"], today, today)
    assert (report.totals["queued"], report.totals["completed"]) == (20, 20)
