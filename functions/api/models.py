"""Request and response bodies; every one derives from the engine's job schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from corral.definition import QueueDefinition
from corral.execute import public_error
from corral.flows.intake import AcceptedNode, FlowNode
from corral.intake import Accepted, Rejected
from corral.job import CamelModel, CleanWord, JobOptions, JobStatus
from corral.queue import QueueCounts
from corral.records import JobFields, JobRecord
from pydantic import ConfigDict, Field, WithJsonSchema

from api.control_models import QueueSettings
from api.errors import field_errors

ENQUEUE_REQUEST = "#/components/schemas/EnqueueRequest"

MAX_BATCH = 500


class EnqueueRequest(CamelModel):
    """A job: its data (validated against the queue's payload model) and options."""

    data: dict[str, Any]
    options: JobOptions | None = None


class OnComplete(CamelModel):
    """A completion job: it runs once every job of the batch completed, with their results
    (a flow whose parent it is; see ``POST /flows``)."""

    queue: str = Field(max_length=63)
    data: dict[str, Any]
    options: JobOptions | None = None


class BatchRequest(CamelModel):
    """Many jobs. Each item is validated on its own (as ``EnqueueRequest``): the good ones
    are accepted, each bad one is answered with its field errors, unless ``atomic``."""

    jobs: list[Annotated[dict[str, Any], WithJsonSchema({"$ref": ENQUEUE_REQUEST})]] = Field(
        min_length=1, max_length=MAX_BATCH
    )
    atomic: bool = Field(
        default=False, description="all or nothing: any bad item rejects the batch (422)"
    )
    on_complete: OnComplete | None = Field(
        default=None, description="a job to run once every job of the batch completed"
    )


class AcceptedJob(CamelModel):
    job_id: str
    queue: str
    status: JobStatus
    deduplicated: bool = False

    @classmethod
    def of(cls, accepted: Accepted) -> AcceptedJob:
        return cls(
            job_id=accepted.job_id,
            queue=accepted.queue,
            status=accepted.status,
            deduplicated=accepted.deduplicated,
        )


class FieldError(CamelModel):
    """Where a request is wrong (``loc``, from ``body``), why, and a machine-readable type."""

    loc: list[str | int]
    msg: str
    type: str


BatchItemStatus = Literal["pending", "processing", "completed", "failed", "cancelled", "rejected"]


class BatchItem(CamelModel):
    """The answer to one item of a batch, at the item's ``index``.

    Accepted: its ``jobId`` and status (``deduplicated`` for an existing job, or for the
    same ``jobId`` given twice). Rejected: ``status`` "rejected" and its field ``errors``;
    nothing was written for it.
    """

    index: int
    job_id: str | None = None
    queue: str
    status: BatchItemStatus
    deduplicated: bool = False
    errors: list[FieldError] | None = None

    @classmethod
    def of(cls, index: int, queue: str, answer: Accepted | Rejected) -> BatchItem:
        if isinstance(answer, Rejected):
            errors = [FieldError.model_validate(e) for e in field_errors(answer.errors)]
            return cls(index=index, queue=queue, status="rejected", errors=errors)
        return cls(
            index=index,
            job_id=answer.job_id,
            queue=queue,
            status=answer.status.value,
            deduplicated=answer.deduplicated,
        )


class BatchAccepted(CamelModel):
    """One answer per item, in the request's order, and how many were accepted or not."""

    jobs: list[BatchItem]
    accepted: int
    rejected: int
    on_complete: AcceptedJob | None = Field(default=None, description="the completion job")


class BatchValid(CamelModel):
    """Every job of a batch would be accepted (nothing was written)."""

    valid: int = Field(description="how many jobs were checked")


class FlowParent(CamelModel):
    job_id: str
    queue: str


class FlowChild(CamelModel):
    job_id: str
    queue: str
    status: JobStatus | None = Field(description="null once its record has expired")


class JobPublic(JobFields):
    """A job as the API shows it."""

    model_config = ConfigDict(frozen=True)

    failed_at: int | None = Field(default=None, description="when it failed for good")
    name: str = Field(description="what the job is: generic-task's task, else the queue")
    parent: FlowParent | None = Field(default=None, description="a flow child's parent")
    children: list[FlowChild] | None = Field(default=None, description="a flow parent's children")
    children_results: dict[str, Any] | None = Field(
        default=None, description="once every child is done: each completed child's result"
    )
    children_failures: dict[str, Any] | None = Field(
        default=None, description="once every child is done: each failed child's error"
    )

    @classmethod
    def of(
        cls, record: JobRecord, definition: QueueDefinition | None = None, *, stack: bool = False
    ) -> JobPublic:
        """The record as a caller sees it: a failed job's stack only with ``stack``
        (admins); tenants get its message and type, never server file paths."""
        shared = {name: getattr(record, name) for name in JobFields.model_fields}
        failed = record.status is JobStatus.FAILED
        return cls(
            **shared
            | {
                "error": record.error if stack else public_error(record.error),
                "failed_at": record.completed_at if failed else None,
                "name": definition.name_of(record.data) if definition else record.queue,
            }
        )


class Cancelled(CamelModel):
    job_id: str
    status: Literal["cancelled"] = "cancelled"


class JobPage(CamelModel):
    jobs: list[JobPublic]
    next_cursor: str | None = None


class QueuePublic(QueueCounts):
    """A queue's counts by job status (Redis), and its jobs in the dead-letter queue (the
    job table). ``pending`` = ``waiting`` (due now) + ``delayed`` (due later, or backing off
    before a retry)."""

    settings: QueueSettings | None = Field(default=None, description="the limits in force")

    @classmethod
    def of(cls, counts: QueueCounts, settings: QueueSettings | None = None) -> QueuePublic:
        return cls(**dict(counts), settings=settings)


class QueueList(CamelModel):
    queues: list[QueuePublic]


class Paused(CamelModel):
    queue: str
    paused: bool


class CleanRequest(CamelModel):
    """Remove finished jobs (from the counts and the job lists), or cancel pending ones
    (``waiting`` or ``delayed`` alone if named so), older than ``grace``."""

    status: CleanWord = "completed"
    grace: int = Field(default=0, ge=0, description="ms: only jobs older than this")
    limit: int = Field(default=1000, ge=1, le=10_000)


class Cleaned(CamelModel):
    queue: str
    removed: list[str]


class RedriveRequest(CamelModel):
    limit: int = Field(default=100, ge=1, le=1000)


class Redriven(CamelModel):
    queue: str
    moved: list[str]
    failed: list[str]
    skipped: int
    more: bool


class Health(CamelModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, bool]


class FlowOptions(JobOptions):
    """A flow job's options: a job's, and how its failure weighs on its parent."""

    ignore_dependency_on_failure: bool = Field(
        default=False,
        description="if this job fails for good, its parent still runs (and sees the failure)",
    )

    def job_options(self) -> JobOptions:
        return JobOptions.model_validate(
            self.model_dump(exclude={"ignore_dependency_on_failure"}, exclude_unset=True)
        )


class FlowRequest(CamelModel):
    """A job and the children it waits for (up to 10 levels, 1,000 jobs in all)."""

    queue: str = Field(max_length=63)
    data: dict[str, Any]
    options: FlowOptions | None = None
    children: list[FlowRequest] = Field(default_factory=list, max_length=1000)

    def node(self) -> FlowNode:
        options = self.options
        return FlowNode(
            self.queue,
            self.data,
            options.job_options() if options else None,
            bool(options and options.ignore_dependency_on_failure),
            [child.node() for child in self.children],
        )


class FlowAccepted(CamelModel):
    """The accepted flow, mirroring the request's tree."""

    job_id: str
    queue: str
    status: JobStatus
    children: list[FlowAccepted] = Field(default_factory=list)

    @classmethod
    def of(cls, node: AcceptedNode) -> FlowAccepted:
        return cls(
            job_id=node.job_id,
            queue=node.queue,
            status=node.status,
            children=[cls.of(c) for c in node.children],
        )
