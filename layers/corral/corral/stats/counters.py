"""Daily counters, written as jobs finish: one item per tenant, queue and UTC day.

Each item holds counts by status (``queued``, ``completed``, ``failed``, ``retried``,
``cancelled``), a fixed histogram of durations (``d0``..``d14``, upper bounds in
``BOUNDS_MS``) from which percentiles are computed, and error counts keyed by a hash of
the error's type and normalised message (``e_<hash>``, with the text in ``m_<hash>``).

A batch of events becomes one ``UpdateItem`` with ``ADD`` per tenant, queue and day,
whatever the number of jobs in it, so the write cost grows with batches, not jobs. An
update that fails (after boto3's own retries) is kept and added to the next batch's, so
an outage of the table delays counts instead of losing them; ``ADD`` is not idempotent,
so an update whose outcome is unknown (a timeout after DynamoDB applied it) may count twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from corral.events.model import EventType, LifecycleEvent
from corral.events.sink import BackgroundSink

logger = logging.getLogger(__name__)

BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000, 900_000)
"""Upper bounds of the duration buckets; one more bucket takes everything longer."""

STATUSES = ("queued", "completed", "failed", "retried", "cancelled")
RETENTION_DAYS = 400
MAX_ERROR_CHARS = 160
MAX_UNWRITTEN = 1000
"""Items whose failed updates are kept for the next batch; past this the oldest are dropped."""

_NUMBERS = re.compile(r"\d+")
_COUNTED = {EventType.QUEUED, EventType.COMPLETED, EventType.FAILED, EventType.CANCELLED}


def day_of(ms: int) -> str:
    """The UTC day of an epoch-ms time, ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def stats_pk(tenant: str, queue: str) -> str:
    return f"stats#{tenant}#{queue}"


def bucket_of(duration_ms: int) -> int:
    for i, bound in enumerate(BOUNDS_MS):
        if duration_ms <= bound:
            return i
    return len(BOUNDS_MS)


def error_text(error: Any) -> str:
    """``"Type: message"`` with numbers folded, so ids and counts do not split a kind."""
    if isinstance(error, dict):
        kind, message = str(error.get("type") or "Error"), str(error.get("message") or "")
        text = f"{kind}: {message}"
    else:
        text = str(error)
    return _NUMBERS.sub("#", text)[:MAX_ERROR_CHARS]


def error_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class DayCounts:
    """What one batch adds to one counter item."""

    counts: Counter[str] = field(default_factory=Counter)
    durations: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    messages: dict[str, str] = field(default_factory=dict)

    def add(self, event: LifecycleEvent) -> None:
        kind = event.type
        if kind is EventType.FAILED:
            final = not event.detail.get("willRetry")
            self.counts["failed" if final else "retried"] += 1
            if final and event.error is not None:
                text = error_text(event.error)
                key = error_key(text)
                self.errors[key] += 1
                self.messages[key] = text
        else:
            self.counts[kind.slug] += 1
        final_attempt = kind is EventType.COMPLETED or (
            kind is EventType.FAILED and not event.detail.get("willRetry")
        )
        if final_attempt and event.duration_ms is not None:
            self.durations[bucket_of(event.duration_ms)] += 1

    def merge(self, other: DayCounts) -> DayCounts:
        """Adds ``other``'s counts to these; returns self."""
        self.counts.update(other.counts)
        self.durations.update(other.durations)
        self.errors.update(other.errors)
        self.messages.update(other.messages)
        return self

    def update(self, day: str, now_s: int) -> dict[str, Any]:
        """``UpdateItem`` arguments that add these counts to the item."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        adds: list[str] = []

        def add(attribute: str, amount: int) -> None:
            i = len(names)
            names[f"#a{i}"] = attribute
            values[f":a{i}"] = {"N": str(amount)}
            adds.append(f"#a{i} :a{i}")

        for status, n in self.counts.items():
            add(status, n)
        for bucket, n in self.durations.items():
            add(f"d{bucket}", n)
        sets = ["expiresAt = :exp"]
        for key, n in self.errors.items():
            add(f"e_{key}", n)
            names[f"#m_{key}"] = f"m_{key}"
            values[f":m_{key}"] = {"S": self.messages[key]}
            sets.append(f"#m_{key} = if_not_exists(#m_{key}, :m_{key})")
        expires = int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
        values[":exp"] = {"N": str(max(expires, now_s) + RETENTION_DAYS * 86_400)}
        return {
            "UpdateExpression": f"ADD {', '.join(adds)} SET {', '.join(sets)}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }


def group(events: Iterable[LifecycleEvent]) -> dict[tuple[str, str, str], DayCounts]:
    """Events by (tenant, queue, day), counted; events that count nothing are skipped."""
    groups: dict[tuple[str, str, str], DayCounts] = defaultdict(DayCounts)
    for event in events:
        if event.type in _COUNTED and event.tenant:
            groups[(event.tenant, event.queue, day_of(event.time))].add(event)
    return groups


class CounterWriter:
    """Adds batches of events to the daily counters.

    Args:
        client: a boto3 DynamoDB client (standard retries).
        table: the tenant table.
        workers: items updated at once.
    """

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        workers: int = 4,
        clock_s: Callable[[], float] | None = None,
    ) -> None:
        self.client = client
        self.table = table
        self.clock_s = clock_s or (lambda: datetime.now(UTC).timestamp())
        self.calls = 0
        self.dropped = 0
        self._unwritten: dict[tuple[str, str, str], DayCounts] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="corral-stats")

    def _write(self, key: tuple[str, str, str], counts: DayCounts) -> bool:
        tenant, queue, day = key
        try:
            self.calls += 1
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": stats_pk(tenant, queue)}, "sk": {"S": day}},
                **counts.update(day, int(self.clock_s())),
            )
        except Exception:
            logger.warning("could not count %s/%s on %s", tenant, queue, day, exc_info=True)
            return False
        return True

    def write(self, events: Iterable[LifecycleEvent]) -> int:
        """Count ``events`` and any earlier counts that failed; returns how many items
        could not be updated (kept for the next call)."""
        with self._lock:
            groups, self._unwritten = self._unwritten, {}  # the oldest first
        for key, counts in group(events).items():
            groups[key] = groups[key].merge(counts) if key in groups else counts
        items = list(groups.items())
        done = list(self._pool.map(lambda kv: self._write(*kv), items))
        failed = [kv for kv, ok in zip(items, done, strict=True) if not ok]
        if failed:
            self._keep(failed)
        return len(failed)

    def _keep(self, failed: list[tuple[tuple[str, str, str], DayCounts]]) -> None:
        with self._lock:
            for key, counts in failed:
                kept = self._unwritten.get(key)
                self._unwritten[key] = kept.merge(counts) if kept else counts
            while len(self._unwritten) > MAX_UNWRITTEN:
                oldest = next(iter(self._unwritten))
                del self._unwritten[oldest]
                self.dropped += 1
                logger.error("gave up counting %s: too many unwritten counters", oldest)

    @property
    def unwritten(self) -> int:
        """Items whose counts wait for the next batch."""
        return len(self._unwritten)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class CounterSink(BackgroundSink):
    """Counts in the background (see ``BackgroundSink``)."""

    name = "stats"

    def __init__(self, writer: CounterWriter) -> None:
        super().__init__()
        self.writer = writer

    def accepts(self, event: LifecycleEvent) -> bool:
        return event.type in _COUNTED

    async def send(self, events: list[LifecycleEvent]) -> None:
        await asyncio.to_thread(self.writer.write, events)
