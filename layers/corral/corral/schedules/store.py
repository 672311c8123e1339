"""Schedules in DynamoDB: the durable record; Redis only ever holds their jobs.

Table: partition key ``tenant`` (S), sort key ``id`` (S). The spec is one JSON attribute,
so payloads keep their JSON types; the state the scheduler reads and writes is in
top-level attributes. Every write is conditional on ``version``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from corral.schedules.model import SPEC_FIELDS, Schedule

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def to_item(schedule: Schedule) -> dict[str, Any]:
    """The DynamoDB item of a schedule."""
    item: dict[str, Any] = {
        "tenant": schedule.tenant,
        "id": schedule.id,
        "spec": schedule.model_dump_json(include=SPEC_FIELDS, by_alias=True),
        "paused": schedule.paused,
        "count": schedule.count,
        "generation": schedule.generation,
        "version": schedule.version,
        "source": schedule.source,
        "createdAt": schedule.created_at,
        "updatedAt": schedule.updated_at,
    }
    if schedule.next_run is not None:
        item["nextRun"] = schedule.next_run
    return item


def _int(value: Any) -> int:
    return int(value) if isinstance(value, Decimal | int) else 0


def from_item(item: dict[str, Any]) -> Schedule:
    """The schedule a DynamoDB item holds."""
    spec = json.loads(str(item["spec"]))
    next_run = item.get("nextRun")
    return Schedule.model_validate(
        {
            **spec,
            "tenant": item["tenant"],
            "id": item["id"],
            "paused": bool(item.get("paused", False)),
            "next_run": None if next_run is None else _int(next_run),
            "count": _int(item.get("count")),
            "generation": _int(item.get("generation")),
            "version": _int(item.get("version")),
            "source": item.get("source", "api"),
            "created_at": _int(item.get("createdAt")),
            "updated_at": _int(item.get("updatedAt")),
        }
    )


class ScheduleStore:
    """Create, read, list, update and delete schedules in one DynamoDB table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, schedule: Schedule) -> bool:
        """Store a new schedule; False if the tenant already has one with that id."""
        try:
            self.table.put_item(
                Item=to_item(schedule), ConditionExpression="attribute_not_exists(id)"
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def get(self, tenant: str, schedule_id: str) -> Schedule | None:
        reply = self.table.get_item(Key={"tenant": tenant, "id": schedule_id}, ConsistentRead=True)
        item = reply.get("Item")
        return None if item is None else from_item(item)

    def page(
        self, tenant: str, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Schedule], str | None]:
        """A page of one tenant's schedules, by id, and the cursor of the next page."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "tenant = :t",
            "ExpressionAttributeValues": {":t": tenant},
            "Limit": limit,
        }
        if cursor:
            query["ExclusiveStartKey"] = {"tenant": tenant, "id": cursor}
        reply = self.table.query(**query)
        last = reply.get("LastEvaluatedKey")
        return [from_item(i) for i in reply.get("Items", [])], None if last is None else str(
            last["id"]
        )

    def count(self, tenant: str, up_to: int) -> int:
        """How many schedules ``tenant`` has, counted up to ``up_to`` (a quota's limit)."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "tenant = :t",
            "ExpressionAttributeValues": {":t": tenant},
            "Select": "COUNT",
        }
        found = 0
        while found < up_to:
            reply = self.table.query(**query)
            found += int(reply.get("Count", 0))
            last = reply.get("LastEvaluatedKey")
            if last is None:
                break
            query["ExclusiveStartKey"] = last
        return found

    def scan(self) -> Iterator[Schedule]:
        """Every schedule of every tenant (the scheduler's view)."""
        query: dict[str, Any] = {}
        while True:
            reply = self.table.scan(**query)
            for item in reply.get("Items", []):
                yield from_item(item)
            last = reply.get("LastEvaluatedKey")
            if last is None:
                return
            query["ExclusiveStartKey"] = last

    def save(self, schedule: Schedule, expected_version: int) -> bool:
        """Replace a schedule if nobody wrote it since ``expected_version``; else False."""
        try:
            self.table.put_item(
                Item=to_item(schedule),
                ConditionExpression="version = :v",
                ExpressionAttributeValues={":v": expected_version},
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def delete(self, tenant: str, schedule_id: str) -> Schedule | None:
        """Delete a schedule; returns what was stored, or None if there was nothing."""
        reply = self.table.delete_item(
            Key={"tenant": tenant, "id": schedule_id}, ReturnValues="ALL_OLD"
        )
        item = reply.get("Attributes")
        return None if item is None else from_item(item)


def create_table(dynamodb: Any, name: str) -> Table:
    """Create the schedules table (tests and the local emulator; the template does it in AWS)."""
    table: Table = dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "tenant", "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "tenant", "AttributeType": "S"},
            {"AttributeName": "id", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    return table
