"""The one job schema: options, states, the public status, and the job record.

The API's request and response models, the Redis hash and the DynamoDB item all derive
from these models.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from corral.errors import InvalidIdentifierError
from corral.keys import valid_identifier

MAX_PRIORITY = 2**20


def check_identifier(value: str) -> str:
    """Reject ids that could not be used safely inside a Redis key."""
    if not valid_identifier(value):
        raise InvalidIdentifierError(
            "must be 1-128 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


Identifier = Annotated[str, AfterValidator(check_identifier)]


class CamelModel(BaseModel):
    """Base for models that speak camelCase JSON and snake_case Python."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class BackoffType(StrEnum):
    FIXED = "fixed"
    EXPONENTIAL = "exponential"


class Backoff(CamelModel):
    """How long to wait before a retry: ``delay`` ms, doubled per attempt if exponential."""

    type: BackoffType = BackoffType.EXPONENTIAL
    delay: int = Field(default=1000, ge=0, le=86_400_000)
    max_delay: int = Field(default=3_600_000, ge=0, description="cap on any one wait (ms)")
    jitter: float = Field(default=0.2, ge=0, le=1, description="share of the wait randomised")


class DedupMode(StrEnum):
    SIMPLE = "simple"
    THROTTLE = "throttle"
    DEBOUNCE = "debounce"


class Deduplication(CamelModel):
    """Ignore (or, in debounce mode, merge) jobs that carry the same dedup id."""

    id: Identifier
    mode: DedupMode = DedupMode.SIMPLE
    ttl: int | None = Field(default=None, gt=0, le=30 * 86_400_000)

    @model_validator(mode="after")
    def _throttle_needs_ttl(self) -> Deduplication:
        if self.mode is DedupMode.THROTTLE and self.ttl is None:
            raise ValueError("throttle deduplication needs a ttl (ms)")
        return self


WebhookEvent = Literal[
    "queued", "started", "progress", "completed", "failed", "dead-lettered", "stalled", "cancelled"
]
"""Job events a webhook may ask for (``corral.events.EventType`` slugs)."""


class WebhookOption(CamelModel):
    """POST this job's lifecycle events to ``url``, signed (see ``corral.webhooks``)."""

    url: str = Field(min_length=10, max_length=2048, pattern=r"^https?://[^\s]+$")
    events: list[WebhookEvent] | None = Field(
        default=None, min_length=1, max_length=8, description="default: completed, dead-lettered"
    )


class KeyGroupRate(CamelModel):
    """At most ``max`` starts of the key group per ``durationMs``."""

    max: int = Field(ge=1, le=1_000_000)
    duration_ms: int = Field(default=1000, ge=1, le=86_400_000)


class KeyGroupOption(CamelModel):
    """``options.group``: jobs sharing ``id`` (a key, e.g. a customer's API account) run
    at most ``concurrency`` at once and ``rateLimit`` per window, across all pollers.
    Not the tenant: that is the job's ``subAccountId``."""

    id: Identifier
    concurrency: int | None = Field(default=None, ge=1, le=100_000)
    rate_limit: KeyGroupRate | None = None


class JobOptions(CamelModel):
    """Per-job options; any left out come from the queue's definition."""

    delay: int = Field(default=0, ge=0, le=365 * 86_400_000, description="ms before it may run")
    priority: int = Field(default=0, ge=0, le=MAX_PRIORITY, description="lower runs first")
    attempts: int | None = Field(default=None, ge=1, le=1000)
    backoff: Backoff | None = None
    timeout: int | None = Field(default=None, gt=0, le=86_400_000, description="ms per attempt")
    ttl: int | None = Field(default=None, gt=0, description="ms it may wait before starting")
    job_id: Identifier | None = None
    deduplication: Deduplication | None = None
    webhook: WebhookOption | None = None
    group: KeyGroupOption | None = None


class ResolvedOptions(CamelModel):
    """A job's options with its queue's defaults filled in (``Queue.resolve``).

    The one typed form of a job's options past the API: enqueue and restore build it,
    Redis keeps it as the job's ``opts`` JSON (``queue_types.encode_options`` /
    ``decode_options``), and the drain loop, the handler's context, events and flows
    read its attributes. Flows add ``parent`` and ``flow_root``; the scripts add a
    parent's children's results.
    """

    # The scripts may add fields (a parent's children's results); unknown ones are skipped.
    model_config = ConfigDict(extra="ignore")

    attempts: int
    backoff: Backoff
    timeout: int = Field(description="ms per attempt")
    priority: int = 0
    delay: int = 0
    ttl: int | None = None
    webhook: WebhookOption | None = None
    group: KeyGroupOption | None = None
    parent: dict[str, Any] | None = None
    """A flow child's link to its parent: ``{queue, id, ignore}`` (``corral.flows``)."""
    flow_root: bool | None = None
    """A flow's root parent: its settling raises the flow's event."""
    children_results: dict[str, Any] | None = None
    """A flow parent's children's results, by child id (written by ``child_done.lua``)."""
    children_failures: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The options as plain JSON values (what the ``opts`` JSON decodes to)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class JobState(StrEnum):
    """Where a job is inside Redis."""

    WAITING = "waiting"
    DELAYED = "delayed"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    WAITING_CHILDREN = "waiting-children"
    """A flow's parent: not claimable until its children are done (``corral.flows``)."""


PENDING_STATES = frozenset({JobState.WAITING, JobState.DELAYED})
TERMINAL_STATES = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED})


class JobStatus(StrEnum):
    """The public status of a job, as the HTTP API reports it."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    WAITING_CHILDREN = "waiting-children"

    @classmethod
    def of(cls, state: JobState) -> JobStatus:
        """The public status for an engine state."""
        if state in PENDING_STATES:
            return cls.PENDING
        if state is JobState.ACTIVE:
            return cls.PROCESSING
        return cls(state.value)


StatusWord = Literal[
    "pending",
    "processing",
    "completed",
    "failed",
    "cancelled",
    "waiting-children",
    "waiting",
    "delayed",
    "active",
]
"""What a status filter accepts: the public statuses, plus the engine's words as aliases
(``waiting`` and ``delayed`` are both ``pending``, ``active`` is ``processing``)."""

STATUS_ALIASES = {
    "waiting": JobStatus.PENDING,
    "delayed": JobStatus.PENDING,
    "active": JobStatus.PROCESSING,
}


def status_named(word: str) -> JobStatus:
    """The public status a word names (an alias included); raises ValueError."""
    return STATUS_ALIASES.get(word) or JobStatus(word)


CleanWord = Literal["completed", "failed", "cancelled", "pending", "waiting", "delayed"]
"""What ``clean`` takes: a finished status, or ``pending`` (or one half of it)."""

CLEANED_STATES: dict[str, tuple[JobState, ...]] = {
    "completed": (JobState.COMPLETED,),
    "failed": (JobState.FAILED,),
    "cancelled": (JobState.CANCELLED,),
    "pending": (JobState.WAITING, JobState.DELAYED),
    "waiting": (JobState.WAITING,),
    "delayed": (JobState.DELAYED,),
}


class Job(CamelModel):
    """A job as stored in Redis, decoded."""

    model_config = ConfigDict(frozen=False)

    id: str
    queue: str
    state: JobState
    data: Any
    options: ResolvedOptions
    group: str
    priority: int = 0
    attempts_made: int = 0
    stalls: int = 0
    progress: Any = None
    result: Any = None
    error: Any = None
    created_at: int
    processed_at: int | None = None
    finished_at: int | None = None

    @property
    def status(self) -> JobStatus:
        return JobStatus.of(self.state)
