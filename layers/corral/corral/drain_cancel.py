"""Cancelling running jobs inside the drain loop.

``DELETE`` of a running job flags it in Redis (``request_cancel.lua``). The drain loop's
heartbeat (``extend.lua``) hands the flags back for the jobs this drainer holds; then the
handler's context is flagged (``JobContext.cancelled``) and an async handler's task is
cancelled. However the attempt ends, its job ends ``cancelled``: never retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Mapping, Sequence

from corral.execute import JobExecutor
from corral.queue import ClaimedJob, Outcome, Queue

logger = logging.getLogger(__name__)

CHECK_S = 0.5
"""While handlers run, heartbeat this often: it is how a cancellation reaches them."""

Running = Mapping[str, tuple[ClaimedJob, float, "asyncio.Task[None]"]]


class CancelRequests:
    """The cancellations that reached one drainer, and what it does about them."""

    def __init__(self, queue: Queue, executor: JobExecutor) -> None:
        self.queue = queue
        self.executor = executor
        self.ids: set[str] = set()

    def __contains__(self, job_id: object) -> bool:
        return job_id in self.ids

    def discard(self, job_id: str) -> None:
        self.ids.discard(job_id)

    def _lease_ms(self) -> int:
        lease = self.queue.lease
        return min(self.queue.definition.timeout_ms, lease.cap_ms) + lease.margin_ms

    async def heartbeat(
        self, held: Sequence[ClaimedJob], running: Running, ready: Collection[ClaimedJob]
    ) -> None:
        """Extend the leases of held jobs, and act on the cancellations asked for."""
        lost, cancelling = await self.queue.heartbeat(held, self._lease_ms())
        if lost:
            logger.warning("lost the lease on %d jobs", len(lost))
        for job_id in cancelling:
            self._cancel(job_id, running, ready)

    def _cancel(self, job_id: str, running: Running, ready: Collection[ClaimedJob]) -> None:
        """Flag the handler's context; cancel an async handler's task.

        A sync handler cannot be interrupted: it sees ``cancelled`` and stops itself, or
        runs on until its timeout; either way its job ends cancelled.
        """
        entry = running.get(job_id)
        in_ready = any(job.id == job_id for job in ready)
        if job_id in self.ids or (entry is None and not in_ready):
            return  # already handled, or it finished and waits to be settled
        self.ids.add(job_id)
        self.executor.request_cancel(job_id)
        if entry is not None and self.executor.is_async:
            entry[2].cancel()

    async def cancelled_instead(self, outcomes: list[Outcome]) -> list[Outcome]:
        """A failed or retrying job whose cancellation was asked before a heartbeat told
        this drainer ends cancelled instead (one round trip, only when jobs failed)."""
        ending = [o.job for o in outcomes if o.kind in ("r", "f")]
        if not ending:
            return outcomes
        _, flagged = await self.queue.heartbeat(ending, self._lease_ms())
        if not flagged:
            return outcomes
        asked = set(flagged)
        return [
            self.executor.cancelled(o.job, time.monotonic() - o.duration_ms / 1000)
            if o.job.id in asked and o.kind in ("r", "f")
            else o
            for o in outcomes
        ]
