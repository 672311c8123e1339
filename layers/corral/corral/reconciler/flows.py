"""The reconciler's part for flows: make Redis agree with the parents' records.

For each parent of a queue that the job table holds as waiting for its children (or as
released but never started), and each parent Redis holds as waiting for its children:

- a child that finished in the table but was never counted on its parent (a crash before
  the durable half) is counted now;
- a parent Redis lost (a flush) is put back as waiting for its children;
- every counted child is replayed into Redis (``child_done.lua`` is idempotent), which
  releases (or fails) a parent whose last child was counted but never told to Redis.

Parents changed moments ago are left for the next run (a ``POST /flows`` in flight).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.clock import now_ms
from corral.flows.link import FlowLinker, payload_of
from corral.flows.store import FlowStore, ParentState, parent_state
from corral.job import JobStatus
from corral.queue import Queue
from corral.queue_types import flow_add_args
from corral.reconciler.run import resolved_options, restore_fields
from corral.records import Item, JobRecord
from corral.scripts import run_queue_script

logger = logging.getLogger(__name__)

FINISHED = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass
class FlowRepairReport:
    checked: int = 0
    restored: list[str] = field(default_factory=list)
    counted: list[str] = field(default_factory=list)
    replayed: int = 0


class FlowRepair:
    """Repairs the flow parents of some queues.

    Args:
        queues: the queues by name.
        linker: the two halves of "a child finished".
        grace_ms: parents changed more recently than this are left alone.
        clock: now in epoch ms.
    """

    def __init__(
        self,
        queues: Mapping[str, Queue],
        linker: FlowLinker,
        *,
        grace_ms: int = 10_000,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.queues = dict(queues)
        self.linker = linker
        self.store: FlowStore = linker.store
        self.grace_ms = grace_ms
        self.clock = clock

    async def repair(self, queue: Queue) -> FlowRepairReport:
        """Repair the parents of one queue."""
        report = FlowRepairReport()
        items = await asyncio.to_thread(self._candidates, queue)
        for job_id in await self._waiting_in_redis(queue):
            if job_id not in items:  # e.g. failed or cancelled in the table, not in Redis yet
                item = await asyncio.to_thread(self.store.item, queue.name, job_id)
                if item is not None:
                    items[job_id] = item
        for item in items.values():
            state = parent_state(item)
            if state is None or self._young(state.record):
                continue
            report.checked += 1
            await self._repair_parent(queue, state, report)
        return report

    def _candidates(self, queue: Queue) -> dict[str, Item]:
        found: dict[str, Item] = {}
        for status in (JobStatus.WAITING_CHILDREN, JobStatus.PENDING):
            for item in self.store.parents(queue.name, status):
                if status is JobStatus.PENDING and item.get("attemptsMade", {}).get("N") != "0":
                    continue  # it ran: the plain reconciler's to look after
                found[item["jobId"]["S"]] = item
        return found

    async def _waiting_in_redis(self, queue: Queue) -> list[str]:
        members = await queue.redis.zrange(queue.keys.waiting_children, 0, -1)
        return [str(m) for m in members]

    async def _repair_parent(
        self, queue: Queue, state: ParentState, report: FlowRepairReport
    ) -> None:
        record = state.record
        live = await queue.redis.hget(queue.keys.job(record.job_id), "state")
        if live == JobStatus.FAILED.value and record.status is JobStatus.WAITING_CHILDREN:
            # Re-armed in the table (its failed child is retried), not yet in Redis.
            again = [c.job_id for c in state.children if c.job_id not in state.done]
            await run_queue_script(queue.redis, queue.keys, "rearm_parent", [record.job_id, *again])
            live = JobStatus.WAITING_CHILDREN.value
        if live not in (None, JobStatus.WAITING_CHILDREN.value):
            return  # Redis already moved it on: released, running or finished
        links = [(c.queue, c.job_id) for c in state.children]
        children = await asyncio.to_thread(self.store.records, links)
        await self._restore_children(state, children, report)
        for link, child in zip(state.children, children, strict=True):
            if child is None or child.status not in FINISHED or link.job_id in state.done:
                continue
            # Finished but never counted: the poller died before the durable half.
            kind = "c" if child.status is JobStatus.COMPLETED else "f"
            await self.linker.record(
                queue.name, record.job_id, link.job_id, kind, payload_of(child), link.ignore_failure
            )
            report.counted.append(link.job_id)
        fresh = await asyncio.to_thread(self.store.parent, queue.name, record.job_id)
        if fresh is None:
            return
        if fresh.record.status is JobStatus.CANCELLED:
            cancel: list[Any] = [self.clock(), record.job_id]
            await run_queue_script(queue.redis, queue.keys, "cancel_parent", cancel)
            return
        if live is None and await self._restore(queue, fresh):
            report.restored.append(record.job_id)
        report.replayed += await self.linker.replay(fresh, children)

    async def _restore_children(
        self, state: ParentState, children: list[JobRecord | None], report: FlowRepairReport
    ) -> None:
        """Put back pending leaf children Redis lost, with their link to this parent (the
        plain reconciler would restore them without it)."""
        parent = state.record
        for link, child in zip(state.children, children, strict=True):
            queue = self.queues.get(link.queue)
            if child is None or queue is None or child.status is not JobStatus.PENDING:
                continue
            if await queue.redis.exists(queue.keys.job(child.job_id)):
                continue
            item = await asyncio.to_thread(self.store.item, link.queue, child.job_id)
            if item is None or parent_state(item) is not None:
                continue  # a parent itself: its own queue's repair puts it back
            link_up = {"queue": parent.queue, "id": parent.job_id, "ignore": link.ignore_failure}
            options = resolved_options(queue, child).model_copy(update={"parent": link_up})
            fields = restore_fields(queue, child, self.clock(), options)
            args = [self.clock(), queue.definition.group_concurrency, 1, *fields]
            if await run_queue_script(queue.redis, queue.keys, "restore", args):
                report.restored.append(child.job_id)

    async def _restore(self, queue: Queue, state: ParentState) -> bool:
        record = state.record
        # A parent that is itself a child keeps its link; a root is marked as
        # Queue.add_parent marks it.
        flow = {"parent": state.parent} if state.parent is not None else {"flow_root": True}
        args = flow_add_args(
            self.clock(),
            record.job_id,
            record.tenant,
            json.dumps(record.data, separators=(",", ":")),
            resolved_options(queue, record).model_copy(update=flow),
            len(state.children),
            queue.definition.group_concurrency,
            created_at=record.created_at,
        )
        added = int(await run_queue_script(queue.redis, queue.keys, "flow_add", args))
        return added == 1

    def _young(self, record: JobRecord) -> bool:
        touched = max(record.created_at, record.updated_at or 0)
        return self.clock() - touched < self.grace_ms
