"""The DynamoDB job table: the record of truth behind Redis (see ``records`` for its shape).

Every state change is a conditional write, so a stale writer (a poller that lost its
lease, a late retry) cannot overwrite a newer state. Batches of outcomes are written as
parallel conditional ``UpdateItem`` calls rather than ``TransactWriteItems``: outcomes
are independent, a transaction would cancel a whole chunk for one stale item, and it
costs twice the write capacity; ``BatchWriteItem`` cannot carry conditions at all.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from corral.clock import now_ms
from corral.errors import JobNotFoundError, JobStateError
from corral.job import JobStatus
from corral.records import (
    Item,
    JobRecord,
    OutcomeRecord,
    dumps,
    from_item,
    pk,
    to_item,
)
from corral.results import ResultStore
from corral.store_index import IndexReader, Page
from corral.store_updates import FINAL, missing_record, outcome_update, reopen_update

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["JobStore", "Page", "RecordRetention", "is_condition_failure", "now_ms"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class RecordRetention:
    """Seconds a finished record stays in the table before its TTL removes it."""

    completed_s: int = 7 * 86_400
    failed_s: int = 30 * 86_400
    cancelled_s: int = 7 * 86_400

    def of(self, status: JobStatus) -> int | None:
        return {
            JobStatus.COMPLETED: self.completed_s,
            JobStatus.FAILED: self.failed_s,
            JobStatus.CANCELLED: self.cancelled_s,
        }.get(status)


def is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == CONDITION_FAILED


class JobStore:
    """Reads and conditional writes of job records.

    Args:
        client: a boto3 DynamoDB client (built with ``retries={"mode": "standard"}``).
        table: the table's name.
        results: where results too large for an item go (none: they are cut short).
        retention: how long finished records live (DynamoDB TTL on ``expiresAt``).
        workers: parallel writes for batches.
        clock: now in epoch ms.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        results: ResultStore | None = None,
        retention: RecordRetention | None = None,
        workers: int = 8,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.client = client
        self.table = table
        self.results = results or ResultStore()
        self.retention = retention or RecordRetention()
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="corral-store")
        self.index = IndexReader(client, table, self._live)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def _map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``fn`` over ``items`` on the pool, each call in a copy of the caller's context
        (its context variables: the request a write belongs to, the logger's keys)."""
        calls = [(contextvars.copy_context(), item) for item in items]
        return list(self._pool.map(lambda call: call[0].run(fn, call[1]), calls))

    def _key(self, queue: str, job_id: str) -> Item:
        return {"pk": {"S": pk(queue, job_id)}}

    def _now_s(self) -> int:
        return self.clock() // 1000

    def _live(self, record: JobRecord) -> bool:
        return record.live_at(self._now_s())

    def ping(self) -> None:
        """Raise if the table cannot be reached."""
        self.client.describe_table(TableName=self.table)

    # -- creation -------------------------------------------------------------------

    def create(self, record: JobRecord) -> bool:
        """Write a new record; False if a live record with that id already exists."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_item(record),
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now",
                ExpressionAttributeValues={":now": {"N": str(self._now_s())}},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def _create_or_error(self, record: JobRecord) -> bool | Exception:
        try:
            return self.create(record)
        except Exception as exc:
            return exc

    def create_many(self, records: Sequence[JobRecord]) -> list[bool]:
        """``create`` for many records, in parallel.

        All or nothing: if any write errs, the records written are deleted again and the
        first error is raised.
        """
        outcomes = self._map(self._create_or_error, records)
        errors = [o for o in outcomes if isinstance(o, Exception)]
        if not errors:
            return [o is True for o in outcomes]
        written = [r for r, o in zip(records, outcomes, strict=True) if o is True]
        for record in written:
            with contextlib.suppress(Exception):
                self.delete_orphan(record.queue, record.job_id)
        raise errors[0]

    def delete_orphan(self, queue: str, job_id: str) -> bool:
        """Delete a record that never started (a deduplicated enqueue's, or a failed one's)."""
        try:
            self.client.delete_item(
                TableName=self.table,
                Key=self._key(queue, job_id),
                ConditionExpression="#s = :pending AND attemptsMade = :zero",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":pending": {"S": "pending"}, ":zero": {"N": "0"}},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def delete_orphans(self, queue: str, job_ids: Sequence[str]) -> list[bool]:
        return self._map(lambda job_id: self.delete_orphan(queue, job_id), job_ids)

    def update_pending(self, queue: str, job_id: str, data: Any, options: dict[str, Any]) -> bool:
        """Replace a pending job's data and options (a debounced enqueue); False if it started."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(queue, job_id),
                UpdateExpression="SET #d = :d, #o = :o, updatedAt = :now",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#d": "data", "#o": "options", "#s": "status"},
                ExpressionAttributeValues={
                    ":d": {"S": dumps(data)},
                    ":o": {"S": dumps(options)},
                    ":now": {"N": str(self.clock())},
                    ":pending": {"S": "pending"},
                },
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    # -- reads ----------------------------------------------------------------------

    def get(self, queue: str, job_id: str, *, resolve: bool = True) -> JobRecord | None:
        """The live record, or None; ``resolve`` fetches a result kept in S3."""
        reply = self.client.get_item(
            TableName=self.table, Key=self._key(queue, job_id), ConsistentRead=True
        )
        item = reply.get("Item")
        if not item:
            return None
        record = from_item(item)
        if not self._live(record):
            return None
        if resolve and record.result_ref:
            record.result = self.results.load(record.result_ref)
        return record

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
        return self.index.list_jobs(queue, status=status, tenant=tenant, limit=limit, cursor=cursor)

    def live_jobs(self, queue: str, page_size: int = 100) -> Iterator[JobRecord]:
        """Every pending or processing record of a queue (what the reconciler checks)."""
        return self.index.live_jobs(queue, page_size)

    def count(self, queue: str, status: JobStatus, cap_pages: int = 10) -> int:
        """How many records of a queue have ``status`` (reads at most ``cap_pages`` pages)."""
        return self.index.count(queue, status, cap_pages)

    # -- state changes ----------------------------------------------------------------

    def _explain(self, queue: str, job_id: str, action: str) -> JobStateError:
        record = self.get(queue, job_id, resolve=False)
        if record is None:
            raise JobNotFoundError(f"job {job_id} not found")
        return JobStateError(f"cannot {action} job {job_id}: it is {record.status}", record.status)

    def cancel(self, queue: str, job_id: str) -> None:
        """Mark a pending job cancelled (raises JobNotFoundError / JobStateError)."""
        now = self.clock()
        expires = self.retention.of(JobStatus.CANCELLED)
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(queue, job_id),
                UpdateExpression=(
                    "SET #s = :cancelled, qs = :qs, completedAt = :now, updatedAt = :now, "
                    "expiresAt = :exp"
                ),
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":cancelled": {"S": "cancelled"},
                    ":pending": {"S": "pending"},
                    ":qs": {"S": f"{queue}#cancelled"},
                    ":now": {"N": str(now)},
                    ":exp": {"N": str(now // 1000 + (expires or 0))},
                },
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise self._explain(queue, job_id, "cancel") from None
            raise

    def delete_finished(self, queue: str, status: JobStatus, job_ids: Sequence[str]) -> list[str]:
        """Delete the records of finished jobs that still have ``status`` (``clean``).

        Returns the ids deleted; a job that left ``status`` since (a retry) keeps its record.
        """

        def delete(job_id: str) -> str | None:
            try:
                self.client.delete_item(
                    TableName=self.table,
                    Key=self._key(queue, job_id),
                    ConditionExpression="#s = :s",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":s": {"S": status.value}},
                )
            except ClientError as exc:
                if is_condition_failure(exc):
                    return None
                raise
            return job_id

        return [job_id for job_id in self._map(delete, job_ids) if job_id]

    def finished_before(
        self, queue: str, status: JobStatus, cutoff_ms: int, limit: int
    ) -> list[str]:
        """Ids of up to ``limit`` records with ``status`` that finished by ``cutoff_ms``."""
        return self.index.finished_before(queue, status, cutoff_ms, limit)

    def reopen(
        self,
        queue: str,
        job_id: str,
        statuses: Sequence[JobStatus] = (JobStatus.FAILED, JobStatus.CANCELLED),
    ) -> JobRecord:
        """Put a finished job back to pending with a fresh attempt budget (retry, redrive).

        Returns the record as it is now; raises JobNotFoundError / JobStateError.
        """
        try:
            reply = self.client.update_item(
                TableName=self.table,
                Key=self._key(queue, job_id),
                ReturnValues="ALL_NEW",
                **reopen_update(queue, statuses, self.clock()),
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                raise self._explain(queue, job_id, "retry") from None
            raise
        return from_item(reply["Attributes"])

    def record_outcome(self, item: OutcomeRecord) -> bool:
        """Write one outcome; False if a newer state is already recorded (stale writer)."""
        if item.status is JobStatus.COMPLETED and item.payload is not None:
            item.payload, item.extra["resultRef"] = self.results.offload(
                item.queue, item.job_id, item.payload
            )
        retention = self.retention.of(item.status)
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(item.queue, item.job_id),
                **outcome_update(item, retention),
            )
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            # Stale, or the record is gone: a final outcome then recreates it.
            if item.status in FINAL and self.create(missing_record(item, retention)):
                return True
            logger.debug("stale %s for job %s ignored", item.status, item.job_id)
            return False
        return True

    def _try_record(self, item: OutcomeRecord) -> str | None:
        try:
            self.record_outcome(item)
        except Exception:
            logger.warning("could not record %s of job %s", item.status, item.job_id, exc_info=True)
            return item.job_id
        return None

    def record_outcomes(self, items: Sequence[OutcomeRecord]) -> list[str]:
        """Write many outcomes in parallel; returns the ids that could not be written.

        A stale outcome (the record already holds a newer state) counts as written:
        retrying it could never succeed. The ids returned failed for a reason that may
        pass (throttling, a network error) and should be tried again.
        """
        return [job_id for job_id in self._map(self._try_record, items) if job_id]
