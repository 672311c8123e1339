"""Where data exports read rows: a small protocol, and the job table as the shipped source."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from corral.errors import NonRetryableError
from corral.records import BY_TENANT, from_item, sort_key
from corral.store_index import fetch_items

Row = Mapping[str, Any]


class DataSource(Protocol):
    """A table a tenant may export.

    Attributes:
        columns: every column it can produce, in order (the default selection).
    """

    columns: Sequence[str]

    def count(self, tenant: str, filters: Mapping[str, Any]) -> int | None:
        """How many rows ``rows`` will yield (None if unknown: progress is then a row count)."""
        ...

    def rows(self, tenant: str, filters: Mapping[str, Any]) -> Iterator[Row]:
        """The tenant's rows, lazily, page by page."""
        ...


JOB_COLUMNS = (
    "jobId",
    "queue",
    "status",
    "attempts",
    "attemptsMade",
    "createdAt",
    "startedAt",
    "completedAt",
    "error",
    "result",
    "data",
)
JOB_FILTERS = frozenset({"queue", "status", "createdFrom", "createdTo"})


@dataclass
class JobHistorySource:
    """A tenant's job history: the job table's ``byTenantKeys`` index, by time, and the
    records behind it (the index projects keys only; the status filter applies to them).

    Args:
        dynamodb: a boto3 DynamoDB client.
        table: the job table's name.
        queues: the queues to read when no ``queue`` filter is given.
        page_size: items per query page (each page is dropped once written).
    """

    dynamodb: Any
    table: str
    queues: Sequence[str]
    page_size: int = 500
    columns: Sequence[str] = JOB_COLUMNS

    def _queries(self, tenant: str, filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        unknown = set(filters) - JOB_FILTERS
        if unknown:
            raise NonRetryableError(
                f"unknown filters {sorted(unknown)}; known: {sorted(JOB_FILTERS)}"
            )
        queues = [filters["queue"]] if "queue" in filters else list(self.queues)
        for queue in queues:
            condition = "tq = :tq"
            values: dict[str, Any] = {":tq": {"S": f"{queue}#{tenant}"}}
            if "createdFrom" in filters or "createdTo" in filters:
                # ts sorts by creation time; "~" sorts after every job id character.
                low = sort_key(int(filters.get("createdFrom", 0)), "")
                high = sort_key(int(filters.get("createdTo", 9_999_999_999_999)), "~")
                condition += " AND ts BETWEEN :lo AND :hi"
                values.update({":lo": {"S": low}, ":hi": {"S": high}})
            yield {
                "TableName": self.table,
                "IndexName": BY_TENANT,
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "ScanIndexForward": False,
            }

    def _pages(self, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            reply: dict[str, Any] = self.dynamodb.query(**query)
            yield reply
            start = reply.get("LastEvaluatedKey")
            if not start:
                return
            query = {**query, "ExclusiveStartKey": start}

    def count(self, tenant: str, filters: Mapping[str, Any]) -> int | None:
        if "status" in filters:
            return None  # the index has no status to count by: unknown until written
        total = 0
        for query in self._queries(tenant, filters):
            for reply in self._pages({**query, "Select": "COUNT"}):
                total += int(reply.get("Count", 0))
        return total

    def rows(self, tenant: str, filters: Mapping[str, Any]) -> Iterator[Row]:
        for query in self._queries(tenant, filters):
            for reply in self._pages({**query, "Limit": self.page_size}):
                for item in fetch_items(self.dynamodb, self.table, reply.get("Items", [])):
                    record = from_item(item)
                    if not record.live_at(time.time()):
                        continue
                    if "status" in filters and record.status.value != str(filters["status"]):
                        continue
                    yield {
                        "jobId": record.job_id,
                        "queue": record.queue,
                        "status": record.status.value,
                        "attempts": record.attempts,
                        "attemptsMade": record.attempts_made,
                        "createdAt": record.created_at,
                        "startedAt": record.started_at,
                        "completedAt": record.completed_at,
                        "error": record.error,
                        "result": record.result,
                        "data": record.data,
                    }
