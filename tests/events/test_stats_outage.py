"""The daily counters through a DynamoDB outage: a failed update is kept and added to the
next batch's, so the report comes out exact once the table answers again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from corral.events.model import EventType, LifecycleEvent, job_event
from corral.stats import CounterWriter, StatsReader, table_definition
from corral.stats import counters as counters_module
from moto import mock_aws

from tests.awsmock import client
from tests.events.conftest import TENANT_TABLE

AT = int(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp() * 1000)
DAY = datetime(2026, 11, 20, tzinfo=UTC).date()


class Outage:
    """A DynamoDB client whose ``UpdateItem`` fails while ``down`` is set."""

    def __init__(self, dynamodb: Any) -> None:
        self.dynamodb = dynamodb
        self.down = False

    def update_item(self, **kwargs: Any) -> Any:
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
        events.append(event)
    return events


def totals(dynamodb: Any, queue: str) -> dict[str, int]:
    return StatsReader(dynamodb, TENANT_TABLE).report("acme", [queue], DAY, DAY).totals


def test_counts_that_failed_to_write_are_added_to_the_next_batch(dynamodb: Any) -> None:
    table = Outage(dynamodb)
    writer = CounterWriter(table, TENANT_TABLE)

    table.down = True
    assert writer.write(finished("email", 3) + finished("sms", 2)) == 2
    assert writer.write(finished("email", 4, EventType.FAILED)) == 2, "both kept, retried"
    assert writer.unwritten == 2 and totals(dynamodb, "email")["completed"] == 0

    table.down = False
    assert writer.write(finished("email", 1)) == 0
    assert writer.unwritten == 0
    email = totals(dynamodb, "email")
    assert (email["completed"], email["failed"]) == (4, 4)
    assert totals(dynamodb, "sms")["completed"] == 2
    assert writer.write([]) == 0 and totals(dynamodb, "email")["completed"] == 4, "written once"


def test_the_counts_kept_are_bounded(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(counters_module, "MAX_UNWRITTEN", 2)
    table = Outage(dynamodb)
    table.down = True
    writer = CounterWriter(table, TENANT_TABLE)

    for queue in ("a", "b", "c"):
        writer.write(finished(queue, 1))

    assert writer.unwritten == 2 and writer.dropped == 1
    table.down = False
    writer.write([])
    assert [totals(dynamodb, q)["completed"] for q in ("a", "b", "c")] == [0, 1, 1]
