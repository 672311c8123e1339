"""The API app as the security tests attack it: two tenants, an admin, schedules, moto.

One tenant's key is configured hashed (``sha256:<hex>:zeta``), so every test that calls
as ``zeta`` also proves a digest-only key works end to end.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import boto3
import redis as sync_redis
from api.auth import Authenticator
from api.factory import create_app
from api.routes.webhooks import WebhookConfig
from api.signin import SignInLinks
from corral.definition import QueueRegistry
from corral.dlq import DeadLetterQueue
from corral.drain import Drainer
from corral.failures import FailureRecorder
from corral.poller import StoreHooks
from corral.queue import Queue
from corral.schedules import ScheduleService, ScheduleStore, ServiceSink, create_table
from corral.service import JobService
from corral.stats import StatsReader
from corral.stats.table import table_definition as tenant_table
from corral.store import JobStore
from corral.webhooks.store import WebhookStore
from fastapi import FastAPI
from fastapi.testclient import TestClient
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL, Payload
from tests.functions.apiapp import registry as api_registry
from tests.support.awsmock import REGION, start_aws

ACME_KEY = "k-acme-0a1b2c3d4e5f"
ZETA_KEY = "k-zeta-5f4e3d2c1b0a"
ADMIN_KEY = "k-admin-9f8e7d6c5b4a"
API_KEYS = ",".join(
    [
        f"{ACME_KEY}:acme",
        f"sha256:{hashlib.sha256(ZETA_KEY.encode()).hexdigest()}:zeta",
        f"{ADMIN_KEY}:acme:admin",
    ]
)
ACME = {"Authorization": f"Bearer {ACME_KEY}"}
ZETA = {"Authorization": f"Bearer {ZETA_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
MAX_BODY = 16_384
SECRET_PATH = "/srv/corral/handlers/private.py"
"""A server path that a failing handler's message names (and its stack would show)."""


def registry() -> QueueRegistry:
    """``email`` (loose payload) and ``strict`` (bounded fields), as in the API tests."""
    return api_registry()


@dataclass
class SecApp:
    client: TestClient
    app: FastAPI
    service: JobService
    store: JobStore
    schedules: ScheduleStore
    prefix: str

    def redis_keys(self) -> list[str]:
        """Every Redis key the app wrote."""
        client = sync_redis.Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
        try:
            return sorted(client.scan_iter(match=f"{self.prefix}:*", count=1000))
        finally:
            client.close()


def start_app(prefix: str | None = None, queues: QueueRegistry | None = None) -> Iterator[SecApp]:
    """Yield a running app on moto and the shared Redis; its keys are deleted afterwards."""
    prefix = prefix or f"t{uuid4().hex[:12]}"
    for aws in start_aws():
        dynamodb = boto3.resource(
            "dynamodb",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        table = create_table(dynamodb, f"schedules-{uuid4().hex[:8]}")
        tenants = f"tenants-{uuid4().hex[:8]}"
        aws.dynamodb.create_table(**tenant_table(tenants))
        # Webhook URLs resolve to a public documentation address, without DNS.
        webhooks = WebhookConfig(WebhookStore(aws.dynamodb, tenants), resolve=public_address)
        stats = StatsReader(aws.dynamodb, tenants)
        redis = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
        store = JobStore(aws.dynamodb, aws.table)
        queues = queues or registry()
        service = JobService.build(
            queues, redis, store, prefix=prefix, dlq=DeadLetterQueue(aws.sqs, aws.dlq_url, wait_s=0)
        )
        schedules = ScheduleService(ScheduleStore(table), ServiceSink(service), queues)
        app = create_app(
            queues,
            service=service,
            authenticator=Authenticator.from_setting(API_KEYS),
            schedules=schedules,
            max_body_bytes=MAX_BODY,
            webhook_config=webhooks,
            stats_reader=stats,
            sign_in=SignInLinks(redis, prefix),
        )
        secapp: SecApp | None = None
        try:
            with TestClient(app, raise_server_exceptions=False) as client:
                secapp = SecApp(client, app, service, store, schedules.store, prefix)
                yield secapp
                client.portal.call(redis.aclose)  # type: ignore[union-attr]
        finally:
            store.close()
            stats.close()
            cleanup = sync_redis.Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
            for key in cleanup.scan_iter(match=f"{prefix}:*", count=1000):
                cleanup.delete(key)
            cleanup.close()


def boom(payload: Payload, job: object) -> None:
    raise ValueError(f"the disk said no at {SECRET_PATH}")


def fail_the_job(app: SecApp, job_id: str) -> None:
    """Drain ``email`` once with a handler that raises (one attempt: failed for good)."""
    email = app.service.queue("email")
    definition = dataclasses.replace(email.definition, handler=boom)
    queue = Queue(email.redis, definition, prefix=app.prefix)
    failures = FailureRecorder(app.store, app.service.dlq)
    hooks = StoreHooks(queue, app.store, failures)

    async def drain() -> None:
        await Drainer(queue, concurrency=1, hooks=hooks, idle_wait_ms=50).run(until_empty=True)

    app.client.portal.call(drain)  # type: ignore[union-attr]
    record = app.store.get("email", job_id)
    assert record is not None and record.status == "failed", record


def public_address(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


def enqueue(app: SecApp, headers: dict[str, str], **options: Any) -> str:
    """Enqueue one ``email`` job; returns its id."""
    body: dict[str, Any] = {"data": {"n": 1}}
    if options:
        body["options"] = options
    reply = app.client.post("/jobs/email", json=body, headers=headers)
    assert reply.status_code in (200, 202), reply.text
    job_id: str = reply.json()["jobId"]
    return job_id
