"""Where a schedule's jobs go: a small interface and two implementations.

The scheduler only needs to enqueue jobs with chosen ids and to cancel some of them.
``ServiceSink`` goes through the job service, so a scheduled job gets its record in the
job table like any accepted job (the deployment uses it); ``QueueSink`` goes straight to
Redis (no job table: tests and embedders without DynamoDB).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from corral.definition import QueueRegistry
from corral.errors import JobNotFoundError, JobStateError
from corral.job import JobOptions
from corral.keys import PREFIX
from corral.queue import EnqueueResult, NewJob, Queue, now_ms
from corral.scripts import RedisClient


class JobSink(Protocol):
    """Enqueues and cancels the jobs of schedules."""

    async def enqueue(self, queue: str, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        """Enqueue jobs (their ids are set); a duplicate id is reported, not added."""
        ...

    async def cancel(self, queue: str, tenant: str, job_ids: Sequence[str]) -> int:
        """Cancel those of ``job_ids`` that are still pending; returns how many were."""
        ...


class QueueSink:
    """Enqueues straight into Redis with each queue's ``Queue``."""

    def __init__(
        self,
        redis: RedisClient,
        registry: QueueRegistry,
        *,
        prefix: str = PREFIX,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._redis = redis
        self._registry = registry
        self._prefix = prefix
        self._clock = clock
        self._queues: dict[str, Queue] = {}

    def _queue(self, name: str) -> Queue:
        if name not in self._queues:
            definition = self._registry.get(name)  # UnknownQueueError if it was removed
            self._queues[name] = Queue(
                self._redis, definition, prefix=self._prefix, clock=self._clock
            )
        return self._queues[name]

    async def enqueue(self, queue: str, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        return await self._queue(queue).add_bulk(jobs)

    async def cancel(self, queue: str, tenant: str, job_ids: Sequence[str]) -> int:
        cancelled = 0
        for job_id in job_ids:
            try:
                await self._queue(queue).cancel(job_id)
            except (JobNotFoundError, JobStateError):
                continue  # never enqueued, already running or finished: nothing to undo
            cancelled += 1
        return cancelled


class _Accepted(Protocol):
    @property
    def job_id(self) -> str: ...

    @property
    def deduplicated(self) -> bool: ...


class JobServiceLike(Protocol):
    """What ``ServiceSink`` needs of ``corral.service.JobService``."""

    async def enqueue_many(
        self, queue: str, jobs: Sequence[tuple[Any, JobOptions | None]], tenant: str
    ) -> Sequence[_Accepted]: ...

    async def cancel(self, queue: str, job_id: str, tenant: str) -> object: ...


class ServiceSink:
    """Enqueues through the job service: record in DynamoDB first, then Redis."""

    def __init__(self, service: JobServiceLike) -> None:
        self.service = service

    async def enqueue(self, queue: str, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        if not jobs:
            return []
        # One schedule's jobs share its tenant, which is their group.
        tenant = jobs[0].group or ""
        accepted = await self.service.enqueue_many(
            queue, [(job.data, job.options) for job in jobs], tenant
        )
        return [EnqueueResult(a.job_id, created=not a.deduplicated) for a in accepted]

    async def cancel(self, queue: str, tenant: str, job_ids: Sequence[str]) -> int:
        cancelled = 0
        for job_id in job_ids:
            with contextlib.suppress(JobNotFoundError, JobStateError):
                await self.service.cancel(queue, job_id, tenant)
                cancelled += 1
        return cancelled
