"""Schedules as the API and the scheduler use them: create, pause, resume, delete, apply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from corral.definition import QueueRegistry
from corral.errors import CorralError
from corral.ids import new_job_id
from corral.intake import TENANT_FIELD, TenantMismatchError
from corral.job import JobOptions
from corral.queue import NewJob, now_ms
from corral.quotas import Quotas, check_count
from corral.schedules.model import Schedule, ScheduleCreate, ScheduleSpec
from corral.schedules.occurrences import first_from, job_id, occurrences_from, plan
from corral.schedules.sink import JobSink
from corral.schedules.store import ScheduleStore

logger = logging.getLogger(__name__)

TICK_MS = 60_000
"""How often the scheduler runs (its EventBridge rule)."""
MARGIN_MS = 15_000
"""Extra look-ahead per tick, so a tick that starts a little late misses nothing."""
WRITE_ATTEMPTS = 3
"""Pause and resume re-read and retry when a tick wrote the schedule in between."""


class ScheduleNotFoundError(CorralError):
    """The tenant has no schedule with that id."""


class ScheduleExistsError(CorralError):
    """The tenant already has a schedule with that id."""


class ScheduleConflictError(CorralError):
    """The schedule changed while this write was being made; try again."""


@dataclass(frozen=True)
class Applied:
    """What applying one schedule did."""

    enqueued: int = 0
    duplicates: int = 0
    skipped: int = 0
    saved: bool = True


@dataclass
class TickReport:
    """What one scheduler tick did, for logs and metrics."""

    now: int
    schedules: int = 0
    applied: int = 0
    enqueued: int = 0
    duplicates: int = 0
    skipped: int = 0
    conflicts: int = 0
    errors: int = 0


class ScheduleService:
    """Tenant-scoped schedule operations and the scheduler's tick.

    Args:
        store: where schedules are kept.
        sink: where their jobs go.
        registry: the queues (a schedule's data is validated against its queue's model).
        clock: now, in epoch ms.
        tick_ms, margin_ms: each apply enqueues what is due before ``now + tick + margin``.
        concurrency: schedules a tick applies at once.
    """

    def __init__(
        self,
        store: ScheduleStore,
        sink: JobSink,
        registry: QueueRegistry,
        *,
        clock: Callable[[], int] = now_ms,
        tick_ms: int = TICK_MS,
        margin_ms: int = MARGIN_MS,
        concurrency: int = 16,
        max_per_tenant: int = Quotas.schedules,
    ) -> None:
        self.store = store
        self.sink = sink
        self.registry = registry
        self.clock = clock
        self.look_ahead = tick_ms + margin_ms
        self.concurrency = concurrency
        self.max_per_tenant = max_per_tenant

    # -- tenant operations -------------------------------------------------------------

    def checked_data(self, tenant: str, spec: ScheduleSpec) -> dict[str, Any]:
        """The spec's data with the tenant filled in, validated against its queue."""
        definition = self.registry.get(spec.queue)
        data = dict(spec.data)
        field = definition.payload.model_fields.get(TENANT_FIELD)
        if field is not None:
            alias = field.alias or TENANT_FIELD
            given = data.get(alias, data.get(TENANT_FIELD))
            if given is None:
                data[alias] = tenant
            elif given != tenant:
                raise TenantMismatchError("data.subAccountId names another tenant")
        # A payload the queue would reject fails here, at creation, not on every tick.
        definition.payload.model_validate(data)
        return data

    async def create(self, tenant: str, body: ScheduleCreate) -> Schedule:
        """Store a new schedule and enqueue what is due before the next tick.

        Raises:
            UnknownQueueError, pydantic.ValidationError, TenantMismatchError,
            ScheduleExistsError, QuotaExceededError (the tenant has ``max_per_tenant``).
        """
        now = self.clock()
        data = self.checked_data(tenant, body)
        if self.max_per_tenant:
            count = await asyncio.to_thread(self.store.count, tenant, self.max_per_tenant)
            check_count("schedules", count, self.max_per_tenant)
        fields = body.model_dump(exclude={"id", "data"})
        schedule = Schedule(
            **fields,
            data=data,
            id=body.id or new_job_id(now),
            tenant=tenant,
            next_run=first_from(body, now, now),
            created_at=now,
            updated_at=now,
        )
        if not await asyncio.to_thread(self.store.create, schedule):
            raise ScheduleExistsError(f"schedule {schedule.id} already exists")
        return await self._apply_now(schedule, now)

    async def _apply_now(self, schedule: Schedule, now: int) -> Schedule:
        """Enqueue what is due before the next tick; if that fails, the tick does it."""
        try:
            return (await self.apply(schedule, now))[0]
        except Exception:
            # The schedule is stored, so the request succeeded; a run due before the next
            # tick may start late (the catch-up policy decides), but it is not lost.
            logger.warning(
                "schedule %s/%s: first enqueue failed",
                schedule.tenant,
                schedule.id,
                exc_info=True,
            )
            return schedule

    def page(
        self, tenant: str, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Schedule], str | None]:
        """A page of the tenant's schedules and the cursor of the next one."""
        return self.store.page(tenant, limit, cursor)

    def get(self, tenant: str, schedule_id: str) -> Schedule:
        schedule = self.store.get(tenant, schedule_id)
        if schedule is None:
            raise ScheduleNotFoundError(f"schedule {schedule_id} not found")
        return schedule

    async def pause(self, tenant: str, schedule_id: str) -> Schedule:
        """Stop a schedule and cancel its jobs that have not started yet."""
        for _ in range(WRITE_ATTEMPTS):
            schedule = await asyncio.to_thread(self.get, tenant, schedule_id)
            if schedule.paused:
                return schedule
            now = self.clock()
            pending = self._pending(schedule, now)
            count = max(0, schedule.count - len(pending))
            try:
                paused = await self._write(schedule, now, paused=True, count=count)
            except ScheduleConflictError:
                continue  # a tick moved it meanwhile: read it again
            await self._cancel(schedule, pending)
            return paused
        raise ScheduleConflictError(f"schedule {schedule_id} keeps changing; try again")

    async def resume(self, tenant: str, schedule_id: str) -> Schedule:
        """Restart a paused schedule from now; occurrences during the pause do not run."""
        for _ in range(WRITE_ATTEMPTS):
            schedule = await asyncio.to_thread(self.get, tenant, schedule_id)
            if not schedule.paused:
                return schedule
            now = self.clock()
            done = schedule.limit is not None and schedule.count >= schedule.limit
            try:
                resumed = await self._write(
                    schedule,
                    now,
                    paused=False,
                    # A new generation gives new job ids: the cancelled jobs keep the old ones.
                    generation=schedule.generation + 1,
                    next_run=None if done else first_from(schedule, now, schedule.created_at),
                )
            except ScheduleConflictError:
                continue
            return await self._apply_now(resumed, now)
        raise ScheduleConflictError(f"schedule {schedule_id} keeps changing; try again")

    async def delete(self, tenant: str, schedule_id: str) -> Schedule:
        """Delete a schedule and cancel its jobs that have not started yet."""
        schedule = await asyncio.to_thread(self.store.delete, tenant, schedule_id)
        if schedule is None:
            raise ScheduleNotFoundError(f"schedule {schedule_id} not found")
        if not schedule.paused:
            await self._cancel(schedule, self._pending(schedule, self.clock()))
        return schedule

    async def _write(self, schedule: Schedule, now: int, **changes: Any) -> Schedule:
        new = schedule.model_copy(
            update={**changes, "version": schedule.version + 1, "updated_at": now}
        )
        # boto3 blocks: in a thread, so that concurrent applies overlap their writes.
        if not await asyncio.to_thread(self.store.save, new, schedule.version):
            raise ScheduleConflictError(f"schedule {schedule.id} changed meanwhile")
        return new

    def _pending(self, schedule: Schedule, now: int) -> list[int]:
        """Occurrences already enqueued whose time has not come (delayed jobs)."""
        end = now + self.look_ahead if schedule.next_run is None else schedule.next_run
        times = []
        for when in occurrences_from(schedule, now + 1, schedule.created_at):
            if when >= end:
                break
            times.append(when)
        return times

    async def _cancel(self, schedule: Schedule, times: Iterable[int]) -> None:
        ids = [job_id(schedule, when) for when in times]
        if ids:
            await self.sink.cancel(schedule.queue, schedule.tenant, ids)

    # -- the scheduler -------------------------------------------------------------------

    async def apply(self, schedule: Schedule, now: int) -> tuple[Schedule, Applied]:
        """Enqueue the schedule's occurrences due before the next tick, then move its cursor.

        Jobs go first and the cursor second: a crash between the two only makes the
        next tick enqueue the same job ids again, which the queue ignores.
        """
        due = plan(schedule, now, now + self.look_ahead)
        duplicates = 0
        if due.times:
            jobs = [
                NewJob(
                    schedule.data,
                    JobOptions(job_id=job_id(schedule, when), delay=max(0, when - now)),
                    group=schedule.tenant,
                )
                for when in due.times
            ]
            results = await self.sink.enqueue(schedule.queue, jobs)
            duplicates = sum(1 for r in results if r.deduplicated)
        applied = Applied(len(due.times) - duplicates, duplicates, due.skipped)
        if (due.next_run, due.count) == (schedule.next_run, schedule.count):
            return schedule, applied
        try:
            moved = await self._write(schedule, now, next_run=due.next_run, count=due.count)
        except ScheduleConflictError:
            # Another tick (or a pause) wrote it first; its view wins, the ids kept us safe.
            return schedule, Applied(applied.enqueued, duplicates, due.skipped, saved=False)
        return moved, applied

    def due(self, schedule: Schedule, now: int) -> bool:
        """Whether a tick at ``now`` has anything to enqueue for ``schedule``."""
        return (
            not schedule.paused
            and schedule.next_run is not None
            and schedule.next_run < now + self.look_ahead
        )

    async def tick(self) -> TickReport:
        """Apply every due schedule; a failing schedule is logged and never stops the rest.

        Schedules are applied ``concurrency`` at a time: each costs a Redis call and a
        DynamoDB write, and waiting on them one by one would bound a tick's schedules.
        """
        report = TickReport(now=self.clock())
        due = []
        for schedule in self.store.scan():
            report.schedules += 1
            if self.due(schedule, report.now):
                due.append(schedule)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(schedule: Schedule) -> None:
            async with gate:
                try:
                    _, applied = await self.apply(schedule, report.now)
                except Exception:
                    report.errors += 1
                    logger.exception("schedule %s/%s failed", schedule.tenant, schedule.id)
                    return
            report.applied += 1
            report.enqueued += applied.enqueued
            report.duplicates += applied.duplicates
            report.skipped += applied.skipped
            report.conflicts += 0 if applied.saved else 1

        await asyncio.gather(*(one(schedule) for schedule in due))
        return report
