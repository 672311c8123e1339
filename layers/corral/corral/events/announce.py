"""Events the job service raises (queued, cancelled), sent before the request returns.

An API invocation may be frozen as soon as it answers, so these are flushed at once: the
cost is one round of sends per request (a batch enqueue is one batch of events), and a
sink never raises, so an event that cannot be sent never fails the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from corral.events.model import EventType, LifecycleEvent, job_event
from corral.events.sink import EventSink
from corral.intake import Accepted
from corral.job import JobOptions
from corral.records import JobRecord


def queued(
    queue: str,
    tenant: str,
    jobs: Sequence[tuple[Any, JobOptions | None]],
    accepted: Sequence[Accepted],
    now: int,
) -> list[LifecycleEvent]:
    """``Job Queued`` for each job that was new (duplicates raise nothing)."""
    events = []
    for (_, options), answer in zip(jobs, accepted, strict=True):
        if answer.deduplicated:
            continue
        hook = options.webhook if options else None
        events.append(
            job_event(
                EventType.QUEUED,
                queue=queue,
                job_id=answer.job_id,
                tenant=tenant,
                status=answer.status.value,
                now=now,
                webhook=hook.model_dump(mode="json", exclude_none=True) if hook else None,
            )
        )
    return events


def cancelled(record: JobRecord, now: int) -> LifecycleEvent:
    """``Job Cancelled`` for a record just cancelled."""
    return job_event(
        EventType.CANCELLED,
        queue=record.queue,
        job_id=record.job_id,
        tenant=record.tenant,
        status="cancelled",
        now=now,
        webhook=record.options.get("webhook"),
        createdAt=record.created_at,
    )


async def announce(sink: EventSink, events: Sequence[LifecycleEvent]) -> None:
    """Emit and wait until sent (see the module docstring)."""
    if events:
        await sink.emit(events)
        await sink.flush()
