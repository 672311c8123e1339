"""Request and response bodies; every one derives from the engine's job schema."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from corral.definition import QueueDefinition
from corral.intake import Accepted
from corral.job import CamelModel, JobOptions, JobStatus
from corral.records import JobRecord
from corral.service import QueueStats
from pydantic import Field

MAX_BATCH = 500


class EnqueueRequest(CamelModel):
    """A job: its data (validated against the queue's payload model) and options."""

    data: dict[str, Any]
    options: JobOptions | None = None


class BatchRequest(CamelModel):
    jobs: list[EnqueueRequest] = Field(min_length=1, max_length=MAX_BATCH)


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


class BatchAccepted(CamelModel):
    jobs: list[AcceptedJob]


class BatchValid(CamelModel):
    """Every job of a batch would be accepted (nothing was written)."""

    valid: int = Field(description="how many jobs were checked")


class JobPublic(CamelModel):
    """A job as the API shows it."""

    job_id: str
    queue: str
    status: JobStatus
    data: Any = None
    options: dict[str, Any] = Field(
        default_factory=dict, description="the options the job was enqueued with"
    )
    progress: Any = None
    result: Any = None
    error: Any = None
    attempts: int
    attempts_made: int
    created_at: int
    started_at: int | None = None
    completed_at: int | None = None
    tenant: str = Field(description="the job's tenant (subAccountId)")
    name: str = Field(description="what the job is: generic-task's task, else the queue")

    @classmethod
    def of(cls, record: JobRecord, definition: QueueDefinition | None = None) -> JobPublic:
        return cls(
            job_id=record.job_id,
            queue=record.queue,
            status=record.status,
            data=record.data,
            options=record.options,
            progress=record.progress,
            result=record.result,
            error=record.error,
            attempts=record.attempts,
            attempts_made=record.attempts_made,
            created_at=record.created_at,
            started_at=record.started_at,
            completed_at=record.completed_at,
            tenant=record.tenant,
            name=definition.name_of(record.data) if definition else record.queue,
        )


class Cancelled(CamelModel):
    job_id: str
    status: Literal["cancelled"] = "cancelled"


class JobPage(CamelModel):
    jobs: list[JobPublic]
    next_cursor: str | None = None


class QueuePublic(CamelModel):
    """A queue's counts (Redis), and its jobs in the dead-letter queue (the job table)."""

    name: str
    waiting: int
    active: int
    delayed: int
    completed: int
    failed: int
    cancelled: int
    paused: bool
    dead_letter: int

    @classmethod
    def of(cls, stats: QueueStats) -> QueuePublic:
        return cls(**asdict(stats))


class QueueList(CamelModel):
    queues: list[QueuePublic]


class Paused(CamelModel):
    queue: str
    paused: bool


class CleanRequest(CamelModel):
    """Drop finished jobs from Redis (records stay), or cancel pending ones, past ``grace``."""

    status: Literal["completed", "failed", "cancelled", "waiting", "delayed"] = "completed"
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
