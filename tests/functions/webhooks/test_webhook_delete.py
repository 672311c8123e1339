"""A deleted webhook stops receiving at once: the API's delete bumps a version in Redis
that the dispatcher reads per batch, and a delivery already queued checks its registration
before it sends."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from api.auth import Authenticator
from api.factory import create_app
from api.routes.webhooks import WebhookConfig
from corral.definition import QueueDefinition, QueueRegistry
from corral.events.model import EventType, LifecycleEvent, job_event
from corral.service import JobService
from corral.webhooks.cache import CachedRegistrations, RegistrationVersion
from corral.webhooks.delivery import DeliverySettings, deliver
from corral.webhooks.dispatch import Delivery, WebhookDispatcher
from corral.webhooks.store import WebhookStore
from fastapi.testclient import TestClient
from queues import webhook
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL, Payload, noop
from tests.functions.events.conftest import TENANT_TABLE, EventStack
from tests.support.receiver import Receiver

ACME = {"Authorization": "Bearer k-acme"}


def queued(job_id: str) -> LifecycleEvent:
    return job_event(
        EventType.QUEUED, queue="email", job_id=job_id, tenant="acme", status="pending", now=1
    )


def api_app(aws: EventStack, store: WebhookStore, version: RegistrationVersion) -> TestClient:
    registry = QueueRegistry(
        [QueueDefinition(name="email", payload=Payload, handler=noop), webhook.queue]
    )
    app = create_app(
        registry,
        service=JobService.build(registry, None, aws.store),
        authenticator=Authenticator.from_setting("k-acme:acme"),
    )
    app.state.webhooks = WebhookConfig(store, local=True, version=version)
    return TestClient(app, raise_server_exceptions=False)


async def test_a_webhook_deleted_through_the_api_gets_nothing_from_the_next_batch(
    single_redis: Redis, prefix: str, aws: EventStack
) -> None:
    store = WebhookStore(aws.dynamodb, TENANT_TABLE)
    sent: list[Delivery] = []

    async def record(deliveries: Sequence[Delivery]) -> None:
        sent.extend(deliveries)

    fresh = WebhookDispatcher(
        CachedRegistrations(store), record, version=RegistrationVersion(single_redis, prefix)
    )
    ttl_only = WebhookDispatcher(CachedRegistrations(store), record)
    # The app's loop is TestClient's own: it gets a Redis client of its own.
    app_redis = Redis.from_url(SHARED_REDIS_URL)
    with api_app(aws, store, RegistrationVersion(app_redis, prefix)) as api:
        body = {"queue": "email", "url": "http://127.0.0.1:9/in", "events": ["queued"]}
        hook = api.post("/webhooks", json=body, headers=ACME).json()
        for dispatcher in (fresh, ttl_only):
            await dispatcher.send([queued("before")])  # both now hold the registration
        assert len(sent) == 2

        started = time.monotonic()
        assert api.delete(f"/webhooks/{hook['id']}", headers=ACME).status_code == 200
        await fresh.send([queued("after")])
        elapsed = time.monotonic() - started
        assert len(sent) == 2, "the versioned cache still dispatched to a deleted webhook"
        assert elapsed < 1.0

        # Without the version, the cache would have kept the registration for a minute.
        await ttl_only.send([queued("after")])
        assert len(sent) == 3
        assert api.portal is not None
        api.portal.call(app_redis.aclose)


def test_a_delivery_queued_before_the_delete_is_not_sent(aws: EventStack) -> None:
    store = WebhookStore(aws.dynamodb, TENANT_TABLE)
    receiver = Receiver().start()
    try:
        hook = store.create("acme", "email", receiver.url, ["queued"])
        settings = DeliverySettings(secret_of=store.secret, registered=store.exists, local=True)

        def send(delivery_id: str, webhook_id: str | None) -> dict[str, Any]:
            return deliver(
                tenant="acme",
                url=receiver.url,
                delivery_id=delivery_id,
                event="Job Queued",
                at_ms=1,
                detail={},
                settings=settings,
                webhook_id=webhook_id,
            )

        assert send("d1", hook.id)["status"] == 200 and len(receiver.requests) == 1
        assert store.delete("acme", hook.id)
        assert send("d2", hook.id) == {"skipped": "webhook deleted", "deliveryId": "d2"}
        assert len(receiver.requests) == 1
        # A job's own options.webhook has no registration to lose: it is still sent.
        send("d3", None)
        assert len(receiver.requests) == 2
    finally:
        receiver.stop()


async def test_an_unreachable_redis_neither_fails_a_delete_nor_a_dispatch() -> None:
    down = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    version = RegistrationVersion(down)
    await version.bump()  # logged, not raised: the delete is already durable
    assert await version.read() is None  # the cache's TTL then rules
    await down.aclose()
