"""Drain hooks that write each outcome to the job table before Redis forgets it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from corral.clock import now_ms
from corral.drain import DrainHooks
from corral.events.sink import EventSink
from corral.failures import FailureRecorder, FinalFailure, parse_json
from corral.flows.link import FlowLinker
from corral.flows.store import FlowStore
from corral.job import JobStatus
from corral.queue import ClaimedJob, Outcome, OutcomeCounts, Queue
from corral.records import OutcomeRecord
from corral.store import JobStore

logger = logging.getLogger(__name__)

_STATUS = {"c": JobStatus.COMPLETED, "r": JobStatus.PENDING, "x": JobStatus.CANCELLED}


@dataclass
class RunTally(OutcomeCounts):
    """What one poller run made durable (for its metrics): its outcomes and the rest."""

    failed_elsewhere: int = 0
    not_durable: int = 0
    duration_ms_total: int = 0
    duration_ms_max: int = 0
    oldest_age_ms: int = 0

    def count(self, outcomes: Sequence[Outcome], kept: set[str]) -> None:
        for o in outcomes:
            if o.job.id in kept:
                continue
            self.add_outcome(o.kind)
            self.duration_ms_total += o.duration_ms
            self.duration_ms_max = max(self.duration_ms_max, o.duration_ms)


class StoreHooks(DrainHooks):
    """``persist`` writes outcomes (batched, conditional); final failures go to the DLQ first.

    A job's start is not written: the running state lives in Redis (``GET`` of a job reads
    it there), and ``startedAt`` is written with the outcome. That keeps a job at two
    writes (its record, its outcome). The price: after Redis loses its data, the
    reconciler cannot tell a job that was running from one that was waiting, and puts it
    back; it may run twice, which at-least-once delivery allows.

    Args:
        queue: the queue being drained.
        store: the job table.
        failures: sends dead letters and marks records failed.
        clock: now in epoch ms.
        flows: tells flow parents that their children finished.
        events: where the flows' own events go (``Flow Failed`` when a child fails a root).
    """

    def __init__(
        self,
        queue: Queue,
        store: JobStore,
        failures: FailureRecorder,
        *,
        clock: Callable[[], int] = now_ms,
        flows: FlowLinker | None = None,
        events: EventSink | None = None,
    ) -> None:
        self.queue = queue
        self.store = store
        self.failures = failures
        self.clock = clock
        self.tally = RunTally()
        self.flows = flows or FlowLinker(
            FlowStore(store), queue.redis, prefix=queue.keys.prefix, clock=clock, events=events
        )

    def _record(self, o: Outcome, status: JobStatus, now: int) -> OutcomeRecord:
        job = o.job
        # The outcome is persisted within one settle batch of its end (a few ms).
        started = now - o.duration_ms
        return OutcomeRecord(
            self.queue.name, job.id, job.group, status, job.attempt, now, o.payload, {}, started
        )

    async def persist(self, outcomes: Sequence[Outcome]) -> Sequence[str]:
        now = self.clock()
        items: list[OutcomeRecord] = []
        finals: list[FinalFailure] = []
        for o in outcomes:
            job = o.job
            status = _STATUS.get(o.kind)
            if status is not None:
                items.append(self._record(o, status, now))
            else:
                final = self._final(job, parse_json(o.payload))
                final.started_at = now - o.duration_ms
                finals.append(final)
        writes, failed = await asyncio.gather(
            asyncio.to_thread(self.store.record_outcomes, items) if items else _nothing(),
            self.failures.record(finals),
        )
        kept = {*writes, *failed}
        # Flows: children that finished tell their parents; one not told is held and retried.
        kept.update(await self.flows.children_finished(o for o in outcomes if o.job.id not in kept))
        for final in finals:
            if final.job_id not in kept:
                # Not the hot path: a job that failed for good is worth a line.
                extra = {"job_id": final.job_id, "queue": self.queue.name}
                logger.info("job %s failed for good", final.job_id, extra=extra)
        self.tally.count(outcomes, kept)
        self.tally.not_durable += len(kept)
        if logger.isEnabledFor(logging.DEBUG):
            for o in outcomes:
                logger.debug(
                    "job %s: %s",
                    o.job.id,
                    o.kind,
                    extra={"job_id": o.job.id, "queue": self.queue.name},
                )
        return list(kept)

    def _final(self, job: ClaimedJob, error: object) -> FinalFailure:
        return FinalFailure(
            self.queue.name,
            job.id,
            job.group,
            job.attempt,
            error,
            parse_json(job.data),
            job.options.as_dict(),
        )

    async def claimed(self, jobs: Sequence[ClaimedJob]) -> None:
        now = self.clock()
        oldest = max(now - job.created_at for job in jobs)
        self.tally.oldest_age_ms = max(self.tally.oldest_age_ms, oldest)

    async def failed_elsewhere(self, job_ids: Sequence[str], reason: str) -> None:
        """Jobs Redis failed itself (ttl expired, stalled too often): DLQ, then ``failed``."""
        finals = [f for f in [await self._lookup(job_id) for job_id in job_ids] if f]
        left = await self.failures.record(finals)
        self.tally.failed_elsewhere += len(finals) - len(left)
        # Flows: their parents hear now (a parent not told is caught by the reconciler).
        await self.flows.failed_for_good([f for f in finals if f.job_id not in left])
        if left:
            # The reconciler finds these (failed in Redis, live in the table) and syncs them.
            logger.warning("could not record %d %s jobs as failed", len(left), reason)

    async def _lookup(self, job_id: str) -> FinalFailure | None:
        job = await self.queue.get_job(job_id)
        if job is not None:
            return FinalFailure(
                self.queue.name,
                job_id,
                job.group,
                job.attempts_made,
                job.error,
                job.data,
                job.options.as_dict(),
            )
        record = await asyncio.to_thread(self.store.get, self.queue.name, job_id, resolve=False)
        if record is None:
            return None
        error = {"message": "failed in Redis", "type": "LostError"}
        return FinalFailure(
            self.queue.name,
            job_id,
            record.tenant,
            record.attempts_made,
            error,
            record.data,
            record.options,
        )


async def _nothing() -> list[str]:
    return []
