"""Accepting a flow: validate every node, write every record, then add them to Redis.

As for a single job (``corral.intake``), the records go first (invariant 1), and if any
node is invalid nothing is written. Parents go to Redis before their children, so that a
child that finishes at once always finds its parent waiting.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.errors import CorralError, UnknownQueueError
from corral.flows.store import ChildLink, FlowRecord, FlowStore
from corral.guards import aws, redis_guard
from corral.intake import Intake, InvalidPayloadError, JobIdTakenError
from corral.job import JobOptions, JobStatus
from corral.queue import NewJob, Queue
from corral.store import JobStore

MAX_DEPTH = 10
MAX_NODES = 1000


class FlowTooLargeError(CorralError):
    """A flow deeper than ``MAX_DEPTH`` levels or with more than ``MAX_NODES`` nodes."""


@dataclass
class FlowNode:
    """A node of a flow to add: a job, and the children it waits for."""

    queue: str
    data: Any
    options: JobOptions | None = None
    ignore_failure: bool = False
    """``ignoreDependencyOnFailure``: its failure does not fail its parent."""
    children: list[FlowNode] = field(default_factory=list)


@dataclass
class AcceptedNode:
    """The answer for one node, mirroring the tree."""

    job_id: str
    queue: str
    status: JobStatus
    children: list[AcceptedNode] = field(default_factory=list)


@dataclass
class _Placed:
    node: FlowNode
    path: tuple[Any, ...]
    flow: FlowRecord
    job: NewJob
    children: list[_Placed] = field(default_factory=list)


def walk(node: FlowNode, path: tuple[Any, ...] = (), depth: int = 1) -> Iterator[Any]:
    """Every node with its place in the request, depth first; checks the depth."""
    if depth > MAX_DEPTH:
        raise FlowTooLargeError(f"a flow may be at most {MAX_DEPTH} levels deep")
    yield node, path
    for i, child in enumerate(node.children):
        yield from walk(child, (*path, "children", i), depth + 1)


class FlowIntake:
    """One ``POST /flows`` for one tenant."""

    def __init__(
        self,
        queues: Mapping[str, Queue],
        store: JobStore,
        tenant: str,
        clock: Callable[[], int],
    ) -> None:
        self.queues = queues
        self.store = store
        self.flows = FlowStore(store)
        self.tenant = tenant
        self.clock = clock

    async def run(self, root: FlowNode) -> AcceptedNode:
        """Add the flow; raises before writing anything if any node is refused."""
        placed = self._place(root, ())
        nodes = list(_flatten(placed))
        taken = await aws("dynamodb", self.flows.create, [p.flow for p in nodes])
        if taken:
            raise JobIdTakenError(f"job id {taken[0]} is not available")
        try:
            with redis_guard():
                await self._add_to_redis(nodes)
        except BaseException:
            await asyncio.to_thread(self.flows.delete, [p.flow for p in nodes])
            raise
        return _answer(placed)

    def _place(self, node: FlowNode, path: tuple[Any, ...]) -> _Placed:
        count = sum(1 for _ in walk(node))  # raises past MAX_DEPTH
        if count > MAX_NODES:
            raise FlowTooLargeError(f"a flow may have at most {MAX_NODES} jobs")
        return self._prepare(node, path)

    def _prepare(self, node: FlowNode, path: tuple[Any, ...]) -> _Placed:
        queue = self.queues.get(node.queue)
        if queue is None:
            raise UnknownQueueError(f"unknown queue {node.queue!r}")
        if node.options is not None and node.options.deduplication is not None:
            raise InvalidPayloadError(
                [
                    {
                        "loc": ("body", *path, "options", "deduplication"),
                        "msg": "a flow's jobs cannot be deduplicated",
                        "type": "value_error",
                    }
                ]
            )
        intake = Intake(queue, self.store, self.tenant, self.clock)
        try:
            record, job = intake.prepare(node.data, node.options)
        except InvalidPayloadError as exc:
            for error in exc.errors:
                error["loc"] = ("body", *path, *tuple(error["loc"])[1:])
            raise
        children = [
            self._prepare(child, (*path, "children", i)) for i, child in enumerate(node.children)
        ]
        links = [
            ChildLink(c.node.queue, c.flow.record.job_id, c.node.ignore_failure) for c in children
        ]
        if children:
            record.status = JobStatus.WAITING_CHILDREN
        placed = _Placed(node, path, FlowRecord(record, None, links), job, children)
        for child in children:
            link = {"queue": node.queue, "id": record.job_id, "ignore": child.node.ignore_failure}
            child.flow.parent = link
            child.job.parent = link
        return placed

    async def _add_to_redis(self, nodes: list[_Placed]) -> None:
        for p in nodes:
            if p.children:
                await self.queues[p.node.queue].add_parent(p.job, len(p.children))
        leaves: dict[str, list[NewJob]] = defaultdict(list)
        for p in nodes:
            if not p.children:
                leaves[p.node.queue].append(p.job)
        for name, jobs in leaves.items():
            await self.queues[name].add_bulk(jobs)


def _flatten(placed: _Placed) -> Iterator[_Placed]:
    yield placed
    for child in placed.children:
        yield from _flatten(child)


def _answer(placed: _Placed) -> AcceptedNode:
    record = placed.flow.record
    return AcceptedNode(
        record.job_id, record.queue, record.status, [_answer(c) for c in placed.children]
    )
