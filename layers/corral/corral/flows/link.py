""" "A child finished", in two halves that a crash between them cannot spoil.

A parent and its children may sit in different queues, so in different hash slots of a
cluster: no one script can settle a child and update its parent. So:

1. the job table first: ``FlowStore.record_child`` counts the child on its parent's
   record, once (and releases or fails the parent there);
2. then Redis: ``child_done.lua`` in the parent's queue records the child's result and
   makes the parent claimable when its last child is done, exactly once.

Both halves are idempotent. A crash after (1) leaves a parent that the table says is
ready but Redis still holds as waiting for children: ``FlowRepair`` finds and finishes it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from corral.clock import now_ms
from corral.events.model import flow_failed
from corral.events.sink import EventSink, NoEvents
from corral.failures import FinalFailure, parse_json
from corral.flows.store import FlowStore, ParentState, child_failed_error
from corral.job import JobStatus
from corral.keys import PREFIX, QueueKeys
from corral.queue import Outcome
from corral.records import JobRecord
from corral.scripts import RedisClient, run_queue_script

logger = logging.getLogger(__name__)


class FlowLinker:
    """Tells parents that their children finished.

    Args:
        store: the flow state in the job table.
        redis: the client of every queue's Redis.
        prefix: the Redis key prefix.
        clock: now in epoch ms.
        events: where ``Flow Failed`` goes when a child fails a root parent (the poller's
            sink; a root that runs raises its flow event with its own outcome).
    """

    def __init__(
        self,
        store: FlowStore,
        redis: RedisClient,
        *,
        prefix: str = PREFIX,
        clock: Callable[[], int] = now_ms,
        events: EventSink | None = None,
    ) -> None:
        self.store = store
        self.redis = redis
        self.prefix = prefix
        self.clock = clock
        self.events: EventSink = events or NoEvents()

    async def children_finished(self, outcomes: Iterable[Outcome]) -> list[str]:
        """Tell the parents of the children among ``outcomes`` that finished for good.

        Returns the ids of children whose parent could not be told (try again later).
        """
        by_parent: dict[tuple[str, str], list[Outcome]] = defaultdict(list)
        for o in outcomes:
            parent = o.job.options.parent
            if parent is not None and o.kind in ("c", "f"):
                by_parent[parent["queue"], parent["id"]].append(o)
        # Parents side by side; one parent's children one after the other, since they all
        # update the parent's one record (a hot item, and a store that serializes writes).
        told = await asyncio.gather(*(self._tell_one_parent(c) for c in by_parent.values()))
        return [job_id for missed in told for job_id in missed]

    async def _tell_one_parent(self, children: list[Outcome]) -> list[str]:
        missed: list[str] = []
        for o in children:
            try:
                parent = o.job.options.parent
                assert parent is not None  # grouped by parent above
                await self.child_finished(parent, o.job.id, o.kind, o.payload)
            except Exception:
                logger.warning("could not tell the parent of job %s", o.job.id, exc_info=True)
                missed.append(o.job.id)
        return missed

    async def failed_for_good(self, failures: Iterable[FinalFailure]) -> None:
        """Children that Redis failed by itself (stalled too often, ttl passed)."""
        for f in failures:
            parent = (f.options or {}).get("parent")
            if parent is None:
                continue
            try:
                await self.child_finished(parent, f.job_id, "f", json.dumps(f.error))
            except Exception:
                logger.warning("could not tell the parent of job %s", f.job_id, exc_info=True)

    async def child_finished(
        self, parent: dict[str, Any], child_id: str, kind: str, payload: str | None
    ) -> int:
        """Both halves for one child (``kind`` c or f); returns child_done.lua's code."""
        queue, parent_id, ignore = parent["queue"], parent["id"], bool(parent.get("ignore"))
        state = await self.record(queue, parent_id, child_id, kind, payload, ignore)
        code = await self.tell_redis(queue, parent_id, child_id, redis_kind(kind, ignore), payload)
        if state is not None and state.failed_child == child_id:
            error = child_failed_error(child_id, parse_json(payload))
            if state.parent is not None:
                # The parent failed with this child, and is itself a child: its parent hears.
                await self.child_finished(state.parent, parent_id, "f", json.dumps(error))
            else:
                # The root failed without running: the whole flow failed.
                await self.events.emit([flow_failed(state.record, child_id, error, self.clock())])
        return code

    async def record(
        self,
        queue: str,
        parent_id: str,
        child_id: str,
        kind: str,
        payload: str | None,
        ignore: bool,
    ) -> ParentState | None:
        """The durable half: count the child on its parent's record, then release it."""
        fails_parent = kind == "f" and not ignore
        error = parse_json(payload) if kind == "f" else None
        state = await asyncio.to_thread(
            self.store.record_child, queue, parent_id, child_id, fails_parent, error
        )
        if state is not None and state.pending <= 0 and state.failed_child is None:
            await asyncio.to_thread(self.store.release, queue, parent_id)
        return state

    async def replay(self, state: ParentState, children: Sequence[JobRecord | None]) -> int:
        """Tell Redis every child counted on ``state`` (``children``: their records, in its
        order; idempotent). Returns how many Redis had not heard of."""
        by_id = {c.job_id: c for c in children if c is not None}
        # The child that failed the parent first: the parent then fails, whatever else.
        order = sorted(state.children, key=lambda c: c.job_id != state.failed_child)
        told = 0
        for link in order:
            if link.job_id not in state.done:
                continue
            child = by_id.get(link.job_id)
            completed = child is None or child.status is JobStatus.COMPLETED
            kind = redis_kind("c" if completed else "f", link.ignore_failure)
            payload = payload_of(child) if child is not None else "null"
            code = await self.tell_redis(
                state.record.queue, state.record.job_id, link.job_id, kind, payload
            )
            told += code in (1, 3, 4)
        return told

    async def tell_redis(
        self, queue: str, parent_id: str, child_id: str, kind: str, payload: str | None
    ) -> int:
        """The parent queue's half (``child_done.lua``): idempotent."""
        keys = QueueKeys(queue, self.prefix)
        args = [self.clock(), parent_id, child_id, kind, payload or "null"]
        return int(await run_queue_script(self.redis, keys, "child_done", args))


def redis_kind(kind: str, ignore: bool) -> str:
    """child_done.lua's kind: c completed, i failed but ignored, f failed (fails the parent)."""
    if kind == "c":
        return "c"
    return "i" if ignore else "f"


def payload_of(child: JobRecord) -> str:
    """The JSON text a child left: its result, or its error."""
    value: Any = child.result if child.status is JobStatus.COMPLETED else child.error
    return json.dumps(value, separators=(",", ":"))
