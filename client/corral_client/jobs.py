"""The client's calls on single jobs: enqueue them (one, a batch, a flow), follow, change,
cancel, retry and promote them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from corral_client import types as reply
from corral_client.calls import Calls
from corral_client.transport import AsyncConnection, Connection, documented_by

FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
"""The statuses a job does not leave."""


class JobMethods(Connection):
    """Blocking calls on jobs."""

    def enqueue(
        self, queue: str, data: Any, options: Mapping[str, Any] | None = None
    ) -> reply.AcceptedJob:
        """Enqueue one job (``deduplicated`` is true when an existing job answered)."""
        return self._send(Calls.enqueue(queue, data, options))

    def enqueue_batch(
        self,
        queue: str,
        jobs: Sequence[Mapping[str, Any]],
        *,
        atomic: bool = False,
        on_complete: Mapping[str, Any] | None = None,
    ) -> reply.BatchAccepted:
        """Enqueue ``[{data, options?}, ...]`` in one request; each item is answered on its
        own (``status`` "rejected" with ``errors``), or, ``atomic``, all or none (422).
        ``on_complete`` (``{queue, data, options?}``) runs once they all completed, with
        their results (a flow: then any bad item rejects the batch)."""
        return self._send(Calls.enqueue_batch(queue, jobs, atomic, on_complete))

    def add_flow(self, flow: Mapping[str, Any]) -> reply.FlowAccepted:
        """Add ``{queue, data, options?, children?: [...]}``: a parent that runs after its
        children, with their results."""
        return self._send(Calls.add_flow(flow))

    def validate_batch(self, queue: str, jobs: Sequence[Mapping[str, Any]]) -> reply.BatchValid:
        """Check ``[{data, options?}, ...]`` as ``enqueue_batch`` would, writing nothing
        (an ``ApiError`` 422 names every bad job)."""
        return self._send(Calls.validate_batch(queue, jobs))

    def status(self, queue: str, job_id: str) -> reply.Job:
        return self._send(Calls.status(queue, job_id))

    def wait(
        self, queue: str, job_id: str, *, poll_s: float = 0.5, timeout_s: float = 300
    ) -> reply.Job:
        """Poll a job until it completes, fails or is cancelled (or ``timeout_s`` passes)."""
        end = time.monotonic() + timeout_s
        while True:
            job = self.status(queue, job_id)
            if job["status"] in FINAL_STATUSES or time.monotonic() > end:
                return job
            time.sleep(poll_s)

    def cancel(self, queue: str, job_id: str) -> reply.Cancelled | reply.Cancelling:
        """Cancel a job: at once if it has not started, ``cancelling`` if it runs."""
        return self._send(Calls.cancel(queue, job_id))

    def change(self, queue: str, job_id: str, **change: Any) -> reply.Job:
        """Change ``data``, ``priority`` or ``delay`` (ms from now) of a job not yet started."""
        return self._send(Calls.change(queue, job_id, change))

    def logs(
        self, queue: str, job_id: str, cursor: str | None = None, limit: int = 100
    ) -> reply.JobLogs:
        """A page of the lines the job's handler logged, oldest first."""
        return self._send(Calls.logs(queue, job_id, cursor, limit))

    def retry(self, queue: str, job_id: str) -> reply.AcceptedJob:
        return self._send(Calls.retry(queue, job_id))

    def promote(self, queue: str, job_id: str) -> reply.AcceptedJob:
        """Make a delayed job due now (409 if it is not delayed)."""
        return self._send(Calls.promote(queue, job_id))


@documented_by(JobMethods)
class AsyncJobMethods(AsyncConnection):
    """The calls on jobs, for asyncio code."""

    async def enqueue(
        self, queue: str, data: Any, options: Mapping[str, Any] | None = None
    ) -> reply.AcceptedJob:
        return await self._send(Calls.enqueue(queue, data, options))

    async def enqueue_batch(
        self,
        queue: str,
        jobs: Sequence[Mapping[str, Any]],
        *,
        atomic: bool = False,
        on_complete: Mapping[str, Any] | None = None,
    ) -> reply.BatchAccepted:
        return await self._send(Calls.enqueue_batch(queue, jobs, atomic, on_complete))

    async def add_flow(self, flow: Mapping[str, Any]) -> reply.FlowAccepted:
        return await self._send(Calls.add_flow(flow))

    async def validate_batch(
        self, queue: str, jobs: Sequence[Mapping[str, Any]]
    ) -> reply.BatchValid:
        return await self._send(Calls.validate_batch(queue, jobs))

    async def status(self, queue: str, job_id: str) -> reply.Job:
        return await self._send(Calls.status(queue, job_id))

    async def wait(
        self, queue: str, job_id: str, *, poll_s: float = 0.5, timeout_s: float = 300
    ) -> reply.Job:
        end = time.monotonic() + timeout_s
        while True:
            job = await self.status(queue, job_id)
            if job["status"] in FINAL_STATUSES or time.monotonic() > end:
                return job
            await asyncio.sleep(poll_s)

    async def cancel(self, queue: str, job_id: str) -> reply.Cancelled | reply.Cancelling:
        return await self._send(Calls.cancel(queue, job_id))

    async def change(self, queue: str, job_id: str, **change: Any) -> reply.Job:
        return await self._send(Calls.change(queue, job_id, change))

    async def logs(
        self, queue: str, job_id: str, cursor: str | None = None, limit: int = 100
    ) -> reply.JobLogs:
        return await self._send(Calls.logs(queue, job_id, cursor, limit))

    async def retry(self, queue: str, job_id: str) -> reply.AcceptedJob:
        return await self._send(Calls.retry(queue, job_id))

    async def promote(self, queue: str, job_id: str) -> reply.AcceptedJob:
        return await self._send(Calls.promote(queue, job_id))
