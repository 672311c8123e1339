"""Daily counters: one item per tenant, queue and UTC day, added to once a minute.

Each item holds counts by status (``queued``, ``completed``, ``failed``, ``retried``,
``cancelled``), a fixed histogram of durations (``d0``..``d14``, upper bounds in
``BOUNDS_MS``) from which percentiles are computed, and error counts keyed by a hash of
the error's type and normalised message (``e_<hash>``, with the text in ``m_<hash>``).

Events are summed in Redis first (``stats.tally``) and flushed here once a minute per
tenant, queue and day, so the table is written per minute, not per job. Each flush
carries an id that grows from flush to flush of an item; the update applies only over
an older id (``flushId``), so a flush sent twice (a poller that died after the write but
before Redis forgot the flushed counts) is counted once.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from corral.events.model import EventType, LifecycleEvent

logger = logging.getLogger(__name__)

BOUNDS_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000, 900_000)
"""Upper bounds of the duration buckets; one more bucket takes everything longer."""

STATUSES = ("queued", "completed", "failed", "retried", "cancelled")
RETENTION_DAYS = 400
MAX_ERROR_CHARS = 160
FLUSH_ID = "flushId"
"""The item attribute holding the id of the last flush applied to it."""

_NUMBERS = re.compile(r"\d+")
COUNTED = {EventType.QUEUED, EventType.COMPLETED, EventType.FAILED, EventType.CANCELLED}


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

    def fields(self) -> tuple[dict[str, int], dict[str, str]]:
        """The counts as item attributes (``completed``, ``d3``, ``e_<hash>``) and the
        error texts (``m_<hash>``)."""
        numbers = dict(self.counts)
        numbers.update({f"d{bucket}": n for bucket, n in self.durations.items()})
        numbers.update({f"e_{key}": n for key, n in self.errors.items()})
        return numbers, {f"m_{key}": text for key, text in self.messages.items()}


def counter_update(
    day: str, fields: Mapping[str, str | int], now_s: int, flush_id: int | None
) -> dict[str, Any]:
    """``UpdateItem`` arguments that add ``fields`` (numbers; ``m_*`` texts) to a day's item.

    With ``flush_id`` the update applies only over an older flush (see the module docstring).
    """
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    adds: list[str] = []
    sets = ["expiresAt = :exp"]
    for i, (attribute, value) in enumerate(sorted(fields.items())):
        if attribute.startswith("m_"):
            values[f":a{i}"] = {"S": str(value)}
            sets.append(f"#a{i} = if_not_exists(#a{i}, :a{i})")
        elif int(value):
            values[f":a{i}"] = {"N": str(int(value))}
            adds.append(f"#a{i} :a{i}")
        else:
            continue
        names[f"#a{i}"] = attribute
    expires = int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())
    values[":exp"] = {"N": str(max(expires, now_s) + RETENTION_DAYS * 86_400)}
    update: dict[str, Any] = {"ExpressionAttributeNames": names}
    if flush_id is not None:
        names["#f"] = FLUSH_ID
        values[":f"] = {"N": str(flush_id)}
        sets.append("#f = :f")
        update["ConditionExpression"] = "attribute_not_exists(#f) OR #f < :f"
    expression = f"SET {', '.join(sets)}"
    if adds:
        expression = f"ADD {', '.join(adds)} " + expression
    update["UpdateExpression"] = expression
    update["ExpressionAttributeValues"] = values
    return update


def group(events: Iterable[LifecycleEvent]) -> dict[tuple[str, str, str], DayCounts]:
    """Events by (tenant, queue, day), counted; events that count nothing are skipped."""
    groups: dict[tuple[str, str, str], DayCounts] = defaultdict(DayCounts)
    for event in events:
        if event.type in COUNTED and event.tenant:
            groups[(event.tenant, event.queue, day_of(event.time))].add(event)
    return groups


class CounterWriter:
    """Adds counts to the daily counter items.

    Args:
        client: a boto3 DynamoDB client (standard retries).
        table: the tenant table.
    """

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        clock_s: Callable[[], float] | None = None,
    ) -> None:
        self.client = client
        self.table = table
        self.clock_s = clock_s or (lambda: datetime.now(UTC).timestamp())
        self.calls = 0

    def apply(
        self,
        key: tuple[str, str, str],
        fields: Mapping[str, str | int],
        flush_id: int | None = None,
    ) -> bool:
        """Add ``fields`` to the item of ``key`` (tenant, queue, day); False if the flush
        ``flush_id`` (or a later one) was already applied. Raises what DynamoDB raises."""
        tenant, queue, day = key
        self.calls += 1
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": stats_pk(tenant, queue)}, "sk": {"S": day}},
                **counter_update(day, fields, int(self.clock_s()), flush_id),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def write(self, events: Iterable[LifecycleEvent]) -> int:
        """Count ``events`` straight into the table, without Redis in between (a backfill);
        returns how many items could not be updated."""
        failed = 0
        for key, counts in group(events).items():
            numbers, messages = counts.fields()
            try:
                self.apply(key, {**numbers, **messages})
            except Exception:
                logger.warning("could not count %s", key, exc_info=True)
                failed += 1
        return failed
