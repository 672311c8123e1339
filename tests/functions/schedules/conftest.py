"""Schedules under test: a controlled clock, moto DynamoDB, the shared Redis (own prefix)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import boto3
import pytest
from corral.definition import QueueDefinition, QueueRegistry
from corral.job import CamelModel
from corral.keys import QueueKeys
from corral.schedules import QueueSink, ScheduleService, ScheduleStore, create_table
from moto import mock_aws
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table

REDIS_URL = SHARED_REDIS_URL
QUEUE = "reports"


class ReportPayload(CamelModel):
    sub_account_id: str
    kind: str = "daily"


async def _noop(payload: Any, job: Any) -> None:
    return None


def ms(text: str, tz: str = "UTC") -> int:
    """Epoch ms of a wall-clock time in a zone (``2026-03-29T02:30``)."""
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp() * 1000)


@dataclass
class Clock:
    """Time moves only when a test moves it."""

    now: int

    def __call__(self) -> int:
        return self.now

    def set(self, when: int) -> None:
        self.now = when

    def advance(self, delta_ms: int) -> None:
        self.now += delta_ms


@pytest.fixture
def clock() -> Clock:
    return Clock(ms("2026-06-01T12:00:00"))


@pytest.fixture
def registry() -> QueueRegistry:
    return QueueRegistry([QueueDefinition(name=QUEUE, payload=ReportPayload, handler=_noop)])


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[DynamoDBServiceResource]:
    """One moto session per module (building the resource is the slow part)."""
    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.setenv(name, "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        with mock_aws():
            yield boto3.resource("dynamodb", region_name="us-east-1")


@pytest.fixture
def table(dynamodb: DynamoDBServiceResource) -> Iterator[Table]:
    """A fresh schedules table per test, so a tick sees only that test's schedules."""
    table = create_table(dynamodb, f"schedules-{uuid4().hex[:8]}")
    yield table
    table.delete()


@pytest.fixture
def store(table: Table) -> ScheduleStore:
    return ScheduleStore(table)


@pytest.fixture
def prefix() -> str:
    return f"t{uuid4().hex[:12]}"


async def delete_prefix(client: Any, prefix: str) -> None:
    async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        await client.delete(key)


@pytest.fixture
async def redis(prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        yield client
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()


@pytest.fixture
def service(
    store: ScheduleStore, redis: Redis, registry: QueueRegistry, prefix: str, clock: Clock
) -> ScheduleService:
    sink = QueueSink(redis, registry, prefix=prefix, clock=clock)
    return ScheduleService(store, sink, registry, clock=clock)


class Jobs:
    """What the queue holds: delayed job ids by run time, and each job's state."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.keys = QueueKeys(QUEUE, prefix)

    async def delayed(self) -> dict[str, int]:
        pairs = await self.redis.zrange(self.keys.base + "delayed", 0, -1, withscores=True)
        return {str(pair[0]): int(pair[1]) for pair in pairs}

    async def state(self, job_id: str) -> str | None:
        value = await self.redis.hget(self.keys.job(job_id), "state")
        return None if value is None else str(value)

    async def all_ids(self) -> set[str]:
        pattern = self.keys.job("*")
        return {key.removeprefix(self.keys.job("")) async for key in self.redis.scan_iter(pattern)}

    async def runs(self) -> list[int]:
        """The occurrence time of every job in the queue (the end of its id), sorted."""
        return sorted(int(i.rsplit(".", 1)[1]) for i in await self.all_ids())


@pytest.fixture
def jobs(redis: Redis, prefix: str) -> Jobs:
    return Jobs(redis, prefix)
