"""Daily counters summed in Redis and flushed once a minute: exact whatever step a flush
dies in (after the snapshot, after the DynamoDB write), through a table outage, and with
a flusher that holds an old snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from corral.events.model import EventType, LifecycleEvent, job_event
from corral.stats import CounterWriter, StatsReader, Tally, TallyFlusher, table_definition
from corral.stats.tally import FlushReport, member
from moto import mock_aws
from redis.asyncio import Redis

from tests.functions.events.conftest import TENANT_TABLE
from tests.support.awsmock import client

AT = int(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp() * 1000)
DAY = datetime(2026, 11, 20, tzinfo=UTC).date()
ACME = member(DAY.isoformat(), "acme")


class Outage:
    """A DynamoDB client whose ``UpdateItem`` fails while ``down`` is set."""

    def __init__(self, dynamodb: Any) -> None:
        self.dynamodb = dynamodb
        self.down = False
        self.updates = 0

    def update_item(self, **kwargs: Any) -> Any:
        self.updates += 1
        if self.down:
            error = {"Error": {"Code": "InternalServerError", "Message": "down"}}
            raise ClientError(error, "UpdateItem")  # type: ignore[arg-type]
        return self.dynamodb.update_item(**kwargs)


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        found = client("dynamodb")
        found.create_table(**table_definition(TENANT_TABLE))
        yield found


def finished(queue: str, n: int, kind: EventType = EventType.COMPLETED) -> list[LifecycleEvent]:
    events = []
    for i in range(n):
        event = job_event(
            kind, queue=queue, job_id=f"{queue}-{i}", tenant="acme", status="x", now=AT
        )
        event.duration_ms = 120
        if kind is EventType.FAILED:
            event.error = {"type": "SendError", "message": f"mailbox {i} full"}
        events.append(event)
    return events


def totals(dynamodb: Any, queue: str) -> dict[str, int]:
    return StatsReader(dynamodb, TENANT_TABLE).report("acme", [queue], DAY, DAY).totals


async def test_counts_wait_in_redis_and_one_write_flushes_a_minute_of_them(
    single_redis: Redis, prefix: str, dynamodb: Any
) -> None:
    table = Outage(dynamodb)
    tally = Tally(single_redis, prefix)
    flusher = TallyFlusher(tally, CounterWriter(table, TENANT_TABLE))
    for _ in range(5):
        await tally.add(finished("email", 4) + finished("email", 1, EventType.FAILED))
    assert table.updates == 0 and totals(dynamodb, "email")["completed"] == 0

    report = await flusher.flush("email")
    assert (report.applied, table.updates) == (1, 1), "one write for 25 jobs"
    assert (await flusher.flush("email")).skipped, "at most one flush a minute"
    email = totals(dynamodb, "email")
    assert (email["completed"], email["failed"]) == (20, 5)
    reader = StatsReader(dynamodb, TENANT_TABLE)
    errors = reader.report("acme", ["email"], DAY, DAY).top_errors
    assert errors == [("SendError: mailbox # full", 5)]
    assert await tally.members("email") == [], "nothing left to flush"


async def test_a_flush_that_died_after_its_snapshot_loses_nothing(
    single_redis: Redis, prefix: str, dynamodb: Any
) -> None:
    tally = Tally(single_redis, prefix)
    flusher = TallyFlusher(tally, CounterWriter(dynamodb, TENANT_TABLE))
    await tally.add(finished("email", 3))
    taken = await tally.take("email", ACME)  # the poller dies here
    assert taken is not None and taken.fields["completed"] == "3"
    await tally.add(finished("email", 2))  # counted meanwhile, in a fresh live tally

    await flusher.flush("email", force=True)  # the snapshot, same id; the new counts wait
    assert totals(dynamodb, "email")["completed"] == 3
    await flusher.flush("email", force=True)
    assert totals(dynamodb, "email")["completed"] == 5


async def test_a_flush_that_died_after_its_write_is_not_counted_twice(
    single_redis: Redis, prefix: str, dynamodb: Any
) -> None:
    tally = Tally(single_redis, prefix)
    writer = CounterWriter(dynamodb, TENANT_TABLE)
    flusher = TallyFlusher(tally, writer)
    await tally.add(finished("email", 3))
    taken = await tally.take("email", ACME)
    assert taken is not None
    assert writer.apply(("acme", "email", DAY.isoformat()), taken.fields, taken.flush_id)
    # ...and the poller dies before Redis forgets the snapshot.

    report = await flusher.flush("email", force=True)
    assert (report.applied, report.repeated) == (0, 1)
    assert totals(dynamodb, "email")["completed"] == 3
    assert await tally.members("email") == []


async def test_an_old_snapshot_never_lands_over_a_newer_flush(
    single_redis: Redis, prefix: str, dynamodb: Any
) -> None:
    tally = Tally(single_redis, prefix)
    writer = CounterWriter(dynamodb, TENANT_TABLE)
    flusher = TallyFlusher(tally, writer)
    key = ("acme", "email", DAY.isoformat())
    await tally.add(finished("email", 3))
    slow = await tally.take("email", ACME)  # a flusher that stalls with this snapshot
    assert slow is not None
    await flusher.flush("email", force=True)  # another flusher applies it
    await tally.add(finished("email", 2))
    await flusher.flush("email", force=True)  # and the next minute's

    assert not writer.apply(key, slow.fields, slow.flush_id), "refused: already applied"
    assert not await tally.done("email", ACME, slow.flush_id)
    assert totals(dynamodb, "email")["completed"] == 5


async def test_a_table_outage_keeps_the_snapshot_until_the_table_answers(
    single_redis: Redis, prefix: str, dynamodb: Any
) -> None:
    table = Outage(dynamodb)
    tally = Tally(single_redis, prefix)
    flusher = TallyFlusher(tally, CounterWriter(table, TENANT_TABLE))
    await tally.add(finished("email", 3) + finished("sms", 2))

    table.down = True
    assert (await flusher.flush("email", force=True)).failed == 1
    await tally.add(finished("email", 4, EventType.FAILED))
    assert (await flusher.flush("email", force=True)).failed == 1
    assert totals(dynamodb, "email")["completed"] == 0

    table.down = False
    report = FlushReport()
    for _ in range(2):  # the kept snapshot, then the counts added during the outage
        report = await flusher.flush("email", force=True)
    assert report.applied == 1
    email = totals(dynamodb, "email")
    assert (email["completed"], email["failed"]) == (3, 4)
    await flusher.flush("sms", force=True)
    assert totals(dynamodb, "sms")["completed"] == 2


async def test_unflushed_counts_are_found_for_reports(single_redis: Redis, prefix: str) -> None:
    tally = Tally(single_redis, prefix)
    await tally.add(finished("email", 3))
    await tally.take("email", ACME)
    await tally.add(finished("email", 1))
    found = await tally.unflushed("email", "acme")
    assert sorted((day, flush is None, f["completed"]) for day, flush, f in found) == [
        (DAY.isoformat(), False, "3"),
        (DAY.isoformat(), True, "1"),
    ]
    assert await tally.unflushed("email", "zeta") == []
