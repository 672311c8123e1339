"""Settings changed at runtime, kept durably: one versioned JSON item per queue in the job
table (``!<kind>#<queue>``), with the last changes beside it.

Queue limits (``limits.py``) and key-group limits (``key_groups.py``) both keep their
record of truth this way; a write names the version it read, so of two changes racing
the second is refused instead of silently undoing the first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from corral.errors import JobStateError
from corral.store import is_condition_failure

HISTORY = 50
"""How many past changes an item keeps (the audit log has them all)."""


@dataclass(frozen=True)
class Versioned:
    """An item's value (None: never set), its version (0: never changed) and history."""

    value: Any
    version: int
    history: list[dict[str, Any]]


class VersionedItems:
    """Reads and writes the ``kind`` items of the job table.

    Args:
        client: a boto3 DynamoDB client.
        table: the job table's name.
        kind: what the items hold (``limits``, ``keygroups``); it names their key.
        what: how a refused write names them ("the limits").
    """

    def __init__(self, client: Any, table: str, kind: str, what: str) -> None:
        self.client = client
        self.table = table
        self.kind = kind
        self.what = what

    def key(self, queue: str) -> dict[str, Any]:
        return {"pk": {"S": f"!{self.kind}#{queue}"}}

    def read(self, queue: str) -> Versioned:
        """The queue's item (a strongly consistent read)."""
        reply = self.client.get_item(TableName=self.table, Key=self.key(queue), ConsistentRead=True)
        item = reply.get("Item")
        if not item:
            return Versioned(None, 0, [])
        return Versioned(
            json.loads(item["value"]["S"]),
            int(item["version"]["N"]),
            json.loads(item["history"]["S"]),
        )

    def write(self, queue: str, stored: Versioned, previous: int) -> None:
        """Write ``stored`` if the item is still at version ``previous``; else JobStateError."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    **self.key(queue),
                    "value": {"S": json.dumps(stored.value, sort_keys=True)},
                    "version": {"N": str(stored.version)},
                    "history": {"S": json.dumps(stored.history[-HISTORY:])},
                },
                ConditionExpression="attribute_not_exists(pk) OR version = :v",
                ExpressionAttributeValues={":v": {"N": str(previous)}},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise JobStateError(
                    f"{self.what} changed meanwhile; try again", "changed"
                ) from None
            raise
