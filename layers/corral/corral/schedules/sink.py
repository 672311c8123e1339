"""Where a schedule's jobs go: a small interface, and the plain-Redis implementation.

The scheduler only needs to enqueue jobs with chosen ids and to cancel some of them. Put
an implementation that also writes the job table behind this interface to make
scheduled jobs durable like any accepted job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from corral.definition import QueueRegistry
from corral.errors import JobNotFoundError, JobStateError
from corral.keys import PREFIX
from corral.queue import EnqueueResult, NewJob, Queue, now_ms
from corral.scripts import RedisClient


class JobSink(Protocol):
    """Enqueues and cancels the jobs of schedules."""

    async def enqueue(self, queue: str, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        """Enqueue jobs (their ids are set); a duplicate id is reported, not added."""
        ...

    async def cancel(self, queue: str, job_ids: Sequence[str]) -> int:
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

    async def cancel(self, queue: str, job_ids: Sequence[str]) -> int:
        cancelled = 0
        for job_id in job_ids:
            try:
                await self._queue(queue).cancel(job_id)
            except (JobNotFoundError, JobStateError):
                continue  # never enqueued, already running or finished: nothing to undo
            cancelled += 1
        return cancelled
