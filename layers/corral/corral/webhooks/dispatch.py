"""Turning lifecycle events into webhook deliveries: one job per event and target.

Targets are the job's own ``options.webhook`` and the tenant's registrations for the
queue, each filtered by the events it asked for. Each delivery is a job on the ``webhook``
queue, so it gets the engine's retries, backoff and dead-letter queue. Its id is derived
from the event and the target, so dispatching the same event twice enqueues it once.
Deliveries of the ``webhook`` queue raise no webhooks themselves (no loops).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from corral.errors import CorralError
from corral.events.model import EventType, LifecycleEvent
from corral.events.sink import BackgroundSink
from corral.guards import ServiceUnavailableError
from corral.intake import Intake
from corral.job import JobOptions
from corral.queue import Queue, now_ms
from corral.store import JobStore
from corral.webhooks.cache import RegistrationVersion
from corral.webhooks.store import DEFAULT_EVENTS, Registration

logger = logging.getLogger(__name__)

WEBHOOK_QUEUE = "webhook"

Delivery = tuple[str, str, dict[str, Any]]
"""``(tenant, delivery id, payload)`` of one delivery job."""

DeliveryEnqueue = Callable[[Sequence[Delivery]], Awaitable[None]]


class RegistrationSource(Protocol):
    def seen(self, version: int | None) -> None: ...

    def for_queue(self, tenant: str, queue: str) -> list[Registration]: ...


def delivery_id(event: LifecycleEvent, url: str, webhook_id: str | None) -> str:
    """Stable for one event and target: the job id, and the receiver's idempotency key."""
    attempt = event.detail.get("attempt", "")
    key = f"{event.queue}|{event.job_id}|{event.type}|{attempt}|{event.time}|{webhook_id}|{url}"
    return "whd-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def payload(event: LifecycleEvent, url: str, webhook_id: str | None) -> Delivery:
    ident = delivery_id(event, url, webhook_id)
    body: dict[str, Any] = {
        "subAccountId": event.tenant,
        "url": url,
        "event": event.type.value,
        "deliveryId": ident,
        "time": event.time,
        "detail": event.detail,
    }
    if webhook_id:
        body["webhookId"] = webhook_id
    return event.tenant, ident, body


class WebhookDispatcher(BackgroundSink):
    """A sink that enqueues the deliveries events call for (see ``BackgroundSink``).

    Args:
        registrations: the tenants' registrations (cache them: asked per event).
        enqueue: enqueues delivery jobs (``IntakeEnqueue`` in a deployment).
        version: the registrations' change counter, read once per batch (None: the
            cache's own expiry alone).
    """

    name = "webhooks"

    def __init__(
        self,
        registrations: RegistrationSource,
        enqueue: DeliveryEnqueue,
        *,
        webhook_queue: str = WEBHOOK_QUEUE,
        version: RegistrationVersion | None = None,
    ) -> None:
        super().__init__()
        self.registrations = registrations
        self.enqueue = enqueue
        self.webhook_queue = webhook_queue
        self.version = version

    def accepts(self, event: LifecycleEvent) -> bool:
        return bool(event.tenant and event.job_id) and event.queue != self.webhook_queue

    def targets(self, event: LifecycleEvent) -> list[Delivery]:
        slug = event.type.slug
        found = []
        option = event.webhook
        if option and slug in (option.get("events") or DEFAULT_EVENTS):
            found.append(payload(event, option["url"], None))
        for registration in self.registrations.for_queue(event.tenant, event.queue):
            if registration.wants(slug):
                found.append(payload(event, registration.url, registration.id))
        return found

    async def send(self, events: list[LifecycleEvent]) -> None:
        if self.version is not None:
            self.registrations.seen(await self.version.read())

        def collect() -> list[Delivery]:
            return [d for e in events for d in self.targets(e)]

        deliveries = await asyncio.to_thread(collect)
        if deliveries:
            await self.enqueue(deliveries)


class IntakeEnqueue:
    """Enqueues deliveries the way the API enqueues jobs: the record first, then Redis.

    Args:
        queue: the ``webhook`` queue.
        store: the job table.
        wake: wakes the queue's poller after an enqueue (None: its schedule finds them).
    """

    def __init__(
        self,
        queue: Queue,
        store: JobStore,
        wake: Callable[[str], Awaitable[None]] | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.queue = queue
        self.store = store
        self.wake = wake
        self.clock = clock

    async def __call__(self, deliveries: Sequence[Delivery]) -> None:
        by_tenant: dict[str, list[tuple[Any, JobOptions | None]]] = defaultdict(list)
        for tenant, ident, body in deliveries:
            by_tenant[tenant].append((body, JobOptions(job_id=ident)))
        added = 0
        for tenant, jobs in by_tenant.items():
            try:
                accepted = await Intake(self.queue, self.store, tenant, self.clock).run(jobs)
            except (CorralError, ServiceUnavailableError):
                logger.warning("could not enqueue %d webhook deliveries", len(jobs), exc_info=True)
                continue
            added += sum(1 for a in accepted if not a.deduplicated)
        if added and self.wake is not None:
            await self.wake(self.queue.name)


__all__ = ["EventType", "IntakeEnqueue", "WebhookDispatcher", "delivery_id"]
