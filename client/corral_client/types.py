"""What the HTTP API answers, as ``TypedDict``s: the client's return types.

They mirror the response schemas of ``docs/openapi.json`` key for key (camelCase, as on
the wire); ``tests/unit/client/test_client_types.py`` compares the two, so neither drifts. The
client hands back the decoded JSON itself, so these cost nothing at run time.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

JobStatusName = Literal[
    "pending", "processing", "completed", "failed", "cancelled", "waiting-children"
]


class AcceptedJob(TypedDict):
    jobId: str
    queue: str
    status: JobStatusName
    deduplicated: bool


class FieldError(TypedDict):
    loc: list[str | int]
    msg: str
    type: str


class BatchItem(TypedDict):
    """One item's answer: accepted (``jobId``) or ``status`` "rejected" with ``errors``."""

    index: int
    jobId: str | None
    queue: str
    status: Literal["pending", "processing", "completed", "failed", "cancelled", "rejected"]
    deduplicated: bool
    errors: list[FieldError] | None


class BatchAccepted(TypedDict):
    jobs: list[BatchItem]
    accepted: int
    rejected: int
    onComplete: AcceptedJob | None


class BatchValid(TypedDict):
    valid: int


class Job(TypedDict):
    jobId: str
    queue: str
    status: JobStatusName
    data: Any
    options: dict[str, Any]
    progress: Any
    result: Any
    error: Any
    attempts: int
    attemptsMade: int
    createdAt: int
    startedAt: int | None
    completedAt: int | None
    failedAt: int | None
    tenant: str
    name: str
    parent: FlowParent | None
    children: list[FlowChild] | None
    childrenResults: dict[str, Any] | None
    childrenFailures: dict[str, Any] | None


class FlowParent(TypedDict):
    jobId: str
    queue: str


class FlowChild(TypedDict):
    jobId: str
    queue: str
    status: JobStatusName | None


class FlowAccepted(TypedDict):
    """A flow's answer: each node's id and status, mirroring the request's tree."""

    jobId: str
    queue: str
    status: JobStatusName
    children: list[FlowAccepted]


class Cancelled(TypedDict):
    jobId: str
    status: Literal["cancelled"]


class Cancelling(TypedDict):
    jobId: str
    status: Literal["cancelling"]


class LogLine(TypedDict):
    ts: int
    message: str


class JobLogs(TypedDict):
    logs: list[LogLine]
    nextCursor: str | None


class JobPage(TypedDict):
    jobs: list[Job]
    nextCursor: str | None


class RateLimitSetting(TypedDict):
    max: int
    durationMs: int


class QueueSettings(TypedDict):
    concurrency: int
    rateLimit: RateLimitSetting | None
    groupConcurrency: int
    runtime: list[str]


class KeyGroup(TypedDict):
    id: str
    concurrency: int | None
    rateLimit: RateLimitSetting | None
    active: int
    waiting: int
    held: bool
    jobConcurrency: int | None
    jobRateLimit: RateLimitSetting | None


class KeyGroupList(TypedDict):
    groups: list[KeyGroup]
    total: int


class QueueLimits(TypedDict):
    queue: str
    settings: QueueSettings


class QueueStats(TypedDict):
    name: str
    pending: int
    waiting: int
    delayed: int
    processing: int
    completed: int
    failed: int
    cancelled: int
    paused: bool
    deadLetter: int
    settings: QueueSettings | None
    waitingChildren: int


class QueueList(TypedDict):
    queues: list[QueueStats]


class Paused(TypedDict):
    queue: str
    paused: bool


class Cleaned(TypedDict):
    queue: str
    removed: list[str]


class Redriven(TypedDict):
    queue: str
    moved: list[str]
    failed: list[str]
    skipped: int
    more: bool


class Minute(TypedDict):
    minute: int
    completed: int
    failed: int


class Throughput(TypedDict):
    queue: str
    minutes: list[Minute]


class Schedule(TypedDict):
    id: str
    queue: str
    source: str
    cron: str | None
    every: int | None
    tz: str
    data: dict[str, Any]
    startDate: int | None
    endDate: int | None
    limit: int | None
    catchUp: Literal["all", "last"]
    paused: bool
    count: int
    nextRun: int | None
    createdAt: int
    updatedAt: int


class SchedulePage(TypedDict):
    schedules: list[Schedule]
    nextCursor: str | None


class Deleted(TypedDict):
    id: str
    deleted: bool


class Webhook(TypedDict):
    id: str
    queue: str
    url: str
    events: list[str]
    createdAt: int


class WebhookCreated(Webhook):
    secret: str


class WebhookList(TypedDict):
    webhooks: list[Webhook]


class SigningSecret(TypedDict):
    secret: str


class DayStats(TypedDict):
    date: str
    queued: int
    completed: int
    failed: int
    retried: int
    cancelled: int


class Durations(TypedDict):
    p50: int | None
    p95: int | None
    samples: int


class TopError(TypedDict):
    error: str
    count: int


class Reads(TypedDict):
    queries: int
    items: int


class EstimatedCost(TypedDict):
    usd: float
    byService: dict[str, float]
    basis: str


# "from" is a keyword, so this one is declared the functional way.
History = TypedDict(
    "History",
    {
        "from": str,
        "to": str,
        "queues": list[str],
        "days": list[DayStats],
        "totals": dict[str, int],
        "successRate": float | None,
        "durationMs": Durations,
        "topErrors": list[TopError],
        "reads": Reads,
        "estimatedCost": EstimatedCost,
    },
)


class Me(TypedDict):
    tenant: str
    admin: bool


class SignInLink(TypedDict):
    path: str
    expiresAt: int


class Health(TypedDict):
    status: Literal["ok", "unavailable"]
    checks: dict[str, bool]


class ErrorBody(TypedDict):
    """An error answer (``ApiError.body``); Retry-After comes with 429 and 503."""

    error: str
    message: str
    details: list[dict[str, Any]] | None
