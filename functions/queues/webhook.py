"""The ``webhook`` queue: one signed POST per job (a lifecycle event for one receiver).

Jobs are enqueued by the webhook dispatcher (``corral.webhooks.dispatch``), never by
callers. Deliveries retry with the engine's backoff and end in the dead-letter queue like
any job; see ``corral.webhooks.delivery`` for which answers retry.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from corral.context import JobContext
from corral.definition import QueueDefinition
from corral.job import Backoff
from corral.settings import get_settings
from corral.webhooks.delivery import DeliverySettings, deliver
from pydantic import Field

from queues._common import TenantPayload, aws_client


class WebhookPayload(TenantPayload):
    """One delivery: where, which event, and its detail."""

    url: str = Field(max_length=2048)
    webhook_id: str | None = None
    event: str = Field(max_length=64)
    delivery_id: str = Field(max_length=128)
    time: int
    detail: dict[str, Any]


@cache
def delivery_settings() -> DeliverySettings:
    """Built once per process: the secrets' table (on the process's client) and the mode."""
    from corral.webhooks.store import WebhookStore  # botocore: not before the first claim

    settings = get_settings()
    store = WebhookStore(aws_client("dynamodb"), settings.tenant_table)
    return DeliverySettings(secret_of=store.secret, registered=store.exists, local=settings.local)


def send(payload: WebhookPayload, settings: DeliverySettings) -> dict[str, Any]:
    return deliver(
        tenant=payload.sub_account_id,
        url=payload.url,
        delivery_id=payload.delivery_id,
        event=payload.event,
        at_ms=payload.time,
        detail=payload.detail,
        settings=settings,
        webhook_id=payload.webhook_id,
    )


def handle(payload: WebhookPayload, job: JobContext) -> dict[str, Any]:
    """The queue's handler: ``{status, deliveryId}``."""
    return send(payload, delivery_settings())


queue = QueueDefinition(
    name="webhook",
    payload=WebhookPayload,
    handler=handle,
    concurrency=16,
    group_concurrency=4,
    attempts=8,
    # 2 s doubling to at most 1 h: about two hours of tries before the dead-letter queue.
    backoff=Backoff(delay=2000, max_delay=3_600_000),
    timeout_ms=30_000,
    poller_timeout_s=120,
    description="Signed webhook deliveries of job lifecycle events",
)
