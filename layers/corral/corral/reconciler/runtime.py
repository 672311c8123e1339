"""A reconciler invocation, wired from clients built once per process (``corral.wiring``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corral.definition import QueueRegistry
from corral.dlq import DeadLetterQueue
from corral.failures import FailureRecorder
from corral.flows.link import FlowLinker
from corral.flows.store import FlowStore
from corral.keys import PREFIX
from corral.lambda_support import ThreadLoops
from corral.poller.run import Starter
from corral.queue import LeaseSettings, Queue
from corral.reconciler.flows import FlowRepair
from corral.reconciler.run import Reconciler, ReconcileReport
from corral.scripts import RedisClient
from corral.store import JobStore
from corral.wake import FlaggedWaker, NoWake, PollerWaker


class ReconcilerRuntime:
    """Runs reconciles of the queues of ``registry``.

    Args:
        registry: the deployment's queues.
        store: the job table.
        dlq: the dead-letter queue.
        loops: per-thread event loops and Redis clients.
        starter: starts a poller of a queue that got jobs back (None: the schedule will).
        prefix: the Redis key prefix.
        grace_ms: see ``Reconciler``.
    """

    def __init__(
        self,
        registry: QueueRegistry,
        store: JobStore,
        dlq: DeadLetterQueue | None,
        loops: ThreadLoops,
        *,
        starter: Starter | None = None,
        prefix: str = PREFIX,
        grace_ms: int = 10_000,
        lease: LeaseSettings | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        self.failures = FailureRecorder(store, dlq)
        self.loops = loops
        self.starter = starter
        self.prefix = prefix
        self.grace_ms = grace_ms
        self.lease = lease

    def invoke(
        self, names: Sequence[str] | None = None, *, lost: bool = False
    ) -> dict[str, ReconcileReport]:
        """Reconcile ``names`` (default: every queue) on this thread's loop (``lost``:
        see ``Reconciler.run``)."""
        for name in names or ():
            self.registry.get(name)  # UnknownQueueError before any work

        async def work(redis: RedisClient) -> dict[str, ReconcileReport]:
            queues = {
                d.name: Queue(redis, d, prefix=self.prefix, lease=self.lease) for d in self.registry
            }
            waker: PollerWaker = NoWake()
            if self.starter is not None:
                waker = FlaggedWaker(redis, self.starter, prefix=self.prefix)
            linker = FlowLinker(FlowStore(self.store), redis, prefix=self.prefix)
            flows = FlowRepair(queues, linker, grace_ms=self.grace_ms)
            reconciler = Reconciler(
                queues, self.store, self.failures, waker=waker, grace_ms=self.grace_ms, flows=flows
            )
            return await reconciler.run(names, lost=lost)

        return self.loops.run(work)


def queues_of(event: Mapping[str, Any]) -> list[str] | None:
    """On-demand runs name queues in ``queues`` or ``detail.queues``; None means all."""
    detail = event.get("detail")
    names = event.get("queues") or (detail.get("queues") if isinstance(detail, dict) else None)
    return [str(n) for n in names] if names else None
