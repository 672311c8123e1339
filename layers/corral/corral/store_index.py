"""Reading the job table's GSIs: listings newest first, with cursors, and counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from corral.job import JobStatus
from corral.records import (
    ACTIVE_STATUSES,
    BY_QUEUE_STATUS,
    BY_TENANT,
    PROJECTIONS,
    Item,
    JobRecord,
    from_item,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

BATCH_GET = 100
"""Keys per ``BatchGetItem`` call (DynamoDB's limit)."""

MAX_PAGES = 5
"""Index pages read per listing call when a filter drops items (bounds the cost)."""

FILTERED_PAGE = 1000
"""Items a filtered query evaluates per page. DynamoDB applies ``Limit`` before the
filter, so a page sized to the listing (say 20) held nothing but the newest jobs of other
statuses during a burst: an empty page and a cursor. Evaluating up to 5,000 items per
call finds a status's newest jobs behind thousands of newer ones of other statuses. On the
keys-only tenant index the status is in the records, not the index: their records are
fetched a hundred at a time, and no more once the listing is full."""


def fetch_items(client: DynamoDBClient, table: str, keys: Sequence[Item]) -> list[Item]:
    """The items behind some entries of a keys-only index, in their order; an item
    deleted since the query is left out.

    Eventually consistent reads, as the index query was: half the read units of a
    consistent one. ``BatchGetItem`` may leave keys unprocessed (throttling); those are
    read one by one, where botocore's retries apply.
    """
    found: dict[str, Item] = {}
    for start in range(0, len(keys), BATCH_GET):
        chunk = [{"pk": key["pk"]} for key in keys[start : start + BATCH_GET]]
        reply = client.batch_get_item(RequestItems={table: {"Keys": chunk}})
        for item in reply.get("Responses", {}).get(table, []):
            found[item["pk"]["S"]] = item
        unprocessed: Sequence[Item] = reply.get("UnprocessedKeys", {}).get(table, {"Keys": []})[
            "Keys"
        ]
        for key in unprocessed:
            single = client.get_item(TableName=table, Key=key).get("Item")
            if single:
                found[single["pk"]["S"]] = single
    return [found[key["pk"]["S"]] for key in keys if key["pk"]["S"] in found]


@dataclass(frozen=True)
class Page:
    """One page of a listing, newest first; ``next_cursor`` is None on the last page."""

    records: list[JobRecord]
    next_cursor: str | None


class IndexReader:
    """Queries on ``byQueueStatus`` and ``byTenantKeys``; ``live`` filters expired records."""

    def __init__(
        self, client: DynamoDBClient, table: str, live: Callable[[JobRecord], bool]
    ) -> None:
        self.client = client
        self.table = table
        self._live = live

    def _items(self, index: str, entries: list[Item]) -> Iterator[Item]:
        """The items of a page of ``index``: fetched by key, a batch at a time, when the
        index projects keys only (a listing that fills up early fetches no more)."""
        if PROJECTIONS[index] != "KEYS_ONLY":
            yield from entries
            return
        for start in range(0, len(entries), BATCH_GET):
            yield from fetch_items(self.client, self.table, entries[start : start + BATCH_GET])

    def _query(
        self, status: JobStatus | None = None, **kwargs: Any
    ) -> tuple[list[JobRecord], str | None, str | None]:
        """Read up to MAX_PAGES pages; returns (records, last sort key seen, more).

        ``status`` keeps the records with that status (on a keys-only index, which cannot
        filter on it: the records are fetched first)."""
        limit = kwargs.pop("Limit")
        filtered = status is not None or "FilterExpression" in kwargs
        page = max(limit, FILTERED_PAGE) if filtered else limit
        records: list[JobRecord] = []
        last: str | None = None
        for _ in range(MAX_PAGES):
            reply = self.client.query(TableName=self.table, Limit=page, **kwargs)
            for item in self._items(kwargs["IndexName"], reply.get("Items", [])):
                record = from_item(item)
                last = item["ts"]["S"]
                if self._live(record) and status in (None, record.status):
                    records.append(record)
                if len(records) == limit:
                    return records, last, "more"
            start = reply.get("LastEvaluatedKey")
            if not start:
                return records, last, None
            kwargs["ExclusiveStartKey"] = start
            last = start["ts"]["S"]
        return records, last, "more"

    def _index_page(
        self,
        index: str,
        partition: tuple[str, str],
        limit: int,
        cursor: str | None,
        status: JobStatus | None = None,
    ) -> Page:
        condition = "#p = :p"
        names = {"#p": partition[0]}
        values: dict[str, Any] = {":p": {"S": partition[1]}}
        if cursor:
            condition += " AND ts < :c"
            values[":c"] = {"S": cursor}
        records, last, more = self._query(
            status,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
            Limit=limit,
        )
        return Page(records, last if more else None)

    def list_jobs(
        self,
        queue: str,
        *,
        status: JobStatus | None = None,
        tenant: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Jobs of a queue, newest first: a tenant's (``tenant``) or everyone's.

        The cursor is the previous page's ``next_cursor`` (a sort key: time, then id).
        """
        if tenant is not None:
            return self._index_page(BY_TENANT, ("tq", f"{queue}#{tenant}"), limit, cursor, status)
        if status is not None:
            return self._index_page(BY_QUEUE_STATUS, ("qs", f"{queue}#{status}"), limit, cursor)
        # Every status: merge the newest of each partition; the cursor is a sort key, so
        # the next page continues below it in every partition alike.
        pages = [
            self._index_page(BY_QUEUE_STATUS, ("qs", f"{queue}#{s}"), limit, cursor)
            for s in JobStatus
        ]
        merged = sorted(
            (r for p in pages for r in p.records),
            key=lambda r: (r.created_at, r.job_id),
            reverse=True,
        )
        more = len(merged) > limit or any(p.next_cursor for p in pages)
        records = merged[:limit]
        last = records[-1] if records else None
        next_cursor = f"{last.created_at:013d}#{last.job_id}" if more and last else None
        return Page(records, next_cursor)

    def live_jobs(self, queue: str, page_size: int = 100) -> Iterator[JobRecord]:
        """Every pending or processing record of a queue (what the reconciler checks)."""
        for status in ACTIVE_STATUSES:
            cursor: str | None = None
            while True:
                page = self._index_page(
                    BY_QUEUE_STATUS, ("qs", f"{queue}#{status}"), page_size, cursor
                )
                yield from page.records
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor

    def finished_before(
        self, queue: str, status: JobStatus, cutoff_ms: int, limit: int
    ) -> list[str]:
        """Ids of up to ``limit`` records with ``status`` that finished by ``cutoff_ms``.

        A job finishes after it is created, so only records created by the cutoff are read.
        """
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": BY_QUEUE_STATUS,
            "KeyConditionExpression": "qs = :p AND ts < :c",
            "FilterExpression": "completedAt <= :cut",
            "ExpressionAttributeValues": {
                ":p": {"S": f"{queue}#{status}"},
                ":c": {"S": f"{cutoff_ms + 1:013d}#"},
                ":cut": {"N": str(cutoff_ms)},
            },
            "ProjectionExpression": "jobId",
        }
        ids: list[str] = []
        while len(ids) < limit:
            reply = self.client.query(**kwargs)
            ids.extend(item["jobId"]["S"] for item in reply.get("Items", []))
            if "LastEvaluatedKey" not in reply:
                break
            kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return ids[:limit]

    def count(self, queue: str, status: JobStatus, cap_pages: int = 10) -> int:
        """How many records of a queue have ``status`` (reads at most ``cap_pages`` pages)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": BY_QUEUE_STATUS,
            "KeyConditionExpression": "qs = :p",
            "ExpressionAttributeValues": {":p": {"S": f"{queue}#{status}"}},
            "Select": "COUNT",
        }
        total = 0
        for _ in range(cap_pages):
            reply = self.client.query(**kwargs)
            total += reply.get("Count", 0)
            if "LastEvaluatedKey" not in reply:
                break
            kwargs["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
        return total
