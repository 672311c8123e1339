"""What goes in and out of a queue's scripts: the values ``Queue`` takes and returns,
and the decoding of a job's Redis hash."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from pydantic import Field

from corral.job import CamelModel, Job, JobOptions, JobState, ResolvedOptions


@dataclass(slots=True)
class NewJob:
    """A job to enqueue: its data, options, and group (the tenant by default)."""

    data: Any
    options: JobOptions | None = None
    group: str | None = None
    parent: dict[str, Any] | None = None
    """A flow child's link to its parent, carried in its opts (``corral.flows``)."""
    flow_root: bool = False
    """A flow's root parent (``Queue.add_parent`` marks it)."""


@dataclass(slots=True)
class EnqueueResult:
    job_id: str
    created: bool
    debounced: bool = False

    @property
    def deduplicated(self) -> bool:
        return not self.created


@dataclass(slots=True)
class ClaimedJob:
    """A job handed to a worker, with the lease token that proves it holds it."""

    id: str
    data: str
    options: ResolvedOptions
    attempt: int
    group: str
    created_at: int
    token: str
    dedup: str = ""
    """The deduplication id its end releases ('' = none)."""
    key_group: str = ""
    """Its key group's id ('' = none). With ``group`` and ``dedup``, what settling it needs
    of its hash: the claim read them, they do not change while it runs, and handing them
    back leaves settle.lua only the lease token to read."""


class ClaimCode(IntEnum):
    EMPTY = 0
    CLAIMED = 1
    PAUSED = 2
    RATE_LIMITED = 3
    AT_CONCURRENCY = 4
    GROUP_LIMITED = 5
    """Jobs wait, but every waiting group is at its group concurrency limit."""

    @property
    def held_by_leases(self) -> bool:
        """Blocked until a lease ends: a finish, or a dead worker's lease running out."""
        return self in (ClaimCode.AT_CONCURRENCY, ClaimCode.GROUP_LIMITED)


@dataclass(slots=True)
class ClaimResult:
    code: ClaimCode
    hint_ms: int
    """Rate limited: ms to the next token. Empty: ms to the next delayed job (-1: none).
    Held by leases: ms until the earliest lease runs out (0: one has; -1: none held)."""
    jobs: list[ClaimedJob]
    expired: list[str]
    at: int = 0
    """The clock (epoch ms) the claim ran at: ``at + hint_ms`` is when the hint is due."""


@dataclass(slots=True)
class Outcome:
    """How a claimed job ended: ``c`` completed, ``r`` retry at ``retry_at``, ``f`` failed,
    ``x`` cancelled while it ran (final, never retried)."""

    job: ClaimedJob
    kind: str
    payload: str
    retry_at: int = 0
    duration_ms: int = 0

    @property
    def completed(self) -> bool:
        return self.kind == "c"


class QueueCounts(CamelModel):
    """A queue's jobs by status: the one count type of the engine and the API.

    ``pending`` = ``waiting`` (due now) + ``delayed`` (due later, or backing off before a
    retry). Redis holds every count but ``dead_letter`` (the job table's failed records)
    and ``waiting_children``, which ``JobService.stats`` adds.
    """

    name: str
    pending: int
    waiting: int
    delayed: int
    processing: int
    completed: int
    failed: int
    cancelled: int
    paused: bool
    dead_letter: int
    waiting_children: int = Field(default=0, description="flow parents waiting for children")


class MinuteCount(CamelModel):
    """Jobs finished in one minute."""

    minute: int
    """Start of the minute, epoch ms."""
    completed: int
    failed: int


@dataclass(kw_only=True)
class OutcomeCounts:
    """How many settled jobs ended each way: the one outcome counter (the drain loop's
    stats, a poller run's durable tally and its report)."""

    completed: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0

    def add_outcome(self, kind: str) -> None:
        """One more outcome of ``kind`` (``Outcome.kind``)."""
        if kind == "c":
            self.completed += 1
        elif kind == "r":
            self.retried += 1
        elif kind == "x":
            self.cancelled += 1
        else:
            self.failed += 1

    def add_counts(self, other: OutcomeCounts) -> None:
        """Add another counter's outcomes to this one."""
        self.completed += other.completed
        self.retried += other.retried
        self.failed += other.failed
        self.cancelled += other.cancelled

    @property
    def finished(self) -> int:
        return self.completed + self.retried + self.failed + self.cancelled


@dataclass(frozen=True)
class LeaseSettings:
    """A claimed job's lease is min(timeout, cap) + margin; heartbeats extend it."""

    cap_ms: int = 30_000
    margin_ms: int = 5_000


def encode_options(options: ResolvedOptions) -> str:
    """Python to Lua: the ``opts`` JSON a job's hash keeps (the scripts read ``ttl`` and
    ``group`` from it)."""
    # ASCII-escaped, as json.dumps wrote it: the stored text stays byte for byte the same.
    return options.model_dump_json(by_alias=True, exclude_none=True, ensure_ascii=True)


def decode_options(raw: str) -> ResolvedOptions:
    """Lua to Python: a job's ``opts`` JSON, as a claim or a read of its hash returns it."""
    return ResolvedOptions.model_validate_json(raw)


def flow_add_args(
    now: int,
    job_id: str,
    group: str,
    data_json: str,
    options: ResolvedOptions,
    children: int,
    group_limit: int,
    created_at: int,
) -> list[Any]:
    """``flow_add.lua``'s ARGV: a flow's parent, added or put back by the flow repair."""
    return [
        now,
        job_id,
        group,
        data_json,
        encode_options(options),
        options.priority,
        options.timeout,
        children,
        group_limit,
        created_at,
    ]


def _json_or_none(raw: str | None) -> Any:
    return json.loads(raw) if raw else None


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw else None


def decode_job(queue: str, job_id: str, fields: dict[str, str], default_opts: str) -> Job:
    """Build a ``Job`` from its Redis hash. A field left out holds its default
    (``lua/includes/job.lua``); ``default_opts``: the queue's resolved default options."""
    return Job(
        id=job_id,
        queue=queue,
        state=JobState(fields["state"]),
        data=json.loads(fields["data"]),
        options=decode_options(fields.get("opts") or default_opts),
        group=fields["group"],
        priority=int(fields.get("priority", 0)),
        attempts_made=int(fields.get("attemptsMade", 0)),
        stalls=int(fields.get("stalls", 0)),
        progress=_json_or_none(fields.get("progress")),
        result=_json_or_none(fields.get("result")),
        error=_json_or_none(fields.get("error")),
        created_at=int(fields["createdAt"]),
        processed_at=_int_or_none(fields.get("processedAt")),
        finished_at=_int_or_none(fields.get("finishedAt")),
    )
