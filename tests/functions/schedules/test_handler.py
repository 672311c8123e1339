"""The scheduler function, driven by the EventBridge event in ``events/``, against moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import boto3
import pytest
from corral.definition import QueueRegistry
from corral.queue import now_ms
from corral.records import table_definition
from corral.schedules import Declared, Schedule, ScheduleStore, create_table
from corral.schedules.occurrences import job_id
from corral.settings import get_settings
from corral.store import JobStore
from corral.wiring import reset
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from scheduler import app

from tests.functions.schedules.conftest import QUEUE, REDIS_URL, Clock, Jobs

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource

EVENT = Path(__file__).parents[3] / "events" / "scheduler_tick.json"
HOUR = 3_600_000


@dataclass
class LambdaContext:
    function_name: str = "corral-SchedulerFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:scheduler"
    aws_request_id: str = "7f1c1f64-7a3f-4b9e-9a59-0c2b8b1f6e2d"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Tables:
    schedules: ScheduleStore
    jobs: JobStore


@pytest.fixture
def tables(dynamodb: DynamoDBServiceResource) -> Iterator[Tables]:
    suffix = uuid4().hex[:8]
    schedules = create_table(dynamodb, f"schedules-{suffix}")
    jobs = dynamodb.create_table(**table_definition(f"jobs-{suffix}"))
    client = boto3.client("dynamodb", region_name="us-east-1")
    store = JobStore(client, jobs.name)
    yield Tables(ScheduleStore(schedules), store)
    store.close()
    schedules.delete()
    jobs.delete()


@pytest.fixture
def deployed(tables: Tables, prefix: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tables]:
    """The function's environment, as the template sets it, pointing at the test's tables."""
    monkeypatch.setenv("CORRAL_SCHEDULES_TABLE", tables.schedules.table.name)
    monkeypatch.setenv("CORRAL_TABLE", tables.jobs.table)
    monkeypatch.setenv("CORRAL_KEY_PREFIX", prefix)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    get_settings.cache_clear()  # the process's wiring is made again from the new settings
    try:
        yield tables
    finally:
        reset()  # its loop and Redis client
        get_settings.cache_clear()
        redis = SyncRedis.from_url(REDIS_URL, decode_responses=True)
        for key in redis.scan_iter(match=f"{prefix}:*", count=1000):
            redis.delete(key)
        redis.close()


def stored(queue: str, data: dict[str, Any], now: int, **fields: Any) -> Schedule:
    return Schedule(
        queue=queue, data=data, id="hourly", tenant="acme", next_run=now, created_at=now, **fields
    )


def test_handler_enqueues_due_runs_with_job_records(deployed: Tables, prefix: str) -> None:
    event = json.loads(EVENT.read_text())
    data = {"subAccountId": "acme", "taskName": "sum", "functionName": "calculateSum"}
    schedule = stored("generic-task", data, now_ms(), every=HOUR)
    assert deployed.schedules.create(schedule)

    first = app.handler(event, LambdaContext())
    again = app.handler(event, LambdaContext())

    assert (first["enqueued"], first["errors"]) == (1, 0)
    assert (again["enqueued"], again["errors"]) == (0, 0)
    run_id = job_id(schedule, schedule.created_at)
    record = deployed.jobs.get("generic-task", run_id)
    assert record is not None and record.tenant == "acme"
    redis = SyncRedis.from_url(REDIS_URL, decode_responses=True)
    try:
        assert redis.hget(f"{prefix}:{{generic-task}}:job:{run_id}", "state") == "waiting"
    finally:
        redis.close()
    after = deployed.schedules.get("acme", "hourly")
    assert after is not None and (after.count, after.next_run) == (1, schedule.created_at + HOUR)


async def test_declared_schedules_are_created_updated_and_removed(
    tables: Tables, registry: QueueRegistry, redis: Redis, prefix: str, clock: Clock
) -> None:
    declared = Declared(id="nightly", queue=QUEUE, cron="0 2 * * *", data={"subAccountId": "a"})
    d = app.Deployment(tables.schedules, tables.jobs, registry, [declared], prefix)

    created = await app.tick(d, redis, clock)
    assert created["created"] == 1
    nightly = tables.schedules.get("a", "nightly")
    assert nightly is not None and nightly.source == "code" and nightly.cron == "0 2 * * *"

    moved = declared.model_copy(update={"cron": "0 3 * * *"})
    d = app.Deployment(tables.schedules, tables.jobs, registry, [moved], prefix)
    assert (await app.tick(d, redis, clock))["updated"] == 1
    assert (await app.tick(d, redis, clock))["updated"] == 0
    nightly = tables.schedules.get("a", "nightly")
    assert nightly is not None and nightly.cron == "0 3 * * *"

    d = app.Deployment(tables.schedules, tables.jobs, registry, [], prefix)
    assert (await app.tick(d, redis, clock))["deleted"] == 1
    assert tables.schedules.get("a", "nightly") is None


async def test_the_job_table_holds_every_scheduled_run(
    tables: Tables, registry: QueueRegistry, redis: Redis, prefix: str, clock: Clock
) -> None:
    every = stored(QUEUE, {"subAccountId": "acme"}, clock.now, every=10_000)
    assert tables.schedules.create(every)
    d = app.Deployment(tables.schedules, tables.jobs, registry, [], prefix)
    report = await app.tick(d, redis, clock)
    assert report["enqueued"] == 8
    ids = await Jobs(redis, prefix).all_ids()
    assert len(ids) == 8
    assert all(tables.jobs.get(QUEUE, i) is not None for i in ids)
