"""What the API calls for flows: add one, show a node's links, cancel a parent's subtree."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from corral.errors import CorralError, JobStateError, UnknownQueueError
from corral.events import announce as lifecycle
from corral.flows.intake import AcceptedNode, FlowIntake, FlowNode
from corral.flows.link import FlowLinker
from corral.flows.store import FlowStore, children_of, parent_of
from corral.guards import aws, redis_guard
from corral.intake import Accepted
from corral.job import JobStatus
from corral.quotas import Quotas, admit_enqueue
from corral.records import JobRecord
from corral.scripts import run_queue_script
from corral.service import JobService

CancelOne = Callable[[str, str, str | None], Awaitable[str]]
"""Cancels one job that is not a waiting parent: "cancelled" or "cancelling"."""

FINISHED = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass(frozen=True)
class ChildView:
    job_id: str
    queue: str
    status: JobStatus | None
    """None: its record is gone (retention)."""


@dataclass
class FlowView:
    """A node's links: its parent, its children and, once all are done, what they left."""

    parent: dict[str, Any] | None = None
    children: list[ChildView] = field(default_factory=list)
    results: dict[str, Any] | None = None
    failures: dict[str, Any] | None = None


class FlowService:
    """Flow operations on top of a ``JobService`` (its queues, table and clock)."""

    def __init__(self, service: JobService) -> None:
        self.service = service
        self.store = FlowStore(service.store)
        if not service.queues:
            raise UnknownQueueError("this deployment has no queues")
        any_queue = next(iter(service.queues.values()))
        self.linker = FlowLinker(
            self.store, any_queue.redis, prefix=any_queue.keys.prefix, clock=service.clock
        )

    async def add(self, root: FlowNode, tenant: str, quotas: Quotas | None = None) -> AcceptedNode:
        """Add a flow (see ``FlowIntake``) and wake the pollers of the queues with work.
        ``quotas``: every node is taken from the tenant's enqueue budget, all at once."""
        if quotas is not None:
            q = self.service.queue(root.queue)
            with redis_guard():
                await admit_enqueue(
                    q.redis, quotas, tenant, _count(root), self.service.clock(), q.keys.prefix
                )
        intake = FlowIntake(self.service.queues, self.service.store, tenant, self.service.clock)
        accepted = await intake.run(root)
        for name in sorted(_leaf_queues(accepted)):
            await self.service.waker.wake(name)
        now = self.service.clock()
        events = [
            event
            for node, answer in _pairs(root, accepted)
            for event in lifecycle.queued(
                node.queue, tenant, [(node.data, node.options)], [_accepted(answer)], now
            )
        ]
        await lifecycle.announce(self.service.events, events)
        return accepted

    async def view(self, record: JobRecord) -> FlowView | None:
        """The links of a job read with its flow attributes (``JobStore.get``), or None for
        a job that is in no flow. Only its children's records are read."""
        item = record.flow
        if item is None:
            return None
        children = children_of(item)
        parent = parent_of(item)
        if children is None and parent is None:
            return None
        view = FlowView(
            parent={"queue": parent["queue"], "jobId": parent["id"]} if parent else None
        )
        if children is None:
            return view
        links = [(c.queue, c.job_id) for c in children]
        records = await aws("dynamodb", self.store.records, links)
        for link, child in zip(children, records, strict=True):
            status = child.status if child is not None else None
            view.children.append(ChildView(link.job_id, link.queue, status))
        if all(c.status in FINISHED for c in view.children):
            view.results = {
                r.job_id: r.result
                for r in records
                if r is not None and r.status is JobStatus.COMPLETED
            }
            view.failures = {
                r.job_id: r.error
                for r in records
                if r is not None and r.status is not JobStatus.COMPLETED
            }
        return view

    async def cancel(
        self,
        queue: str,
        job_id: str,
        tenant: str | None,
        cancel_one: CancelOne | None = None,
    ) -> str:
        """Cancel a job; a parent takes its unfinished children with it, and a child
        cancelled on its own counts as a failed child for its parent.

        ``cancel_one`` cancels a job that is not a waiting parent (default: one that has
        not started) and answers "cancelled", or "cancelling" for a running one that was
        asked to stop. Returns that answer.
        """
        record = await self.service.record(queue, job_id, tenant)
        if record.status is not JobStatus.WAITING_CHILDREN:
            answer = await (cancel_one or self._cancel_pending)(queue, job_id, tenant)
            if answer == "cancelled":
                await self._tell_parent(queue, job_id)
            return answer
        q = self.service.queue(queue)
        # Redis first: it is atomic against the last child releasing the parent there.
        with redis_guard():
            code = int(
                await run_queue_script(
                    q.redis, q.keys, "cancel_parent", [self.service.clock(), job_id]
                )
            )
        if code == -4:
            raise JobStateError(f"job {job_id} is no longer waiting for its children", "active")
        await aws("dynamodb", self.store.cancel, queue, job_id)
        await lifecycle.announce(
            self.service.events, [lifecycle.cancelled(record, self.service.clock())]
        )
        await self._tell_parent(queue, job_id)  # a parent that is itself a child
        state = await aws("dynamodb", self.store.parent, queue, job_id)
        for child in state.children if state else []:
            with contextlib.suppress(CorralError):  # finished: left as it is
                await self.cancel(child.queue, child.job_id, tenant, cancel_one)
        return "cancelled"

    async def _cancel_pending(self, queue: str, job_id: str, tenant: str | None) -> str:
        await self.service.cancel(queue, job_id, tenant)
        return "cancelled"

    async def retry(self, queue: str, job_id: str, tenant: str | None) -> JobRecord:
        """Retry a job; a parent that counted its outcome waits for it again (first, so
        that the child cannot finish before its parent listens)."""
        await self.service.record(queue, job_id, tenant)
        item = await aws("dynamodb", self.store.item, queue, job_id)
        parent = parent_of(item) if item else None
        if parent is not None:
            await self._wait_again(parent["queue"], parent["id"], job_id)
        return await self.service.retry(queue, job_id, tenant)

    async def _wait_again(self, queue: str, parent_id: str, child_id: str) -> None:
        q = self.service.queue(queue)
        if await aws("dynamodb", self.store.rearm, queue, parent_id, child_id):
            # It failed because of this child: it waits for it again.
            with redis_guard():
                await run_queue_script(q.redis, q.keys, "rearm_parent", [parent_id, child_id])
            return
        # It counted this child's failure and went on: Redis first, atomic against the
        # claim of a parent released meanwhile (one that started keeps what it had).
        state = await aws("dynamodb", self.store.parent, queue, parent_id)
        if state is None:
            return
        args = [parent_id, child_id, len(state.children)]
        with redis_guard():
            code = int(await run_queue_script(q.redis, q.keys, "wait_again", args))
        if code == -5:
            return
        counted = await aws("dynamodb", self.store.wait_again, queue, parent_id, child_id)
        if code == 2 or (code == 1 and not counted):
            # Redis forgot outcomes the table keeps: tell it them again (a crash here is
            # the reconciler's to finish, as after any half-told child).
            fresh = await aws("dynamodb", self.store.parent, queue, parent_id)
            if fresh is not None:
                links = [(c.queue, c.job_id) for c in fresh.children]
                records = await aws("dynamodb", self.store.records, links)
                with redis_guard():
                    await self.linker.replay(fresh, records)

    async def _tell_parent(self, queue: str, job_id: str) -> None:
        item = await asyncio.to_thread(self.store.item, queue, job_id)
        parent = parent_of(item) if item else None
        if parent is None:
            return
        error = json.dumps({"message": f"job {job_id} was cancelled", "type": "CancelledError"})
        with redis_guard():
            await self.linker.child_finished(parent, job_id, "f", error)


def _leaf_queues(node: AcceptedNode) -> set[str]:
    if not node.children:
        return {node.queue}
    return set().union(*(_leaf_queues(c) for c in node.children))


def _pairs(node: FlowNode, answer: AcceptedNode) -> Iterator[tuple[FlowNode, AcceptedNode]]:
    """Each requested node with its answer (the answer mirrors the request's tree)."""
    yield node, answer
    for child, reply in zip(node.children, answer.children, strict=True):
        yield from _pairs(child, reply)


def _accepted(node: AcceptedNode) -> Accepted:
    return Accepted(node.job_id, node.queue, node.status)


def _count(node: FlowNode) -> int:
    return 1 + sum(_count(child) for child in node.children)
