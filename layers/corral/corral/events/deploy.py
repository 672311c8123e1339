"""The event sinks of a deployment, from its settings: EventBridge (``event_bus``), daily
counters and webhooks (``tenant_table``). Either may be off; with both off, no sink.

Long-lived parts (clients, thread pools, the registrations cache) are built once; the
sinks themselves are made per event loop (``sink(redis)``), since their background tasks
and the delivery queue's Redis client belong to one loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from corral.definition import QueueDefinition, QueueRegistry
from corral.events.eventbridge import EventBridgePublisher, EventBridgeSink, parse_types
from corral.events.sink import EventSink, combine
from corral.keys import PREFIX
from corral.queue import Queue
from corral.scripts import RedisClient
from corral.settings import Settings
from corral.stats.counters import CounterWriter
from corral.stats.tally import CounterSink, Tally, TallyFlusher
from corral.store import JobStore
from corral.webhooks.cache import CachedRegistrations, RegistrationVersion
from corral.webhooks.dispatch import WEBHOOK_QUEUE, IntakeEnqueue, WebhookDispatcher
from corral.webhooks.store import WebhookStore

ClientFactory = Callable[[str], Any]
Wake = Callable[[str], Awaitable[None]]


class DeploymentEvents:
    """Builds each event loop's sink from parts made once.

    Args:
        publisher: EventBridge (None: no bus).
        counters: the daily counters (None: no history).
        registrations: webhook registrations (None: no webhooks).
        webhook_queue: the delivery queue's definition (None: no webhooks).
        store: the job table (delivery jobs are enqueued like any job).
        prefix: the Redis key prefix.
        wake: wakes the delivery queue's poller after an enqueue.
    """

    def __init__(
        self,
        *,
        publisher: EventBridgePublisher | None = None,
        counters: CounterWriter | None = None,
        registrations: CachedRegistrations | None = None,
        webhook_queue: QueueDefinition | None = None,
        store: JobStore | None = None,
        prefix: str = PREFIX,
        wake: Wake | None = None,
    ) -> None:
        self.publisher = publisher
        self.counters = counters
        self.registrations = registrations
        self.webhook_queue = webhook_queue
        self.store = store
        self.prefix = prefix
        self.wake = wake

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        client: ClientFactory,
        registry: QueueRegistry,
        store: JobStore,
        wake: Wake | None = None,
    ) -> DeploymentEvents | None:
        """The deployment's parts, or None if events are off altogether."""
        if not settings.event_bus and not settings.tenant_table:
            return None
        parts: dict[str, Any] = {"store": store, "prefix": settings.key_prefix, "wake": wake}
        if settings.event_bus:
            parts["publisher"] = EventBridgePublisher(
                client("events"), settings.event_bus, types=parse_types(settings.event_types)
            )
        if settings.tenant_table:
            dynamodb = client("dynamodb")
            parts["counters"] = CounterWriter(dynamodb, settings.tenant_table)
            if WEBHOOK_QUEUE in registry:
                webhooks = WebhookStore(dynamodb, settings.tenant_table)
                parts["registrations"] = CachedRegistrations(webhooks)
                parts["webhook_queue"] = registry.get(WEBHOOK_QUEUE)
        return cls(**parts)

    def flusher(self, redis: RedisClient) -> TallyFlusher | None:
        """The daily counters' flusher for the running event loop (None: no counters)."""
        if self.counters is None:
            return None
        return TallyFlusher(Tally(redis, self.prefix), self.counters)

    def sink(self, redis: RedisClient) -> EventSink:
        """A sink for the running event loop."""
        dispatcher = None
        if self.registrations and self.webhook_queue and self.store:
            queue = Queue(redis, self.webhook_queue, prefix=self.prefix)
            enqueue = IntakeEnqueue(queue, self.store, self.wake)
            version = RegistrationVersion(redis, self.prefix)
            dispatcher = WebhookDispatcher(self.registrations, enqueue, version=version)
        return combine(
            EventBridgeSink(self.publisher) if self.publisher else None,
            CounterSink(Tally(redis, self.prefix)) if self.counters else None,
            dispatcher,
        )
