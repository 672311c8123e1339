"""The DynamoDB job record: its shape, the table's key schema, and the item codec.

One item per job. Key: ``pk = "{queue}#{jobId}"``. Two GSIs, both sorted newest first
by ``ts = "{createdAt:013d}#{jobId}"``:

- ``byQueueStatus``: ``qs = "{queue}#{status}"``, every attribute projected (listing by
  status, counts, ``clean``, the reconciler and flow repair, which read every pending
  record of a queue at each run straight from the index).
- ``byTenantKeys``: ``tq = "{queue}#{tenant}"``, keys only (a tenant's jobs in a queue, by
  time: listings, exports, ``cleanupOldData``). Its readers fetch the records by ``pk``
  (``store_index.fetch_items``) and filter by status themselves: the index cannot.

Both are sparse: only items that carry the index attributes (job records) are indexed, so
other item types can share the table without appearing in listings.

What the indexes cost: DynamoDB writes an index entry when an item enters the index, a
delete and a put when its key there changes, and a rewrite when an attribute the index
projects changes; nothing otherwise. A job's outcome changes its status, so it moves the
job in ``byQueueStatus``; ``byTenantKeys`` projects nothing that ever changes, so after the
record's put nothing is written there again (``INDEX_WRITES_PER_JOB``).

Free-form values (data, options, result, error, progress) are stored as JSON strings:
that keeps numbers exact without ``Decimal`` and avoids DynamoDB's empty-value rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, ValidationError

from corral.job import CamelModel, JobOptions, JobStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    Item = dict[str, AttributeValueTypeDef]
else:
    Item = dict

BY_QUEUE_STATUS = "byQueueStatus"
BY_TENANT = "byTenantKeys"
"""Keys only. It was ``byTenant`` with every attribute projected: CloudFormation cannot
change an index's projection in place, so the keys-only index has a name of its own."""

PROJECTIONS = {BY_QUEUE_STATUS: "ALL", BY_TENANT: "KEYS_ONLY"}
"""Each index's ``ProjectionType``: a query on a ``KEYS_ONLY`` index returns ``pk``,
the index's keys and nothing else."""

INDEX_WRITES_PER_JOB = {BY_QUEUE_STATUS: 3, BY_TENANT: 1}
"""Index entries DynamoDB writes for a job enqueued once that runs once and completes:
the record's put adds it to both indexes; its outcome moves it from ``{queue}#pending`` to
``{queue}#completed`` in ``byQueueStatus`` (a delete and a put) and changes nothing that
``byTenantKeys`` projects. The move is the floor while the reconciler needs a partition
of the pending records alone and listings one of the completed records alone.
``index_write_units`` prices the entries."""

ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.PROCESSING)
"""Statuses the reconciler must find in Redis."""
FLOW_ATTRIBUTES = ("flowParent", "flowChildren", "pendingChildren", "doneChildren", "failedChild")
"""A flow node's link attributes (``corral.flows.store`` reads and writes them)."""


def pk(queue: str, job_id: str) -> str:
    return f"{queue}#{job_id}"


def sort_key(created_at: int, job_id: str) -> str:
    return f"{created_at:013d}#{job_id}"


class JobFields(CamelModel):
    """What a job's record and the API's view of it share: each field is defined here
    once (``JobRecord`` and the API's ``JobPublic`` derive from it)."""

    model_config = ConfigDict(frozen=False)

    job_id: str
    queue: str
    status: JobStatus
    data: Any = None
    options: dict[str, Any] = Field(
        default_factory=dict, description="the options the job was enqueued with"
    )
    progress: Any = None
    result: Any = None
    error: Any = Field(
        default=None,
        description="a failure's message and type; admins see its stack too",
    )
    attempts: int
    attempts_made: int
    created_at: int
    started_at: int | None = None
    completed_at: int | None = Field(
        default=None, description="when it finished: completed, failed for good, or cancelled"
    )
    tenant: str = Field(description="the job's tenant (subAccountId)")


class JobRecord(JobFields):
    """A job as the table holds it (the record of truth)."""

    result_ref: str | None = None
    updated_at: int | None = None
    expires_at: int | None = None
    """Epoch seconds (DynamoDB TTL); None while the job is live."""
    flow: Item | None = None
    """The item's flow links as read (``FLOW_ATTRIBUTES``); None: the job is in no flow.
    A read of the record brings them, so showing a node's links needs no second read."""

    def live_at(self, now_s: float) -> bool:
        """Whether the record still counts at ``now_s`` (epoch seconds). DynamoDB's TTL
        deletes late, up to days after ``expires_at``: an expired record is treated as gone."""
        return self.expires_at is None or self.expires_at > now_s

    def job_options(self) -> JobOptions:
        """The options the job was enqueued with, typed (the defaults if they no longer
        validate: a record written by an older release)."""
        try:
            return JobOptions.model_validate(self.options)
        except ValidationError:
            return JobOptions()


@dataclass(slots=True)
class OutcomeRecord:
    """A state change a poller makes durable (see ``JobStore.record_outcomes``).

    Attributes:
        status: ``processing`` (started attempt), ``pending`` (failed, will retry),
            ``completed`` or ``failed`` (for good).
        attempt: the attempt this outcome belongs to (``attemptsMade`` after it).
        payload: the result (completed) or error (pending / failed) as JSON text.
        started_at: when the attempt started (epoch ms), written with its outcome: a
            start is not a write of its own (Redis shows a running job).
    """

    queue: str
    job_id: str
    tenant: str
    status: JobStatus
    attempt: int
    at: int
    payload: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    started_at: int | None = None


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _n(value: int) -> AttributeValueTypeDef:
    return {"N": str(value)}


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def to_item(record: JobRecord) -> Item:
    """The full item for a new record."""
    item: Item = {
        "pk": _s(pk(record.queue, record.job_id)),
        "jobId": _s(record.job_id),
        "queue": _s(record.queue),
        "tenant": _s(record.tenant),
        "status": _s(record.status.value),
        "data": _s(dumps(record.data)),
        "options": _s(dumps(record.options)),
        "attempts": _n(record.attempts),
        "attemptsMade": _n(record.attempts_made),
        "createdAt": _n(record.created_at),
        "updatedAt": _n(record.updated_at or record.created_at),
        "qs": _s(f"{record.queue}#{record.status.value}"),
        "tq": _s(f"{record.queue}#{record.tenant}"),
        "ts": _s(sort_key(record.created_at, record.job_id)),
    }
    for name, value in (("result", record.result), ("error", record.error)):
        if value is not None:
            item[name] = _s(dumps(value))
    if record.progress is not None:
        item["progress"] = _s(dumps(record.progress))
    if record.result_ref:
        item["resultRef"] = _s(record.result_ref)
    for name, number in (
        ("startedAt", record.started_at),
        ("completedAt", record.completed_at),
        ("expiresAt", record.expires_at),
    ):
        if number is not None:
            item[name] = _n(number)
    return item


def _json(item: Item, name: str) -> Any:
    value = item.get(name)
    return json.loads(value["S"]) if value and "S" in value else None


def _int(item: Item, name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if value and "N" in value else None


def from_item(item: Item) -> JobRecord:
    """Decode an item read from the table or an index."""
    ref = item.get("resultRef")
    return JobRecord(
        job_id=item["jobId"]["S"],
        queue=item["queue"]["S"],
        tenant=item["tenant"]["S"],
        status=JobStatus(item["status"]["S"]),
        data=_json(item, "data"),
        options=_json(item, "options") or {},
        attempts=_int(item, "attempts") or 1,
        attempts_made=_int(item, "attemptsMade") or 0,
        result=_json(item, "result"),
        result_ref=ref["S"] if ref else None,
        error=_json(item, "error"),
        progress=_json(item, "progress"),
        created_at=_int(item, "createdAt") or 0,
        updated_at=_int(item, "updatedAt"),
        started_at=_int(item, "startedAt"),
        completed_at=_int(item, "completedAt"),
        expires_at=_int(item, "expiresAt"),
        flow={name: item[name] for name in FLOW_ATTRIBUTES if name in item} or None,
    )


def table_definition(name: str) -> dict[str, Any]:
    """``CreateTable`` arguments for the job table (the template declares the same)."""

    def index(index_name: str, hash_key: str) -> dict[str, Any]:
        return {
            "IndexName": index_name,
            "KeySchema": [
                {"AttributeName": hash_key, "KeyType": "HASH"},
                {"AttributeName": "ts", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": PROJECTIONS[index_name]},
        }

    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": attr, "AttributeType": "S"} for attr in ("pk", "qs", "tq", "ts")
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [index(BY_QUEUE_STATUS, "qs"), index(BY_TENANT, "tq")],
    }


TTL_ATTRIBUTE = "expiresAt"


def index_write_units(record_units: float) -> float:
    """Write units the indexes bill per job (``INDEX_WRITES_PER_JOB``) when one write of
    the record costs ``record_units``: an entry of an index that projects every attribute
    is the size of the item; a keys-only entry (under 100 bytes) is one unit."""
    return sum(
        writes * (record_units if PROJECTIONS[index] == "ALL" else 1.0)
        for index, writes in INDEX_WRITES_PER_JOB.items()
    )
