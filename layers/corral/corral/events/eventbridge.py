"""Publishing lifecycle events to an EventBridge bus: ``PutEvents`` with up to 10 entries.

Only the event types the deployment chose are sent (``CORRAL_EVENT_TYPES``): EventBridge
bills every entry ($1.00 per million), so all the job types would add several dollars per
million jobs, while the default (failed and dead-lettered) costs nothing for a job that
succeeds. Webhooks and the daily counters still see every event.

Entries EventBridge reports as failed (throttling, an internal error) are sent again, up
to ``attempts`` rounds; whole-call errors are retried by botocore (standard mode). What
still fails is logged and dropped: an event is a notification, never a reason to fail or
hold back a job.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from corral.events.model import EventType, LifecycleEvent
from corral.events.sink import BackgroundSink

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

logger = logging.getLogger(__name__)

SOURCE = "corral"
MAX_ENTRIES = 10
"""PutEvents takes at most 10 entries per call."""
DEFAULT_TYPES = frozenset({EventType.FAILED, EventType.DEAD_LETTERED})
"""What people alert on; the other types are opt-in (each costs $1.00 per million)."""


def parse_types(text: str) -> frozenset[EventType]:
    """Event types from ``"failed,dead-lettered"`` (slugs), ``"all"`` or ``""`` (none).

    Raises ValueError for an unknown slug, so a typo fails the deployment at start.
    """
    slugs = {part.strip().lower() for part in text.split(",") if part.strip()}
    if "all" in slugs:
        return frozenset(EventType)
    return frozenset(EventType.from_slug(slug) for slug in slugs)


def entry(event: LifecycleEvent, bus: str, source: str = SOURCE) -> PutEventsRequestEntryTypeDef:
    """The ``PutEvents`` entry of one event."""
    return {
        "Source": source,
        "DetailType": event.type.value,
        "Detail": json.dumps(event.detail, separators=(",", ":"), default=str),
        "EventBusName": bus,
        "Time": datetime.fromtimestamp(event.time / 1000, tz=UTC),
        "Resources": [],
    }


class EventBridgePublisher:
    """Sends events to one bus.

    Args:
        client: a boto3 ``events`` client (standard retries).
        bus: the bus name or ARN.
        types: the event types sent (the others are dropped before any call).
        attempts: rounds of sending for entries EventBridge reports as failed.
        workers: chunks of 10 sent at once.
    """

    def __init__(
        self,
        client: EventBridgeClient,
        bus: str,
        *,
        source: str = SOURCE,
        types: frozenset[EventType] = DEFAULT_TYPES,
        attempts: int = 3,
        workers: int = 4,
    ) -> None:
        self.client = client
        self.bus = bus
        self.source = source
        self.types = types
        self.attempts = attempts
        self.calls = 0
        self.failed = 0
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="corral-events")

    def _put_chunk(self, entries: list[PutEventsRequestEntryTypeDef]) -> int:
        """Send one chunk, resending failed entries; returns how many never got through."""
        for _ in range(self.attempts):
            self.calls += 1
            try:
                reply = self.client.put_events(Entries=entries)
            except Exception:
                logger.warning("PutEvents failed for %d entries", len(entries), exc_info=True)
                continue
            if not reply.get("FailedEntryCount"):
                return 0
            results: Sequence[Any] = reply.get("Entries", [])
            entries = [e for e, r in zip(entries, results, strict=False) if r.get("ErrorCode")]
            if not entries:
                return 0
        return len(entries)

    def publish(self, events: Sequence[LifecycleEvent]) -> int:
        """Send ``events`` in calls of at most 10; returns how many were dropped."""
        entries = [entry(e, self.bus, self.source) for e in events]
        chunks = [entries[i : i + MAX_ENTRIES] for i in range(0, len(entries), MAX_ENTRIES)]
        lost = sum(self._pool.map(self._put_chunk, chunks))
        if lost:
            self.failed += lost
            logger.warning("%d events could not be published to %s", lost, self.bus)
        return lost

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class EventBridgeSink(BackgroundSink):
    """Publishes in the background (see ``BackgroundSink``)."""

    name = "eventbridge"

    def __init__(self, publisher: EventBridgePublisher) -> None:
        super().__init__()
        self.publisher = publisher

    def accepts(self, event: LifecycleEvent) -> bool:
        return event.type in self.publisher.types

    async def send(self, events: list[LifecycleEvent]) -> None:
        await asyncio.to_thread(self.publisher.publish, events)
