"""A tenant's history: counts per day and status, success rate, p50/p95 duration, top errors.

Read from the daily counters (``counters``), never from the jobs themselves. The cost of
a query is therefore bounded by the date range and the number of queues, whatever the
job volume: one ``Query`` per queue (``pk = stats#{tenant}#{queue}``, ``sk BETWEEN from
AND to``), returning at most one item per day. A 30-day report on one queue reads at most
30 items in one call; on every queue, one call per queue (made in parallel).

Counts not yet flushed from Redis (``stats.tally``) are passed in and added, so a report
is current between flushes. The report also estimates what the tenant's jobs cost on AWS
(``corral.pricing``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from corral import pricing
from corral.stats.counters import BOUNDS_MS, FLUSH_ID, STATUSES, stats_pk
from corral.stats.tally import Unflushed

MAX_DAYS = 92
TOP_ERRORS = 10


class StatsRangeError(ValueError):
    """The range is reversed, or longer than ``MAX_DAYS``."""


@dataclass
class DayRow:
    date: str
    counts: dict[str, int]


@dataclass
class Report:
    """What ``GET /stats`` answers (see the route for the JSON shape)."""

    start: str
    end: str
    queues: list[str]
    days: list[DayRow]
    totals: dict[str, int]
    success_rate: float | None
    p50_ms: int | None
    p95_ms: int | None
    durations: int
    top_errors: list[tuple[str, int]]
    reads: dict[str, int] = field(default_factory=dict)
    cost: dict[str, float] = field(default_factory=dict)
    """Estimated AWS dollars by service (``corral.pricing.estimate``)."""


def day_range(start: date, end: date) -> list[str]:
    if end < start:
        raise StatsRangeError("'from' is after 'to'")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise StatsRangeError(f"at most {MAX_DAYS} days per query")
    return [(start + timedelta(days=i)).isoformat() for i in range(days)]


def percentile(histogram: Sequence[int], p: float) -> int | None:
    """The ``p`` quantile (0-1), interpolated linearly inside its bucket."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = p * total
    seen = 0
    for i, n in enumerate(histogram):
        if n and seen + n >= rank:
            if i == len(BOUNDS_MS):
                return BOUNDS_MS[-1]  # open-ended bucket: "longer than the last bound"
            low = BOUNDS_MS[i - 1] if i else 0
            share = (rank - seen) / n
            return round(low + share * (BOUNDS_MS[i] - low))
        seen += n
    return BOUNDS_MS[-1]


def _number(item: dict[str, Any], name: str) -> int:
    value = item.get(name)
    return int(value["N"]) if value else 0


class StatsReader:
    """Reads counters back and computes a report.

    Args:
        client: a boto3 DynamoDB client.
        table: the tenant table.
        event_types: the lifecycle events the deployment sends to EventBridge (slugs), for
            the cost estimate.
        write_unit: what a job table write costs (``pricing.job_table_write_unit``), for
            the cost estimate.
    """

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        workers: int = 6,
        event_types: frozenset[str] = frozenset(pricing.FAILURE_EVENTS),
        write_unit: float = pricing.DYNAMODB_WRITE_UNIT,
    ) -> None:
        self.client = client
        self.table = table
        self.event_types = event_types
        self.write_unit = write_unit
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="corral-stats")

    def _items(self, tenant: str, queue: str, start: str, end: str) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :from AND :to",
            "ExpressionAttributeValues": {
                ":pk": {"S": stats_pk(tenant, queue)},
                ":from": {"S": start},
                ":to": {"S": end},
            },
        }
        items: list[dict[str, Any]] = []
        while True:  # one page holds 92 small items; paging is only a safety net
            reply = self.client.query(**kwargs)
            items.extend(reply.get("Items", []))
            if "LastEvaluatedKey" not in reply:
                return items
            kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]

    def report(
        self,
        tenant: str,
        queues: Sequence[str],
        start: date,
        end: date,
        unflushed: Sequence[tuple[str, Unflushed]] = (),
    ) -> Report:
        """The report of ``tenant`` over ``queues`` from ``start`` to ``end`` (inclusive),
        with ``unflushed`` counts ``(queue, tally)`` still in Redis added."""
        days = day_range(start, end)
        pages = list(self._pool.map(lambda q: self._items(tenant, q, days[0], days[-1]), queues))
        items = [i for page in pages for i in page]
        report = summarise(days, items + pending_items(tenant, items, unflushed))
        report.queues = list(queues)
        report.reads = {"queries": len(queues), "items": sum(len(p) for p in pages)}
        report.cost = pricing.estimate(
            report.totals, event_types=self.event_types, write_unit=self.write_unit
        )
        return report

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def pending_items(
    tenant: str, items: Sequence[dict[str, Any]], unflushed: Sequence[tuple[str, Unflushed]]
) -> list[dict[str, Any]]:
    """Redis tallies as counter items; a snapshot whose flush already landed is left out."""
    flushed = {(item["pk"]["S"], item["sk"]["S"]): _number(item, FLUSH_ID) for item in items}
    found = []
    for queue, (day, flush_id, fields) in unflushed:
        pk = stats_pk(tenant, queue)
        if flush_id is not None and flushed.get((pk, day), 0) >= flush_id:
            continue
        item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": day}}
        for name, value in fields.items():
            item[name] = {"S": value} if name.startswith("m_") else {"N": value}
        found.append(item)
    return found


def summarise(days: list[str], items: Iterable[dict[str, Any]]) -> Report:
    """Fold counter items (of any queues) into a report over ``days``."""
    per_day = {d: Counter[str]() for d in days}
    histogram = [0] * (len(BOUNDS_MS) + 1)
    errors: Counter[str] = Counter()
    for item in items:
        row = per_day.get(item["sk"]["S"])
        if row is None:
            continue
        for status in STATUSES:
            row[status] += _number(item, status)
        for i in range(len(histogram)):
            histogram[i] += _number(item, f"d{i}")
        for name, value in item.items():
            if name.startswith("e_"):
                message = item.get("m_" + name[2:], {}).get("S", name[2:])
                errors[message] += int(value["N"])
    totals: Counter[str] = Counter()
    for row in per_day.values():
        totals.update(row)
    finished = totals["completed"] + totals["failed"]
    return Report(
        start=days[0],
        end=days[-1],
        queues=[],
        days=[DayRow(d, {s: per_day[d][s] for s in STATUSES}) for d in days],
        totals={s: totals[s] for s in STATUSES},
        success_rate=round(totals["completed"] / finished, 4) if finished else None,
        p50_ms=percentile(histogram, 0.5),
        p95_ms=percentile(histogram, 0.95),
        durations=sum(histogram),
        top_errors=errors.most_common(TOP_ERRORS),
    )
