"""The reconciler: makes Redis agree with the job table, the record of truth.

For every record the table holds as pending or processing it looks at the job in Redis:

- waiting, delayed or active: nothing to do (an expired lease is recovered first);
- missing (a flush, a failover): put back with its options and the attempts it made,
  unless it is too young (an enqueue may be between its two writes) or it is recorded as
  processing and its last attempt could still be running somewhere;
- finished in Redis but not in the table (a crash between the two): the table is synced.

Restoring keeps the job's id, so a restored job that is already back in Redis is left
alone, and a job running during a flush is not started twice: its poller records the
outcome, and the reconciler waits out its timeout before it presumes the poller dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from corral.clock import now_ms
from corral.errors import CorralError
from corral.failures import FailureRecorder, FinalFailure, parse_json
from corral.job import JobStatus, ResolvedOptions
from corral.queue import Queue
from corral.queue_types import encode_options
from corral.records import JobRecord, OutcomeRecord
from corral.scripts import run_queue_script
from corral.store import JobStore
from corral.wake import NoWake, PollerWaker

if TYPE_CHECKING:
    from corral.reconciler.flows import FlowRepair

logger = logging.getLogger(__name__)

FIELDS = ("state", "attemptsMade", "result", "error")
LOST_RETRY_S = (0.5, 1.0, 2.0, 4.0)
"""Waits before trying again a queue whose reconcile failed just after Redis lost it."""
STALLED = {"message": "job stalled: its poller stopped and it had no attempts left"}


@dataclass
class ReconcileReport:
    """What one reconcile did, per queue and in total."""

    checked: int = 0
    restored: list[str] = field(default_factory=list)
    synced: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    waiting_out: int = 0
    stalled_recovered: int = 0
    young_until: int = 0
    """When the youngest record left for the next run passes the grace (epoch ms; 0: none)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "restored": len(self.restored),
            "synced": len(self.synced),
            "failed": len(self.failed),
            "waitingOut": self.waiting_out,
            "stalledRecovered": self.stalled_recovered,
        }

    @property
    def busy(self) -> bool:
        """Whether the run did anything: every run checks records and may wait some out."""
        return bool(self.restored or self.synced or self.failed or self.stalled_recovered)

    def add(self, later: ReconcileReport) -> None:
        """Fold in a later pass over the same queue."""
        self.checked = max(self.checked, later.checked)
        self.restored += later.restored
        self.synced += later.synced
        self.failed += later.failed
        self.waiting_out = later.waiting_out
        self.stalled_recovered += later.stalled_recovered
        self.young_until = later.young_until


class Reconciler:
    """Restores and syncs the jobs of some queues.

    Args:
        queues: the queues by name.
        store: the job table.
        failures: dead letters and failed records.
        waker: wakes a poller of a queue that got jobs back.
        grace_ms: records younger than this are left alone (an enqueue in flight).
        chunk: records checked per Redis round trip.
        clock: now in epoch ms.
        flows: repairs flow parents (and their lost children) before the rest.
    """

    def __init__(
        self,
        queues: Mapping[str, Queue],
        store: JobStore,
        failures: FailureRecorder,
        *,
        waker: PollerWaker | None = None,
        grace_ms: int = 10_000,
        chunk: int = 100,
        clock: Callable[[], int] = now_ms,
        flows: FlowRepair | None = None,
    ) -> None:
        self.queues = dict(queues)
        self.flows = flows
        self.store = store
        self.failures = failures
        self.waker = waker or NoWake()
        self.grace_ms = grace_ms
        self.chunk = chunk
        self.clock = clock

    async def run(
        self, names: Sequence[str] | None = None, *, lost: bool = False
    ) -> dict[str, ReconcileReport]:
        """Reconcile ``names`` (every queue by default); one queue's failure spares the rest.

        ``lost``: Redis just lost these queues, and the next scheduled run is minutes away.
        A queue whose reconcile fails (DynamoDB unavailable) is tried again a few times, and
        records too young to judge are lost as well: wait until they pass the grace and
        judge them too.
        """
        names = list(names or self.queues)
        if self.flows is not None:
            # Flow parents first: they put back their lost children with the link to them.
            for name in names:
                try:
                    await self.flows.repair(self.queues[name])
                except Exception:
                    logger.exception("repairing the flows of %s failed", name)
        retry_s = LOST_RETRY_S if lost else ()
        reports = await self._reconcile_each(names, retry_s)
        if lost:
            young = {name: r for name, r in reports.items() if r.young_until}
            if young:
                wait_ms = max(r.young_until for r in young.values()) - self.clock()
                await asyncio.sleep(max(0, wait_ms) / 1000)
                for name, later in (await self._reconcile_each(list(young), retry_s)).items():
                    young[name].add(later)
        return reports

    async def _reconcile_each(
        self, names: Sequence[str], retry_s: Sequence[float]
    ) -> dict[str, ReconcileReport]:
        """Reconcile each queue; those that failed are tried again after each of ``retry_s``."""
        reports: dict[str, ReconcileReport] = {}
        left = list(names)
        for wait_s in (0.0, *retry_s):
            if not left:
                break
            await asyncio.sleep(wait_s)
            for name in list(left):
                try:
                    reports[name] = await self.reconcile(self.queues[name])
                    left.remove(name)
                except Exception:
                    logger.exception("reconciling %s failed", name, extra={"queue": name})
        return reports

    async def reconcile(self, queue: Queue) -> ReconcileReport:
        """Reconcile one queue."""
        report = ReconcileReport()
        await self._recover_stalled(queue, report)
        records = await asyncio.to_thread(lambda: list(self.store.live_jobs(queue.name)))
        for start in range(0, len(records), self.chunk):
            await self._check(queue, records[start : start + self.chunk], report)
        if report.restored or report.stalled_recovered:
            await self.waker.wake(queue.name)
        return report

    async def _recover_stalled(self, queue: Queue, report: ReconcileReport) -> None:
        """Leases that ran out with no poller left to notice (an idle queue)."""
        requeued, failed = await queue.recover_stalled()
        report.stalled_recovered = len(requeued)
        if failed:
            jobs = [await queue.get_job(job_id) for job_id in failed]
            finals = [
                FinalFailure(
                    queue.name, j.id, j.group, j.attempts_made, j.error, j.data, j.options.as_dict()
                )
                for j in jobs
                if j is not None
            ]
            await self.failures.record(finals)
            report.failed.extend(f.job_id for f in finals)

    async def _states(self, queue: Queue, records: Sequence[JobRecord]) -> list[list[Any]]:
        async with queue.redis.pipeline(transaction=False) as pipe:
            for record in records:
                pipe.hmget(queue.keys.job(record.job_id), list(FIELDS))
            return list(await pipe.execute())

    async def _check(
        self, queue: Queue, records: Sequence[JobRecord], report: ReconcileReport
    ) -> None:
        report.checked += len(records)
        # A record changed moments ago may be between its table write and its Redis one
        # (an enqueue, a retry, a redrive): judge it on the next run.
        for young in (r for r in records if self._young(r)):
            touched = max(young.created_at, young.updated_at or 0)
            report.young_until = max(report.young_until, touched + self.grace_ms)
        records = [r for r in records if not self._young(r)]
        if not records:
            return
        states = await self._states(queue, records)
        missing: list[JobRecord] = []
        for record, (state, attempts, result, error) in zip(records, states, strict=True):
            if state is None:
                missing.append(record)
            elif state in ("completed", "failed", "cancelled"):
                made = max(int(attempts or 0), record.attempts_made)
                await self._sync(queue, record, state, made, result, error, report)
        # Judge the records as they are now: a poller may have started or finished one
        # since the listing (its "processing" write can land just after a flush).
        fresh = await self._still_live(missing) if missing else []
        to_restore = [r for r in fresh if not self._young(r) and self._lost(queue, r, report)]
        finals = [r for r in to_restore if r.attempts_made >= r.attempts]
        await self._fail_stalled(queue, finals, report)
        done = {r.job_id for r in finals}
        await self._restore(queue, [r for r in to_restore if r.job_id not in done], report)

    def _lost(self, queue: Queue, record: JobRecord, report: ReconcileReport) -> bool:
        """Whether a record missing from Redis is lost, rather than in flight."""
        now = self.clock()
        touched = max(record.created_at, record.updated_at or 0)
        if record.status is JobStatus.PROCESSING:
            timeout = resolved_options(queue, record).timeout
            lease_end = (record.started_at or touched) + timeout + queue.lease.margin_ms
            if now < lease_end:
                report.waiting_out += 1
                return False
        return True

    def _young(self, record: JobRecord) -> bool:
        touched = max(record.created_at, record.updated_at or 0)
        return self.clock() - touched < self.grace_ms

    async def _still_live(self, records: Sequence[JobRecord]) -> list[JobRecord]:
        """Re-read each record: a poller may have finished it since the listing."""
        fresh = await asyncio.gather(
            *(asyncio.to_thread(self.store.get, r.queue, r.job_id, resolve=False) for r in records)
        )
        live = (JobStatus.PENDING, JobStatus.PROCESSING)
        return [r for r in fresh if r is not None and r.status in live]

    async def _sync(
        self,
        queue: Queue,
        record: JobRecord,
        state: str,
        attempts: int,
        result: str | None,
        error: str | None,
        report: ReconcileReport,
    ) -> None:
        if state == "cancelled":
            with contextlib.suppress(CorralError):
                await asyncio.to_thread(self.store.cancel, queue.name, record.job_id)
            report.synced.append(record.job_id)
            return
        if state == "failed":
            final = FinalFailure(
                queue.name,
                record.job_id,
                record.tenant,
                attempts,
                parse_json(error),
                record.data,
                record.options,
            )
            if not await self.failures.record([final]):
                report.synced.append(record.job_id)
            return
        item = OutcomeRecord(
            queue.name,
            record.job_id,
            record.tenant,
            JobStatus.COMPLETED,
            attempts,
            self.clock(),
            payload=result if result is not None else "null",
        )
        if not await asyncio.to_thread(self.store.record_outcomes, [item]):
            report.synced.append(record.job_id)

    async def _fail_stalled(
        self, queue: Queue, records: Sequence[JobRecord], report: ReconcileReport
    ) -> None:
        finals = [
            FinalFailure(
                queue.name,
                r.job_id,
                r.tenant,
                r.attempts_made,
                {**STALLED, "type": "StalledError"},
                r.data,
                r.options,
            )
            for r in records
        ]
        left = set(await self.failures.record(finals))
        report.failed.extend(f.job_id for f in finals if f.job_id not in left)

    async def _restore(
        self, queue: Queue, records: Sequence[JobRecord], report: ReconcileReport
    ) -> None:
        if not records:
            return
        now = self.clock()
        args: list[Any] = [now, queue.definition.group_concurrency, len(records)]
        for record in records:
            args.extend(restore_fields(queue, record, now))
        restored = await run_queue_script(queue.redis, queue.keys, "restore", args)
        report.restored.extend(restored)
        if restored:
            logger.info(
                "restored %d jobs of %s to Redis",
                len(restored),
                queue.name,
                extra={"queue": queue.name},
            )


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def resolved_options(queue: Queue, record: JobRecord) -> ResolvedOptions:
    """A record's options resolved as at enqueue (its attempt budget as recorded)."""
    return queue.resolve(record.job_options(), attempts=record.attempts)


def restore_fields(
    queue: Queue, record: JobRecord, now: int, options: ResolvedOptions | None = None
) -> list[Any]:
    """The ``restore`` script's fields for one record, with ``options`` (default: its
    options resolved as at enqueue)."""
    opts = options or resolved_options(queue, record)
    # A job that never started keeps what is left of its delay; a retry runs now.
    delay = max(0, record.created_at + opts.delay - now) if record.attempts_made == 0 else 0
    expires_at = record.created_at + opts.delay + opts.ttl if opts.ttl else 0
    return [
        record.job_id,
        record.tenant,
        json.dumps(record.data, separators=(",", ":")),
        encode_options(opts),
        opts.priority,
        delay,
        opts.timeout,
        record.attempts_made,
        record.created_at,
        expires_at,
    ]
