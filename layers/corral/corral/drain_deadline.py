"""A drain's deadline: which jobs may still start before it, and saying why one cannot."""

from __future__ import annotations

import logging
import math
import time

from corral.drain_hooks import DrainStats
from corral.queue import ClaimedJob, Queue

# The drain loop's own logger: these warnings are its, whichever module words them.
logger = logging.getLogger("corral.drain")


class RunDeadline:
    """The time a drain has (none: it runs until stopped).

    Args:
        queue: the queue drained.
        start_margin_ms: a job starts only if its timeout plus this fits before the deadline.
    """

    def __init__(self, queue: Queue, start_margin_ms: int) -> None:
        self.queue = queue
        self.start_margin_ms = start_margin_ms
        self.at: float | None = None
        """``time.monotonic()`` seconds."""
        self.budget_ms: float | None = None
        """What the run had when it began."""

    def begin(self, at: float | None) -> None:
        self.at = at
        self.budget_ms = None if at is None else (at - time.monotonic()) * 1000

    def left_ms(self) -> float:
        return math.inf if self.at is None else (self.at - time.monotonic()) * 1000

    def claiming(self) -> bool:
        """Whether a job of the queue's timeout could still start."""
        return self.left_ms() > self.queue.definition.timeout_ms + self.start_margin_ms

    def out_of_time(self) -> bool:
        """Too close to the deadline to keep waiting for the store; what is unsettled stalls."""
        return self.left_ms() <= self.start_margin_ms

    def can_start(self, job: ClaimedJob, stats: DrainStats) -> bool:
        """Whether ``job`` fits before the deadline; one that no run could fit is counted
        and logged."""
        needed_ms = job.options.timeout + self.start_margin_ms
        if self.left_ms() > needed_ms:
            return True
        if self.budget_ms is not None and needed_ms >= self.budget_ms:
            # Not the usual end of a run (the next poller takes it): no run could fit it.
            stats.too_long += 1
            logger.warning(
                "job %s of %s cannot start: its %d ms timeout (plus %d ms) does not fit in"
                " the %d ms this poller had; it waits until its timeout is lowered",
                job.id,
                self.queue.name,
                job.options.timeout,
                self.start_margin_ms,
                self.budget_ms,
                extra={"queue": self.queue.name, "job_id": job.id},
            )
        return False

    async def say_if_nothing_fits(self, stats: DrainStats) -> None:
        """When the queue's timeout does not fit before the deadline at the start, the run
        claims nothing: say so (a bare "claimed 0" hides why jobs wait)."""
        if self.at is None or self.claiming():
            return
        waiting = (await self.queue.counts()).waiting
        if not waiting:
            return
        stats.too_long += waiting
        logger.warning(
            "%d waiting jobs of %s cannot start: the queue's %d ms timeout (plus %d ms) does"
            " not fit in the %d ms left before this poller's deadline; give its poller a"
            " longer timeout or the queue a shorter one",
            waiting,
            self.queue.name,
            self.queue.definition.timeout_ms,
            self.start_margin_ms,
            self.budget_ms or 0,
            extra={"queue": self.queue.name},
        )
