"""Lifecycle events: what happened to a job (or a queue), as one small JSON detail.

The detail carries ids, queue, tenant, status, attempts and timestamps; a result or error
only when it is small; the payload only when the queue opts in
(``QueueDefinition.events_include_payload``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from corral.execute import public_error
from corral.job import WebhookOption
from corral.queue import ClaimedJob, Outcome
from corral.records import JobRecord

MAX_VALUE_CHARS = 2048
"""A result or error longer than this (as JSON) is left out of the detail."""


class EventType(StrEnum):
    """EventBridge detail-types; ``slug`` names them in webhook ``events`` lists."""

    QUEUED = "Job Queued"
    STARTED = "Job Started"
    PROGRESS = "Job Progress"
    COMPLETED = "Job Completed"
    FAILED = "Job Failed"
    DEAD_LETTERED = "Job Dead-Lettered"
    STALLED = "Job Stalled"
    CANCELLED = "Job Cancelled"
    DRAINED = "Queue Drained"
    FLOW_COMPLETED = "Flow Completed"
    FLOW_FAILED = "Flow Failed"

    @property
    def slug(self) -> str:
        """``"completed"``, ``"dead-lettered"``, ``"drained"``, ``"flow-failed"``..."""
        subject, what = self.value.split(" ", 1)
        # A flow's events keep their subject, so they never share a job event's slug.
        return f"flow-{what.lower()}" if subject == "Flow" else what.lower()

    @classmethod
    def from_slug(cls, slug: str) -> EventType:
        for member in cls:
            if member.slug == slug:
                return member
        raise ValueError(f"unknown event {slug!r}")


EVENT_SLUGS = tuple(t.slug for t in EventType)


@dataclass(slots=True)
class LifecycleEvent:
    """One event, ready to publish.

    Attributes:
        type: the detail-type.
        queue: the queue.
        tenant: the job's tenant ("" for queue events).
        time: epoch ms.
        detail: the JSON detail (camelCase).
        webhook: the job's ``options.webhook``, if it has one (for the webhook dispatcher).
    """

    type: EventType
    queue: str
    tenant: str
    time: int
    detail: dict[str, Any]
    webhook: dict[str, Any] | None = None
    job_id: str = ""
    duration_ms: int | None = None
    error: Any = field(default=None, repr=False)


def small(value: Any, limit: int = MAX_VALUE_CHARS) -> tuple[bool, Any]:
    """``(True, value)`` if ``value`` serialises to at most ``limit`` characters."""
    try:
        text = json.dumps(value, separators=(",", ":"), default=str)
    except ValueError:
        return False, None
    return len(text) <= limit, value


def webhook_of(option: WebhookOption | None) -> dict[str, Any] | None:
    """A job's ``options.webhook`` as an event carries it (for the webhook dispatcher)."""
    return option.model_dump(mode="json", exclude_none=True) if option else None


def parse(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class EventFactory:
    """Builds the events of one queue.

    Args:
        queue: the queue's name.
        include_payload: put the job's data in the detail.
    """

    def __init__(self, queue: str, *, include_payload: bool = False) -> None:
        self.queue = queue
        self.include_payload = include_payload

    def _job_event(
        self,
        kind: EventType,
        job: ClaimedJob,
        now: int,
        status: str,
        extra: dict[str, Any] | None = None,
    ) -> LifecycleEvent:
        detail: dict[str, Any] = {
            "jobId": job.id,
            "queue": self.queue,
            "tenant": job.group,
            "status": status,
            "attempt": job.attempt,
            "attempts": job.options.attempts,
            "createdAt": job.created_at,
            "timestamp": now,
            **(extra or {}),
        }
        if self.include_payload:
            detail["data"] = parse(job.data)
        return LifecycleEvent(
            kind, self.queue, job.group, now, detail, webhook_of(job.options.webhook), job.id
        )

    def started(self, job: ClaimedJob, now: int) -> LifecycleEvent:
        return self._job_event(EventType.STARTED, job, now, "processing")

    def progress(self, job: ClaimedJob, value: Any, now: int) -> LifecycleEvent:
        fits, value = small(value)
        extra = {"progress": value} if fits else {}
        return self._job_event(EventType.PROGRESS, job, now, "processing", extra)

    def finished(self, outcome: Outcome, now: int) -> list[LifecycleEvent]:
        """Completed; cancelled while running; or failed (with ``willRetry``), then
        dead-lettered if it was final."""
        job, value = outcome.job, parse(outcome.payload)
        timing = {"durationMs": outcome.duration_ms, "finishedAt": now}
        if outcome.kind == "x":
            return [self._job_event(EventType.CANCELLED, job, now, "cancelled", timing)]
        if outcome.kind == "c":
            fits, value = small(value)
            extra = {**timing, **({"result": value} if fits else {"resultOmitted": True})}
            event = self._job_event(EventType.COMPLETED, job, now, "completed", extra)
            event.duration_ms = outcome.duration_ms
            if job.options.flow_root:
                return [event, self._job_event(EventType.FLOW_COMPLETED, job, now, "completed")]
            return [event]
        retry = outcome.kind == "r"
        fits, error = small(public_error(value))
        extra = {**timing, "willRetry": retry, "error": error if fits else {"omitted": True}}
        if retry:
            extra["retryAt"] = outcome.retry_at
        status = "pending" if retry else "failed"
        failed = self._job_event(EventType.FAILED, job, now, status, extra)
        failed.duration_ms, failed.error = outcome.duration_ms, error
        if retry:
            return [failed]
        dead = self._job_event(EventType.DEAD_LETTERED, job, now, "failed", extra)
        if job.options.flow_root:
            flow = {"error": extra["error"]}
            return [failed, dead, self._job_event(EventType.FLOW_FAILED, job, now, "failed", flow)]
        return [failed, dead]

    def lapsed(
        self, job: ClaimedJob, reason: str, now: int, *, final: bool
    ) -> list[LifecycleEvent]:
        """A job Redis moved by itself: stalled (requeued or failed) or expired (failed)."""
        extra: dict[str, Any] = {"reason": reason, "willRetry": not final}
        events = []
        if reason == "stalled":
            status = "failed" if final else "pending"
            events.append(self._job_event(EventType.STALLED, job, now, status, extra))
        if final:
            dead = self._job_event(EventType.DEAD_LETTERED, job, now, "failed", extra)
            dead.error = {"message": reason, "type": reason.title() + "Error"}
            events.append(dead)
        return events

    def drained(self, now: int) -> LifecycleEvent:
        detail = {"queue": self.queue, "timestamp": now}
        return LifecycleEvent(EventType.DRAINED, self.queue, "", now, detail)


def job_event(
    kind: EventType,
    *,
    queue: str,
    job_id: str,
    tenant: str,
    status: str,
    now: int,
    webhook: dict[str, Any] | None = None,
    **extra: Any,
) -> LifecycleEvent:
    """An event the job service raises (queued, cancelled), outside any drain."""
    detail = {
        "jobId": job_id,
        "queue": queue,
        "tenant": tenant,
        "status": status,
        "timestamp": now,
        **extra,
    }
    return LifecycleEvent(kind, queue, tenant, now, detail, webhook, job_id)


def flow_failed(record: JobRecord, child_id: str, error: Any, now: int) -> LifecycleEvent:
    """``Flow Failed`` for a root parent that failed without running: a child failed it."""
    fits, error = small(error)
    return job_event(
        EventType.FLOW_FAILED,
        queue=record.queue,
        job_id=record.job_id,
        tenant=record.tenant,
        status="failed",
        now=now,
        webhook=record.options.get("webhook"),
        createdAt=record.created_at,
        failedChild=child_id,
        error=error if fits else {"omitted": True},
    )
