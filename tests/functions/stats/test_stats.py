"""The daily counters against a seeded history of 10,000 jobs over 30 days: counts per
day and status, success rate, p50/p95 duration and top errors, read with a bounded number
of DynamoDB calls (counted with a botocore event hook, and printed)."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from corral.events.model import EventType, LifecycleEvent, job_event
from corral.stats import CounterWriter, StatsRangeError, StatsReader, table_definition
from corral.stats.counters import BOUNDS_MS, bucket_of, error_text
from moto import mock_aws

from tests.functions.events.conftest import TENANT_TABLE
from tests.support.awsmock import client

TENANT = "acme"
QUEUES = ("email", "sms")
DAYS = 30
JOBS = 10_000
BATCH = 100
"""Events per drain batch (a poller with batch_size=100)."""
FIRST_DAY = date(2026, 10, 1)
ERRORS = ("SES throttled after 3 tries", "invalid address user42@example", "timeout after 30000 ms")


@dataclass
class Seeded:
    per_day: dict[tuple[str, str], Counter[str]]
    durations: dict[str, list[int]]
    errors: dict[str, Counter[str]]
    writes: int


def day_ms(day: int, rng: random.Random) -> int:
    start = datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time(), tzinfo=UTC)
    return int(start.timestamp() * 1000) + rng.randrange(86_400_000)


def outcome(rng: random.Random, tenant: str, queue: str, at: int, n: int) -> list[LifecycleEvent]:
    """The events one job raises: queued, then retries, then completed or failed."""
    ids: dict[str, Any] = {"queue": queue, "job_id": f"j{n}", "tenant": tenant}
    events = [job_event(EventType.QUEUED, status="pending", now=at, **ids)]
    roll = rng.random()
    duration = int(rng.lognormvariate(5.5, 1.2))  # median ~245 ms, a long tail
    if roll < 0.03:
        events.append(job_event(EventType.CANCELLED, status="cancelled", now=at, **ids))
        return events
    for attempt in range(1, rng.choice((1, 1, 1, 2, 3))):
        events.append(job_event(EventType.FAILED, status="pending", now=at, willRetry=True,
                                attempt=attempt, **ids))  # fmt: skip
    if roll < 0.10:
        failed = job_event(EventType.FAILED, status="failed", now=at, willRetry=False, **ids)
        failed.error = {"type": "SendError", "message": rng.choice(ERRORS).replace("42", str(n))}
        failed.duration_ms = duration
        events.append(failed)
    else:
        completed = job_event(EventType.COMPLETED, status="completed", now=at, **ids)
        completed.duration_ms = duration
        events.append(completed)
    return events


def seed(writer: CounterWriter) -> Seeded:
    rng = random.Random(20261122)
    per_day: dict[tuple[str, str], Counter[str]] = {}
    durations: dict[str, list[int]] = {q: [] for q in QUEUES}
    errors: dict[str, Counter[str]] = {q: Counter() for q in QUEUES}
    stream: list[LifecycleEvent] = []
    for n in range(JOBS + 1000):
        tenant = TENANT if n < JOBS else "someone-else"  # another tenant's jobs: never counted
        queue, at = rng.choice(QUEUES), day_ms(rng.randrange(DAYS), rng)
        events = outcome(rng, tenant, queue, at, n)
        stream.extend(events)
        if tenant != TENANT:
            continue
        for e in events:
            day = datetime.fromtimestamp(at / 1000, tz=UTC).date().isoformat()
            counts = per_day.setdefault((queue, day), Counter())
            final = not e.detail.get("willRetry")
            counts[e.type.slug if e.type is not EventType.FAILED or final else "retried"] += 1
            if e.duration_ms is not None:
                durations[queue].append(e.duration_ms)
            if e.error is not None:
                errors[queue][error_text(e.error)] += 1
    # A poller drains one queue: its batches hold jobs of that queue, finishing in time order
    # (and, for a short enough stretch, of one tenant).
    stream.sort(key=lambda e: (e.tenant, e.queue, e.time))
    for i in range(0, len(stream), BATCH):
        writer.write(stream[i : i + BATCH])
    return Seeded(per_day, durations, errors, writer.calls)


@pytest.fixture(scope="module")
def history() -> Iterator[tuple[Any, Seeded]]:
    """One moto account seeded once for the module (10,000 jobs take a while in moto)."""
    with mock_aws():
        dynamodb = client("dynamodb")
        dynamodb.create_table(**table_definition(TENANT_TABLE))
        yield dynamodb, seed(CounterWriter(dynamodb, TENANT_TABLE))


@pytest.fixture
def seeded(history: tuple[Any, Seeded]) -> Seeded:
    return history[1]


@pytest.fixture
def dynamodb(history: tuple[Any, Seeded]) -> Any:
    return history[0]


def true_percentile(values: list[int], p: float) -> int:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


def assert_in_bucket(estimate: int | None, values: list[int], p: float) -> None:
    exact = true_percentile(values, p)
    bucket = bucket_of(exact)
    low = BOUNDS_MS[bucket - 1] if bucket else 0
    high = BOUNDS_MS[bucket] if bucket < len(BOUNDS_MS) else BOUNDS_MS[-1]
    assert estimate is not None and low <= estimate <= high, (p, exact, estimate)


def counted_reader(dynamodb: Any) -> tuple[StatsReader, Counter[str]]:
    calls: Counter[str] = Counter()

    def count(model: Any, **kwargs: Any) -> None:
        calls[model.name] += 1

    dynamodb.meta.events.register("before-call.dynamodb", count)
    return StatsReader(dynamodb, TENANT_TABLE), calls


def test_thirty_days_of_one_queue_cost_one_query(dynamodb: Any, seeded: Seeded) -> None:
    reader, calls = counted_reader(dynamodb)
    end = FIRST_DAY + timedelta(days=DAYS - 1)

    report = reader.report(TENANT, ["email"], FIRST_DAY, end)

    assert dict(calls) == {"Query": 1}
    assert report.reads == {"queries": 1, "items": DAYS}
    print(f"\n30 days, 1 queue: DynamoDB calls {dict(calls)}, items read {report.reads['items']}")
    assert len(report.days) == DAYS
    for row in report.days:
        expected = seeded.per_day.get(("email", row.date), Counter())
        assert row.counts == {s: expected[s] for s in row.counts}, row.date
    totals = Counter[str]()
    for (queue, _), counts in seeded.per_day.items():
        if queue == "email":
            totals.update(counts)
    assert report.totals == {s: totals[s] for s in report.totals}
    finished = totals["completed"] + totals["failed"]
    assert report.success_rate == round(totals["completed"] / finished, 4)
    assert report.durations == len(seeded.durations["email"])
    assert_in_bucket(report.p50_ms, seeded.durations["email"], 0.5)
    assert_in_bucket(report.p95_ms, seeded.durations["email"], 0.95)
    assert report.top_errors == seeded.errors["email"].most_common(len(report.top_errors))
    assert report.top_errors[0][0].startswith("SendError: ")


def test_every_queue_costs_one_query_per_queue(dynamodb: Any, seeded: Seeded) -> None:
    reader, calls = counted_reader(dynamodb)
    end = FIRST_DAY + timedelta(days=DAYS - 1)

    report = reader.report(TENANT, list(QUEUES), FIRST_DAY, end)

    assert dict(calls) == {"Query": len(QUEUES)}
    assert report.reads["items"] <= DAYS * len(QUEUES)
    print(f"\n30 days, {len(QUEUES)} queues: DynamoDB calls {dict(calls)}, "
          f"items read {report.reads['items']}; seeding took {seeded.writes} UpdateItem calls "
          f"for {JOBS + 1000} jobs")  # fmt: skip
    assert sum(report.totals.values()) == sum(sum(c.values()) for c in seeded.per_day.values())
    assert_in_bucket(report.p95_ms, [d for ds in seeded.durations.values() for d in ds], 0.95)
    assert seeded.writes < JOBS / 4, "counters are written per batch, not per job"


def test_a_shorter_range_reads_only_its_days(dynamodb: Any, seeded: Seeded) -> None:
    reader, _ = counted_reader(dynamodb)
    start = FIRST_DAY + timedelta(days=10)
    report = reader.report(TENANT, ["sms"], start, start + timedelta(days=6))
    assert report.reads["items"] == 7
    assert report.days[0].date == start.isoformat()


def test_another_tenant_sees_only_its_own_history(dynamodb: Any, seeded: Seeded) -> None:
    reader, _ = counted_reader(dynamodb)
    end = FIRST_DAY + timedelta(days=DAYS - 1)
    mine = reader.report(TENANT, list(QUEUES), FIRST_DAY, end)
    theirs = reader.report("someone-else", list(QUEUES), FIRST_DAY, end)
    assert 0 < sum(theirs.totals.values()) < sum(mine.totals.values()) / 5
    assert reader.report("nobody", ["email"], FIRST_DAY, end).success_rate is None


def test_ranges_are_bounded(dynamodb: Any) -> None:
    reader = StatsReader(dynamodb, TENANT_TABLE)
    with pytest.raises(StatsRangeError, match="after"):
        reader.report(TENANT, ["email"], FIRST_DAY, FIRST_DAY - timedelta(days=1))
    with pytest.raises(StatsRangeError, match="at most"):
        reader.report(TENANT, ["email"], FIRST_DAY, FIRST_DAY + timedelta(days=400))
