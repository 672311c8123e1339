"""A poller invocation, wired: the queue, its hooks, and the run, from clients built once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from corral.definition import QueueRegistry
from corral.dlq import DeadLetterQueue
from corral.drain import DrainHooks
from corral.events import EventHooks
from corral.events.deploy import DeploymentEvents
from corral.failures import FailureRecorder
from corral.index_marker import IndexMarker, Reconcile
from corral.key_groups import KeyGroupStore, seed
from corral.keys import PREFIX
from corral.lambda_support import ThreadLoops
from corral.limits import LimitsStore, runtime_overrides
from corral.poller.hooks import RunTally, StoreHooks
from corral.poller.run import Poller, PollerReport, PollerSettings, Starter
from corral.queue import LeaseSettings, Queue
from corral.scripts import RedisClient
from corral.stats.tally import TallyFlusher
from corral.store import JobStore

logger = logging.getLogger(__name__)


@dataclass
class PollerResult:
    """The run's report and what it made durable."""

    report: PollerReport
    tally: RunTally


class PollerRuntime:
    """Runs poller invocations of any queue of ``registry``.

    Args:
        registry: the deployment's queues.
        store: the job table.
        dlq: the dead-letter queue (None: failures are only recorded).
        loops: per-thread event loops and Redis clients.
        prefix: the Redis key prefix.
        settings: how pollers drain.
        lease: lease settings of the queues.
        starter: starts another poller (fan-out); None lets the caller pass one per call.
        events: lifecycle event sinks (None: no events).
        reconcile: starts a reconcile of a queue Redis lost (None: the schedule will).
    """

    def __init__(
        self,
        registry: QueueRegistry,
        store: JobStore,
        dlq: DeadLetterQueue | None,
        loops: ThreadLoops,
        *,
        prefix: str = PREFIX,
        settings: PollerSettings | None = None,
        lease: LeaseSettings | None = None,
        starter: Starter | None = None,
        events: DeploymentEvents | None = None,
        reconcile: Reconcile | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        self.failures = FailureRecorder(store, dlq)
        self.loops = loops
        self.prefix = prefix
        self.settings = settings or PollerSettings()
        self.lease = lease
        self.starter = starter
        self.events = events
        self.reconcile = reconcile

    async def _seed_limits(self, queue: Queue) -> None:
        """Put limits set at runtime back into Redis if it lost them (one read per flush)."""
        try:
            await runtime_overrides(queue, LimitsStore(self.store.client, self.store.table))
            await seed(queue, KeyGroupStore(self.store.client, self.store.table))
        except Exception:
            # Draining under the deployed limits beats not draining at all.
            logger.exception("could not seed the runtime limits of %s", queue.name)

    def invoke(
        self,
        queue: str,
        remaining_ms: Callable[[], int] | None,
        starter: Starter | None = None,
    ) -> PollerResult:
        """One invocation, on this thread's loop (raises UnknownQueueError)."""
        definition = self.registry.get(queue)

        async def work(redis: RedisClient) -> PollerResult:
            q = Queue(redis, definition, prefix=self.prefix, lease=self.lease)
            sink = self.events.sink(redis) if self.events else None
            store_hooks = StoreHooks(q, self.store, self.failures, events=sink)
            flusher = self.events.flusher(redis) if self.events else None
            hooks: DrainHooks = EventHooks(q, store_hooks, sink) if sink else store_hooks
            start = self.starter or starter
            marker = IndexMarker(self.reconcile)
            poller = Poller(q, hooks, starter=start, settings=self.settings, marker=marker)
            await self._seed_limits(q)
            try:
                report = await poller.run(remaining_ms)
            finally:
                if sink is not None:
                    await sink.flush()  # before Lambda freezes the process
                if flusher is not None:
                    await _flush_counters(flusher, queue)
            return PollerResult(report, store_hooks.tally)

        return self.loops.run(work)


async def _flush_counters(flusher: TallyFlusher, queue: str) -> None:
    """The daily counters, once a minute per queue; a failure waits for the next run."""
    try:
        await flusher.flush(queue)
    except Exception:
        logger.warning("flushing the daily counters of %s failed", queue, exc_info=True)
