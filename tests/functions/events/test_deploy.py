"""The deployment's sinks from its settings: off when nothing is set; with a bus and a
tenant table, one event reaches EventBridge, the daily counters and a webhook delivery."""

from __future__ import annotations

from datetime import UTC, datetime

from corral.definition import QueueDefinition, QueueRegistry
from corral.events.deploy import DeploymentEvents
from corral.events.model import EventType, job_event
from corral.queue import now_ms
from corral.settings import Settings
from corral.stats import StatsReader
from queues import webhook
from redis.asyncio import Redis

from tests.conftest import Payload, noop
from tests.functions.events.conftest import BUS, TENANT_TABLE, EventStack
from tests.support.awsmock import client

REGISTRY = QueueRegistry(
    [QueueDefinition(name="jobs", payload=Payload, handler=noop), webhook.queue]
)


def test_nothing_is_built_when_events_are_off(aws: EventStack) -> None:
    assert DeploymentEvents.from_settings(Settings(), client, REGISTRY, aws.store) is None


async def test_one_event_reaches_every_sink(
    single_redis: Redis, prefix: str, aws: EventStack
) -> None:
    settings = Settings(
        event_bus=BUS, tenant_table=TENANT_TABLE, key_prefix=prefix, event_types="all"
    )
    woken: list[str] = []

    async def wake(queue: str) -> None:
        woken.append(queue)

    parts = DeploymentEvents.from_settings(settings, client, REGISTRY, aws.store, wake)
    assert parts is not None
    sink = parts.sink(single_redis)
    event = job_event(
        EventType.COMPLETED,
        queue="jobs",
        job_id="j1",
        tenant="acme",
        status="completed",
        now=now_ms(),
        webhook={"url": "https://hooks.example.com/in"},
    )
    event.duration_ms = 120

    await sink.emit([event])
    await sink.flush()

    assert [e["detail-type"] for e in aws.received()] == ["Job Completed"]
    flusher = parts.flusher(single_redis)
    assert flusher is not None
    await flusher.flush("jobs")
    today = datetime.now(UTC).date()
    report = StatsReader(aws.dynamodb, TENANT_TABLE).report("acme", ["jobs"], today, today)
    assert report.totals["completed"] == 1
    deliveries = aws.store.list_jobs("webhook", tenant="acme").records
    assert [d.data["url"] for d in deliveries] == ["https://hooks.example.com/in"]
    assert woken == ["webhook"]
    await sink.emit([event])  # the same event again: the same delivery id, no second job
    await sink.flush()
    assert len(aws.store.list_jobs("webhook", tenant="acme").records) == 1
