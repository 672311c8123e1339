"""The API app as tests build it: a small registry, moto AWS, the shared Redis, API keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import boto3
import redis as sync_redis
from api.auth import Authenticator
from api.factory import create_app
from corral.definition import QueueDefinition, QueueRegistry
from corral.dlq import DeadLetterQueue
from corral.schedules import ScheduleService, ScheduleStore, ServiceSink
from corral.schedules import create_table as create_schedules_table
from corral.service import JobService
from corral.store import JobStore
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL, Payload, noop
from tests.support.awsmock import REGION, AwsStack

API_KEYS = "k-acme:acme,k-zeta:zeta,k-admin:acme:admin"
ACME = {"Authorization": "Bearer k-acme"}
ZETA = {"Authorization": "Bearer k-zeta"}
ADMIN = {"Authorization": "Bearer k-admin"}
MAX_BODY = 4096


class Strict(BaseModel):
    """A payload with a required field and bounds (for 422s)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    sub_account_id: str
    to: str = Field(min_length=3)
    count: int = Field(default=1, ge=1, le=10)


def registry() -> QueueRegistry:
    return QueueRegistry(
        [
            QueueDefinition(name="email", payload=Payload, handler=noop),
            QueueDefinition(name="strict", payload=Strict, handler=noop),
        ]
    )


@dataclass
class Wakes:
    queues: list[str] = field(default_factory=list)

    async def wake(self, queue: str) -> None:
        self.queues.append(queue)


@dataclass
class Api:
    """A running app: its HTTP client, its service, and what it woke."""

    client: TestClient
    app: FastAPI
    service: JobService
    store: JobStore
    wakes: Wakes

    def run(self, fn: Any, *args: Any) -> Any:
        """Run a coroutine function in the app's event loop (Redis clients are per loop)."""
        return self.client.portal.call(fn, *args)  # type: ignore[union-attr]


def delete_prefix_sync(prefix: str) -> None:
    client = sync_redis.Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    try:
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            client.delete(key)
    finally:
        client.close()


def schedule_service(aws: AwsStack, service: JobService) -> ScheduleService:
    """A schedule service on a fresh schedules table, enqueuing through ``service``."""
    resource = boto3.resource(
        "dynamodb",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    table = create_schedules_table(resource, f"schedules-{uuid4().hex[:8]}")
    return ScheduleService(ScheduleStore(table), ServiceSink(service), service_registry(service))


def service_registry(service: JobService) -> QueueRegistry:
    return QueueRegistry(q.definition for q in service.queues.values())


def start_api(
    aws: AwsStack,
    prefix: str,
    *,
    dynamodb: Any = None,
    redis_url: str = SHARED_REDIS_URL,
    schedules: bool = False,
) -> Iterator[Api]:
    """Yield a running app; its Redis keys are deleted afterwards."""
    redis = Redis.from_url(redis_url, decode_responses=True, socket_connect_timeout=2)
    store = JobStore(dynamodb or aws.dynamodb, aws.table)
    wakes = Wakes()
    app = create_app(
        registry(),
        redis=redis,
        store=store,
        dlq=DeadLetterQueue(aws.sqs, aws.dlq_url, wait_s=0),
        waker=wakes,
        prefix=prefix,
        authenticator=Authenticator.from_setting(API_KEYS),
        max_body_bytes=MAX_BODY,
    )
    if schedules:
        app.state.schedules = schedule_service(aws, app.state.service)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Api(client, app, app.state.service, store, wakes)
            client.portal.call(redis.aclose)  # type: ignore[union-attr]
    finally:
        store.close()
        delete_prefix_sync(prefix)
