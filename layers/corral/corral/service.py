"""What the API (and the CLI and dashboard) call: Queue + JobStore + DLQ, in the right order.

Order matters for invariant 1: a job is written to DynamoDB before Redis, and the caller
hears "accepted" only once both hold it; if Redis fails, the record is taken back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from corral.clock import now_ms
from corral.definition import QueueRegistry
from corral.dlq import DeadLetter, DeadLetterQueue, RedriveReport
from corral.errors import CorralError, JobNotFoundError, JobStateError, UnknownQueueError
from corral.events import announce as lifecycle
from corral.events.sink import EventSink, NoEvents
from corral.guards import REDIS_DOWN, ServiceUnavailableError, aws, redis_guard
from corral.index_marker import IndexMarker
from corral.intake import Accepted, Intake, Rejected
from corral.job import TERMINAL_STATES, JobOptions, JobState, JobStatus
from corral.keys import PREFIX
from corral.queue import Queue, QueueCounts
from corral.quotas import Quotas, admit_enqueue
from corral.records import JobRecord
from corral.redrive_record import record_to_requeue
from corral.running_jobs import running_page
from corral.store import JobStore
from corral.store_index import Page
from corral.wake import NoWake, PollerWaker

LIVE_STATUSES = frozenset({JobStatus.PENDING, JobStatus.PROCESSING})


class JobService:
    """Job operations for one deployment.

    Args:
        queues: the deployment's queues by name.
        store: the job table.
        dlq: the dead-letter queue (None: redrive is unavailable).
        waker: wakes a poller after an enqueue.
        clock: now in epoch ms.
        events: where ``Job Queued`` and ``Job Cancelled`` go (none: nowhere).
        marker: notices, at each enqueue, that Redis lost the queue (none: the schedule will);
            given, every queue's enqueues test the marker (``Queue.marker``).
    """

    def __init__(
        self,
        queues: Mapping[str, Queue],
        store: JobStore,
        dlq: DeadLetterQueue | None = None,
        waker: PollerWaker | None = None,
        clock: Callable[[], int] = now_ms,
        events: EventSink | None = None,
        marker: IndexMarker | None = None,
    ) -> None:
        self.queues = dict(queues)
        if marker is not None:
            for q in self.queues.values():
                q.marker = marker
        self.store = store
        self.dlq = dlq
        self.waker = waker or NoWake()
        self.events = events or NoEvents()
        self.clock = clock

    @classmethod
    def build(
        cls,
        registry: QueueRegistry,
        redis: Any,
        store: JobStore,
        *,
        prefix: str = PREFIX,
        clock: Callable[[], int] = now_ms,
        **kwargs: Any,
    ) -> JobService:
        """A service with one ``Queue`` per definition of ``registry``."""
        queues = {d.name: Queue(redis, d, prefix=prefix, clock=clock) for d in registry}
        return cls(queues, store, clock=clock, **kwargs)

    def queue(self, name: str) -> Queue:
        try:
            return self.queues[name]
        except KeyError:
            raise UnknownQueueError(f"unknown queue {name!r}") from None

    # -- enqueue ----------------------------------------------------------------------

    async def enqueue(
        self,
        queue: str,
        data: Any,
        options: JobOptions | None,
        tenant: str,
        quotas: Quotas | None = None,
    ) -> Accepted:
        """Accept one job (see ``enqueue_many``)."""
        return (await self.enqueue_many(queue, [(data, options)], tenant, quotas))[0]

    async def enqueue_many(
        self,
        queue: str,
        jobs: Sequence[tuple[Any, JobOptions | None]],
        tenant: str,
        quotas: Quotas | None = None,
    ) -> list[Accepted]:
        """Validate every job, write their records, then add them to Redis in one call.

        All or nothing. ``quotas``: the tenant's enqueue rate and waiting-jobs quotas (the
        API's callers); None for what was accepted before (schedules).

        Raises InvalidPayloadError (nothing written), TenantMismatchError,
        JobIdTakenError, ServiceUnavailableError, QuotaExceededError (nothing left behind).
        """
        answers = await self.enqueue_batch(queue, jobs, tenant, atomic=True, quotas=quotas)
        return [a for a in answers if isinstance(a, Accepted)]

    async def enqueue_batch(
        self,
        queue: str,
        jobs: Sequence[tuple[Any, JobOptions | None]],
        tenant: str,
        *,
        atomic: bool,
        positions: Sequence[int] | None = None,
        quotas: Quotas | None = None,
    ) -> list[Accepted | Rejected]:
        """Accept jobs one by one (``atomic``: all or none); one answer per job, in order.

        ``positions`` are the jobs' indexes in the caller's request, for error locations.
        Past a quota the whole call is refused (QuotaExceededError), nothing written.
        """
        q = self.queue(queue)
        max_waiting = 0
        if quotas is not None:
            with redis_guard():
                await admit_enqueue(q.redis, quotas, tenant, len(jobs), self.clock(), q.keys.prefix)
            max_waiting = quotas.waiting_jobs
        intake = Intake(q, self.store, tenant, self.clock, max_waiting)
        answers = await intake.run_each(jobs, atomic=atomic, positions=positions)
        taken = [(job, a) for job, a in zip(jobs, answers, strict=True) if isinstance(a, Accepted)]
        if any(not a.deduplicated for _, a in taken):
            await self.waker.wake(queue)
        await lifecycle.announce(
            self.events,
            lifecycle.queued(
                queue, tenant, [j for j, _ in taken], [a for _, a in taken], self.clock()
            ),
        )
        return answers

    def problems(
        self,
        queue: str,
        datas: Sequence[Any],
        tenant: str,
        positions: Sequence[int] | None = None,
    ) -> list[dict[str, Any]]:
        """Every item's field errors, as ``enqueue_many`` would find them; nothing is written.

        ``positions`` are the items' indexes in the request (default: their order)."""
        intake = Intake(self.queue(queue), self.store, tenant, self.clock)
        return intake.problems(datas, positions)

    # -- one job -----------------------------------------------------------------------

    async def record(self, queue: str, job_id: str, tenant: str | None) -> JobRecord:
        """The caller's job record; another tenant's job is 'not found'.

        ``tenant`` None is an admin's call: every tenant's jobs, as in ``list_jobs``.
        """
        self.queue(queue)
        record = await aws("dynamodb", self.store.get, queue, job_id)
        if record is None or (tenant is not None and record.tenant != tenant):
            raise JobNotFoundError(f"job {job_id} not found in queue {queue}")
        return record

    async def get(self, queue: str, job_id: str, tenant: str | None) -> JobRecord:
        """The job, with Redis's live state (running, progress) merged into the record."""
        record = await self.record(queue, job_id, tenant)
        if record.status not in LIVE_STATUSES:
            return record
        try:
            live = await self.queue(queue).get_job(job_id)
        except REDIS_DOWN:
            return record  # the record alone is still a true, if older, answer
        if live is None or live.status not in LIVE_STATUSES:
            return record
        record.status = live.status
        record.progress = live.progress if live.progress is not None else record.progress
        record.attempts_made = max(record.attempts_made, live.attempts_made)
        if live.state is JobState.ACTIVE:
            record.started_at = live.processed_at or record.started_at
        return record

    async def cancel(self, queue: str, job_id: str, tenant: str | None) -> JobRecord:
        """Cancel a job that has not started: Redis first (atomic), then the record.

        Returns the record as it was found (its tenant says whose job was cancelled).
        """
        record = await self.record(queue, job_id, tenant)
        if record.status not in LIVE_STATUSES:
            raise JobStateError(f"job {job_id} is already {record.status}", record.status)
        # Redis may have lost it (a flush): then the record alone decides.
        with redis_guard(), contextlib.suppress(JobNotFoundError):
            await self.queue(queue).cancel(job_id)
        await aws("dynamodb", self.store.cancel, queue, job_id)
        await lifecycle.announce(self.events, [lifecycle.cancelled(record, self.clock())])
        return record

    async def retry(self, queue: str, job_id: str, tenant: str | None) -> JobRecord:
        """Run a failed (or cancelled) job again with a fresh attempt budget; returns its
        reopened (pending) record."""
        await self.record(queue, job_id, tenant)
        with redis_guard():  # fail before the record changes
            live = await self.queue(queue).get_job(job_id)
        if live is not None and live.state is JobState.ACTIVE:
            # Its failure is recorded but Redis has not settled it yet: a moment early.
            raise JobStateError(f"job {job_id} is still finishing; retry shortly", "active")
        record = await aws("dynamodb", self.store.reopen, queue, job_id)
        await self.requeue(record)
        await self.waker.wake(queue)
        return record

    async def promote(self, queue: str, job_id: str, tenant: str | None) -> JobRecord:
        """Make a delayed job due now and wake a poller, so it starts at once; returns its
        (pending) record.

        Raises JobNotFoundError, or JobStateError when the job is not delayed.
        """
        record = await self.record(queue, job_id, tenant)
        if record.status is not JobStatus.PENDING:
            raise JobStateError(f"job {job_id} is {record.status}, not delayed", record.status)
        with redis_guard():
            try:
                await self.queue(queue).promote(job_id)
            except JobNotFoundError:
                # The record is pending but Redis lost the job: the reconciler restores it.
                raise JobStateError(
                    f"job {job_id} is being restored; promote it shortly", "restoring"
                ) from None
        await self.waker.wake(queue)
        return record

    async def requeue(self, record: JobRecord) -> None:
        """Put a pending record's job back in Redis: retry it there, or add it anew."""
        q = self.queue(record.queue)
        with redis_guard():
            try:
                await q.retry(record.job_id)
            except JobNotFoundError:
                options = JobOptions.model_validate(record.options).model_copy(
                    update={"job_id": record.job_id, "deduplication": None, "delay": 0}
                )
                await q.add(record.data, options, group=record.tenant)
            except JobStateError:
                pass  # Redis already holds it as pending or running

    # -- listing and counts --------------------------------------------------------------

    async def list_jobs(
        self,
        queue: str,
        *,
        tenant: str | None,
        status: JobStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Jobs newest first: ``tenant``'s, or every tenant's when None (admins).

        Running jobs come from Redis: their records say pending until the outcome.
        """
        q = self.queue(queue)
        if status is JobStatus.PROCESSING:
            return await running_page(q, tenant, limit)
        return await aws(
            "dynamodb",
            self.store.list_jobs,
            queue,
            status=status,
            tenant=tenant,
            limit=limit,
            cursor=cursor,
        )

    async def stats(self, queue: str) -> QueueCounts:
        """Redis counts, plus the failed records (the jobs in the dead-letter queue)."""
        q = self.queue(queue)
        with redis_guard():
            counts = await q.counts()
            waiting_children = int(await q.redis.zcard(q.keys.waiting_children))
        dead = await aws("dynamodb", self.store.count, queue, JobStatus.FAILED)
        update = {"dead_letter": dead, "waiting_children": waiting_children}
        return counts.model_copy(update=update)

    # -- admin ---------------------------------------------------------------------------

    async def pause(self, queue: str, paused: bool) -> bool:
        """Pause or resume a queue; True if that changed anything."""
        q = self.queue(queue)
        with redis_guard():
            changed = await (q.pause() if paused else q.resume())
        if not paused:
            # Pollers leave a paused queue: without a wake-up its jobs would wait for the tick.
            await self.waker.wake(queue)
        return changed

    async def clean(
        self, queue: str, states: Sequence[JobState], grace_ms: int, limit: int
    ) -> list[str]:
        """Remove finished jobs older than ``grace_ms`` from the counts and the listings
        (Redis, then their records), or cancel pending ones (their records say so)."""
        q = self.queue(queue)
        removed: list[str] = []
        for state in states:
            with redis_guard():
                ids = await q.clean(state, grace_ms, limit - len(removed))
            if state in TERMINAL_STATES:
                status = JobStatus(state.value)
                ids = await self._forget_finished(queue, status, ids, grace_ms, limit)
            else:
                for job_id in ids:
                    with contextlib.suppress(CorralError):
                        await aws("dynamodb", self.store.cancel, queue, job_id)
            removed.extend(ids)
            if len(removed) >= limit:
                break
        return removed

    async def _forget_finished(
        self, queue: str, status: JobStatus, ids: list[str], grace_ms: int, limit: int
    ) -> list[str]:
        """Delete the records of the jobs Redis dropped, and of older ones its retention
        dropped before (the listings read the records); returns every id removed."""
        older = await aws(
            "dynamodb", self.store.finished_before, queue, status, self.clock() - grace_ms, limit
        )
        todo = list(dict.fromkeys([*ids, *older]))[: max(limit, len(ids))]
        deleted = set(await aws("dynamodb", self.store.delete_finished, queue, status, todo))
        return [job_id for job_id in todo if job_id in deleted or job_id in ids]

    async def redrive(self, queue: str, limit: int = 100) -> RedriveReport:
        """Move a queue's dead letters back, each deleted once its job is durable again."""
        self.queue(queue)
        if self.dlq is None:
            raise ServiceUnavailableError("sqs", "no dead-letter queue is configured")
        try:
            report = await self.dlq.redrive(queue, self._redrive_one, limit=limit)
        except (BotoCoreError, ClientError) as exc:
            raise ServiceUnavailableError("sqs", f"sqs call failed: {exc}") from exc
        if report.moved:
            await self.waker.wake(queue)
        return report

    async def _redrive_one(self, letter: DeadLetter) -> None:
        record = await record_to_requeue(self.store, letter, self.clock)
        if record is not None:
            await self.requeue(record)

    async def health(self) -> dict[str, bool]:
        """Whether Redis, DynamoDB and SQS answer."""
        checks: dict[str, bool] = {}
        redis = next(iter(self.queues.values())).redis if self.queues else None
        try:
            checks["redis"] = bool(redis is not None and await redis.ping())
        except Exception:
            checks["redis"] = False
        checks["dynamodb"] = await _ok(self.store.ping)
        if self.dlq is not None:
            checks["sqs"] = await _ok(self.dlq.approximate_count)
        return checks


async def _ok(fn: Callable[[], Any]) -> bool:
    try:
        await asyncio.to_thread(fn)
    except Exception:
        return False
    return True
