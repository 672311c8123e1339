"""Operator controls on single jobs: read a job's log, cancel a running job, and change
a job that has not started. The API, CLI and dashboard call these through ``JobControls``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from corral.errors import JobNotFoundError, JobStateError, ScriptCode, raise_for_code
from corral.guards import aws, guarded_aws, redis_guard
from corral.intake import Intake
from corral.job import ResolvedOptions
from corral.job_logs import LogPage, read_logs
from corral.key_groups import (
    KeyGroupChange,
    KeyGroupLimits,
    KeyGroupStore,
    in_force,
    listing,
    seed,
    set_key_group,
)
from corral.limits import (
    EffectiveLimits,
    LimitsChange,
    LimitsStore,
    change_limits,
    runtime_overrides,
)
from corral.queue import Queue
from corral.queue_types import decode_options
from corral.scripts import run_queue_script
from corral.service import LIVE_STATUSES, JobService
from corral.validation import require_identifier

CancelAnswer = Literal["cancelled", "cancelling"]


@dataclass(frozen=True)
class JobChange:
    """What ``PATCH /jobs/{queue}/{id}`` may change; None leaves a field as it is."""

    data: Any = None
    priority: int | None = None
    delay: int | None = None


async def request_cancel(queue: Queue, job_id: str) -> int:
    """Flag a running job for cancellation (request_cancel.lua's code)."""
    require_identifier(job_id, "job id")
    return int(await run_queue_script(queue.redis, queue.keys, "request_cancel", [job_id]))


async def update_waiting(
    queue: Queue, job_id: str, data_json: str | None, priority: int | None, delay: int | None
) -> tuple[ResolvedOptions, str]:
    """Change a job that has not started; returns its options and data as Redis now holds them."""
    require_identifier(job_id, "job id")
    args = [
        queue.clock(),
        job_id,
        queue.definition.group_concurrency,
        data_json or "",
        "" if priority is None else priority,
        "" if delay is None else delay,
    ]
    reply = await run_queue_script(queue.redis, queue.keys, "update_waiting", args)
    if isinstance(reply, int):
        raise_for_code(reply, job_id)
    return decode_options(reply[1]), reply[2]


class JobControls:
    """Job and queue controls beside ``JobService``'s enqueue, status, cancel and retry."""

    def __init__(self, service: JobService) -> None:
        self.service = service
        self.limits_store = LimitsStore(service.store.client, service.store.table)
        self.key_group_store = KeyGroupStore(service.store.client, service.store.table)

    async def limits(self, queue: str) -> EffectiveLimits:
        """The limits the queue's claims use now (deployed, or set at runtime)."""
        q = self.service.queue(queue)
        with redis_guard():
            overrides = await guarded_aws(runtime_overrides(q, self.limits_store))
        return EffectiveLimits.of(q.definition, overrides)

    async def change_limits(self, queue: str, change: LimitsChange, by: str) -> EffectiveLimits:
        """Set limits at runtime (admin): durable first, then in force at the next claim."""
        q = self.service.queue(queue)
        with redis_guard():
            limits = await guarded_aws(
                change_limits(q, self.limits_store, change, by, self.service.clock())
            )
        await self.service.waker.wake(queue)  # a raised limit may let waiting jobs start
        return limits

    async def key_group(self, queue: str, key_id: str) -> dict[str, Any]:
        """A key group's limits in force (runtime, else its jobs' own) and jobs running."""
        q = self.service.queue(queue)
        require_identifier(key_id, "group id")
        with redis_guard():
            await guarded_aws(seed(q, self.key_group_store))
            return await in_force(q, key_id)

    async def key_groups(self, queue: str, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """The queue's key groups, busiest first, and how many there are."""
        q = self.service.queue(queue)
        with redis_guard():
            await guarded_aws(seed(q, self.key_group_store))
            return await listing(q, limit)

    async def set_key_group(
        self, queue: str, key_id: str, limits: KeyGroupLimits, by: str
    ) -> KeyGroupChange:
        """Set a key group's limits at runtime (admin): durable first, then in force.
        The caller audits the change (old and new limits)."""
        q = self.service.queue(queue)
        require_identifier(key_id, "group id")
        now = self.service.clock()
        with redis_guard():
            answer = await guarded_aws(
                set_key_group(q, self.key_group_store, key_id, limits, by, now)
            )
        await self.service.waker.wake(queue)  # a raised limit may let held jobs start
        return answer

    async def logs(
        self, queue: str, job_id: str, tenant: str | None, cursor: int, limit: int
    ) -> LogPage:
        """The caller's job's log lines from ``cursor`` (empty once Redis dropped the job)."""
        await self.service.record(queue, job_id, tenant)
        with redis_guard():
            return await read_logs(self.service.queue(queue), job_id, cursor, limit)

    async def cancel(self, queue: str, job_id: str, tenant: str | None) -> CancelAnswer:
        """Cancel a pending job at once, or ask a running one to stop (it ends cancelled)."""
        q = self.service.queue(queue)
        # Two tries: a running job may be handed back (released) between the two scripts.
        for _ in range(2):
            try:
                await self.service.cancel(queue, job_id, tenant)
                return "cancelled"
            except JobStateError as exc:
                if exc.state != "active":
                    raise
            with redis_guard():
                code = await request_cancel(q, job_id)
            if code == 1:
                return "cancelling"
            if code != ScriptCode.NOT_STARTED:
                raise_for_code(code, job_id)
        raise JobStateError(f"job {job_id} is changing state; try again", "active")

    async def update(self, queue: str, job_id: str, tenant: str | None, change: JobChange) -> None:
        """Change a job that has not started: Redis first (atomic), then its record.

        Raises InvalidPayloadError (422), JobStateError (409), JobNotFoundError (404).
        """
        record = await self.service.record(queue, job_id, tenant)
        if record.status not in LIVE_STATUSES:
            raise JobStateError(f"job {job_id} is already {record.status}", record.status)
        q = self.service.queue(queue)
        data_json = None
        if change.data is not None:
            intake = Intake(q, self.service.store, record.tenant, self.service.clock)
            data_json = intake.validate_data(change.data).model_dump_json(by_alias=True)
        options = dict(record.options)
        try:
            with redis_guard():
                opts, data = await update_waiting(
                    q, job_id, data_json, change.priority, change.delay
                )
            options.update(priority=opts.priority, delay=opts.delay)
        except JobNotFoundError:
            # Redis lost it (a flush): the record alone holds it until it is restored.
            data = data_json or json.dumps(record.data)
            if change.priority is not None:
                options["priority"] = change.priority
            if change.delay is not None:
                options["delay"] = self.service.clock() + change.delay - record.created_at
        update = self.service.store.update_pending
        if not await aws("dynamodb", update, queue, job_id, json.loads(data), options):
            raise JobStateError(f"job {job_id} started before the change was recorded", "active")
        if change.delay == 0:
            await self.service.waker.wake(queue)  # due now: an idle queue's poller starts
