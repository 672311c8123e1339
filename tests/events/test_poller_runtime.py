"""A poller invocation as Lambda runs it (``PollerRuntime.invoke``), with the deployment's
sinks: every event of the run is on the bus, and its counts are in the daily counters,
when the invocation returns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
import redis as sync_redis
from corral.definition import QueueDefinition, QueueRegistry
from corral.events.deploy import DeploymentEvents
from corral.lambda_support import ThreadLoops
from corral.poller import PollerRuntime, PollerSettings
from corral.service import JobService
from corral.settings import Settings
from corral.stats import StatsReader
from redis.asyncio import Redis

from tests.awsmock import client
from tests.conftest import SHARED_REDIS_URL, Payload, noop
from tests.events.conftest import BUS, TENANT_TABLE, EventStack

REGISTRY = QueueRegistry([QueueDefinition(name="jobs", payload=Payload, handler=noop)])


@pytest.fixture
def key_prefix() -> Iterator[str]:
    prefix = f"t{uuid4().hex[:12]}"
    yield prefix
    redis = sync_redis.Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
        redis.delete(key)
    redis.close()


def test_an_invocation_returns_with_its_events_published(aws: EventStack, key_prefix: str) -> None:
    settings = Settings(
        event_bus=BUS,
        tenant_table=TENANT_TABLE,
        key_prefix=key_prefix,
        event_types="started,completed,drained",
    )
    events = DeploymentEvents.from_settings(settings, client, REGISTRY, aws.store)
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

    async def enqueue(redis: Any) -> None:
        service = JobService.build(REGISTRY, redis, aws.store, prefix=key_prefix)
        await service.enqueue_many("jobs", [({"n": i}, None) for i in range(12)], "acme")

    try:
        loops.run(enqueue)
        result = runtime.invoke("jobs", lambda: 60_000)
    finally:
        loops.close()

    assert result.tally.completed == 12
    kinds = Counter(e["detail-type"] for e in aws.received())
    assert kinds == Counter({"Job Started": 12, "Job Completed": 12, "Queue Drained": 1})
    today = datetime.now(UTC).date()
    report = StatsReader(aws.dynamodb, TENANT_TABLE).report("acme", ["jobs"], today, today)
    assert report.totals["completed"] == 12


def test_by_default_a_job_that_succeeds_sends_no_event(aws: EventStack, key_prefix: str) -> None:
    settings = Settings(event_bus=BUS, tenant_table=TENANT_TABLE, key_prefix=key_prefix)
    events = DeploymentEvents.from_settings(settings, client, REGISTRY, aws.store)
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

    async def enqueue(redis: Any) -> None:
        service = JobService.build(REGISTRY, redis, aws.store, prefix=key_prefix)
        await service.enqueue_many("jobs", [({"n": i}, None) for i in range(3)], "acme")

    try:
        loops.run(enqueue)
        assert runtime.invoke("jobs", lambda: 60_000).tally.completed == 3
    finally:
        loops.close()

    assert aws.received() == []
