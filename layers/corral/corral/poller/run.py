"""A poller run: drain one queue until the Lambda deadline or until it is empty.

While it runs it keeps its presence (the API's wake-up flag) fresh and, with a deep
backlog, starts more pollers through the same "start a poller" callable the API's
wake-up uses, up to the queue's concurrency. Overlapping runs are harmless: every limit
is enforced by the claim script, across all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from corral.drain import START_MARGIN_MS, Drainer, DrainHooks, DrainStats, default_worker_id
from corral.index_marker import IndexMarker
from corral.poller.presence import Joined, Presence
from corral.queue import ClaimCode, OutcomeCounts, Queue
from corral.settings import Settings

logger = logging.getLogger(__name__)

Starter = Callable[[str], Awaitable[None]]
"""Starts one more poller of a queue (an async Lambda invoke, or a local task)."""

HELD_BACK = {
    ClaimCode.AT_CONCURRENCY: "saturated",
    ClaimCode.GROUP_LIMITED: "group limited",
    ClaimCode.RATE_LIMITED: "rate limited",
}
"""Why a poller left while jobs were waiting, by the last claim's answer."""


@dataclass(frozen=True)
class PollerSettings:
    """How a poller drains.

    Attributes:
        concurrency: handlers running at once in this poller (default: the queue's
            concurrency, at most 8).
        batch_size: jobs claimed per round trip (default: the drain loop's).
        linger_ms: how long an idle poller waits for new work before it exits. A Lambda
            bills this wait, so a run started for a lone job does not linger at all.
        max_idle_ms: the most a run waits in a row without claiming anything, whatever it
            waits for (a delayed job, a rate-limit token, a concurrency slot held by
            others); then it exits and the next tick or enqueue starts a poller again.
        safety_ms: stop this long before the Lambda deadline.
        delayed_wait_ms: stay for a delayed job due within this long (at most ``max_idle_ms``).
        presence_ttl_ms: lifetime of the presence without a refresh.
        refresh_ms: how often presence is refreshed and the backlog checked.
        max_pollers: most pollers of one queue when the queue has no concurrency limit.
        start_grace_ms: how long a poller being started counts as running.
        backlog_per_poller: waiting jobs that justify one more poller (default 4 x concurrency).
    """

    concurrency: int | None = None
    batch_size: int | None = None
    linger_ms: int = 25
    max_idle_ms: int = 5000
    safety_ms: int = 2000
    delayed_wait_ms: int = 15_000
    presence_ttl_ms: int = 15_000
    refresh_ms: int = 5000
    max_pollers: int = 10
    start_grace_ms: int = 10_000
    backlog_per_poller: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PollerSettings:
        """The deployment's choices (``CORRAL_POLLER_LINGER_MS``, ``CORRAL_POLLER_MAX_IDLE_MS``)."""
        return cls(linger_ms=settings.poller_linger_ms, max_idle_ms=settings.poller_max_idle_ms)


@dataclass
class PollerReport(OutcomeCounts):
    """What a run did (the handler turns it into metrics and its reply): its drainers'
    outcomes (``OutcomeCounts``) and the rest."""

    queue: str
    worker_id: str
    rounds: int = 0
    claimed: int = 0
    lease_lost: int = 0
    released: int = 0
    expired: int = 0
    stalled_requeued: int = 0
    stalled_failed: int = 0
    too_long: int = 0
    started_pollers: int = 0
    depth: int = 0
    elapsed_ms: int = 0
    idle_ms: int = 0
    stop_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, stats: DrainStats) -> None:
        self.rounds += 1
        self.add_counts(stats)
        for name in (
            "claimed", "lease_lost", "released", "expired", "stalled_requeued",
            "stalled_failed", "too_long",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(stats, name))
        self.idle_ms += int(stats.idle_ms)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def idle(self) -> bool:
        """Nothing happened: no job claimed, settled, recovered or refused, no poller started."""
        counts = asdict(self)
        skip = {
            "queue",
            "worker_id",
            "rounds",
            "depth",
            "elapsed_ms",
            "idle_ms",
            "stop_reason",
            "extra",
        }
        return not any(value for name, value in counts.items() if name not in skip)


class Poller:
    """Drains one queue for one invocation.

    Args:
        queue: the queue.
        hooks: persistence (``StoreHooks`` in a deployment).
        starter: starts another poller of this queue for fan-out (None: no fan-out).
        settings: see ``PollerSettings``.
        worker_id: this run's id (lease tokens carry it).
        marker: notices, at start and at each refresh, that Redis lost the queue.
    """

    def __init__(
        self,
        queue: Queue,
        hooks: DrainHooks | None = None,
        *,
        starter: Starter | None = None,
        settings: PollerSettings | None = None,
        worker_id: str | None = None,
        marker: IndexMarker | None = None,
    ) -> None:
        self.queue = queue
        self.marker = marker
        self.hooks = hooks or DrainHooks()
        self.starter = starter
        self.settings = settings or PollerSettings()
        self.worker_id = worker_id or default_worker_id()
        limit = queue.definition.concurrency
        self.concurrency = self.settings.concurrency or min(limit or 8, 8)
        self.presence = Presence(
            queue.redis, queue.keys, self.worker_id, ttl_ms=self.settings.presence_ttl_ms
        )
        self.report = PollerReport(queue.name, self.worker_id)
        self._deadline: float | None = None
        self._stop = asyncio.Event()
        self._registered = True
        self._refreshing = False

    # -- the run -------------------------------------------------------------------

    async def run(self, remaining_ms: Callable[[], int] | None = None) -> PollerReport:
        """Drain until ``remaining_ms()`` (the Lambda's time left) runs low, or until idle."""
        started = time.monotonic()
        if remaining_ms is not None:
            left = remaining_ms() - self.settings.safety_ms
            self._deadline = started + left / 1000
        joined = await self.presence.join()
        await self._joined(joined)
        self._stop = asyncio.Event()
        keepalive = asyncio.create_task(self._keepalive())
        try:
            self.report.stop_reason = await self._drain_rounds(
                recover=joined.lease_lapsed, stream=joined.waiting > 1
            )
        finally:
            self._stop.set()
            await asyncio.wait([keepalive], timeout=self.settings.refresh_ms / 1000 + 5)
            keepalive.cancel()
            if self._registered:
                with contextlib.suppress(Exception):
                    await self.presence.leave()
        self.report.elapsed_ms = int((time.monotonic() - started) * 1000)
        return self.report

    def _time_left_ms(self) -> float:
        if self._deadline is None:
            return math.inf
        return (self._deadline - time.monotonic()) * 1000

    def _drainer(self, linger_ms: int, empty_linger_ms: int | None) -> Drainer:
        return Drainer(
            self.queue,
            concurrency=self.concurrency,
            batch_size=self.settings.batch_size,
            linger_ms=linger_ms,
            hooks=self.hooks,
            worker_id=self.worker_id,
            claim_after_linger=False,  # the round's end looks (Presence.end_round)
            empty_linger_ms=empty_linger_ms,
        )

    async def _drain_rounds(self, *, recover: bool, stream: bool) -> str:
        """Rounds of draining until one ends with nothing for this poller to do.

        ``recover``: a lease had run out when the run started, so the first round recovers
        stalled jobs before it claims (later rounds recover on the drainer's schedule).
        ``stream``: more than one job waited at the start. A run started for a lone job
        does not linger after it: at such a rate the next job rarely comes within the
        linger, and when it comes later its enqueue starts a poller anyway.
        """
        settings = self.settings
        linger = settings.linger_ms
        empty_linger: int | None = None if stream else 0  # None: as ``linger``
        idle_since: float | None = None
        while True:
            started = time.monotonic()
            drainer = self._drainer(linger, empty_linger)
            stats = await drainer.run(self._deadline, recover_first=recover)
            recover, empty_linger = False, None
            self.report.add(stats)
            worked = stats.claimed or stats.stalled_requeued
            idle_since = None if worked else (idle_since or started)
            # Another round only if a job could still start in it (the drainer's own rule).
            if self._time_left_ms() <= self.queue.definition.timeout_ms + START_MARGIN_MS:
                return "deadline"
            idle_ms = (time.monotonic() - idle_since) * 1000 if idle_since else 0.0
            if idle_ms >= settings.max_idle_ms:
                # Work it cannot claim (limits held elsewhere, a slow rate): stop billing.
                return "idle"
            # One atomic look-and-leave: an enqueue that saw our flag woke no one, so a
            # job that waits now is ours unless another poller is still running.
            wait = int(min(settings.delayed_wait_ms, settings.max_idle_ms - idle_ms))
            look = await self.presence.end_round(stay_for_due_ms=wait)
            self.report.depth = look.waiting
            if look.verdict == "stay":
                # Nothing waits but a delayed job is due soon: stay for it.
                due_soon = look.waiting == 0 and look.due_ms >= 0
                linger = look.due_ms + settings.linger_ms if due_soon else settings.linger_ms
                continue
            # A refresh on its way may land after the leave: then the run leaves again.
            self._registered = self._refreshing
            if look.verdict == "others":
                # Jobs wait under a limit that live pollers hold: say which, never "empty".
                code = stats.last_code if look.waiting else None
                held_back = HELD_BACK.get(code) if code is not None else None
                return held_back or "others running"
            return look.verdict

    # -- while draining ------------------------------------------------------------

    async def _keepalive(self) -> None:
        # Stopped by an event, not by cancellation: a Redis call may swallow a cancel.
        while not await self._stopped_within(self.settings.refresh_ms):
            if not self._registered:
                continue
            self._refreshing = True
            try:
                joined = await self.presence.refresh()
            except Exception:
                logger.warning("poller presence refresh failed", exc_info=True)
                continue
            finally:
                self._refreshing = False
            await self._joined(joined)

    async def _stopped_within(self, ms: int) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), ms / 1000)
        return self._stop.is_set()

    async def _joined(self, joined: Joined) -> None:
        """Act on what joining (or a refresh) saw: a lost marker, and the backlog."""
        if joined.marker_lost and self.marker is not None:
            await self.marker.lost(self.queue.name)
        self.report.depth = joined.waiting
        if joined.paused:
            return
        try:
            await self._fan_out(joined.waiting)
        except Exception:
            logger.warning("poller fan-out check failed", exc_info=True)

    def pollers_wanted(self, backlog: int) -> int:
        """How many pollers a backlog of ``backlog`` waiting jobs deserves."""
        per_poller = self.settings.backlog_per_poller or 4 * self.concurrency
        limit = self.queue.definition.concurrency
        cap = math.ceil(limit / self.concurrency) if limit else self.settings.max_pollers
        cap = min(cap, self.settings.max_pollers)
        return max(1, min(cap, math.ceil(backlog / per_poller)))

    async def _fan_out(self, waiting: int) -> None:
        """Start more pollers if ``waiting`` jobs deserve more than are running."""
        wanted = self.pollers_wanted(waiting)
        if self.starter is None or wanted == 1 or self._time_left_ms() < 10_000:
            return  # a lone poller needs no count of the others
        extra = wanted - await self.presence.count()
        if extra <= 0 or not await self.presence.take_fanout_turn(self.settings.refresh_ms):
            return
        await self.presence.reserve(extra, self.settings.start_grace_ms)
        for _ in range(extra):
            await self.starter(self.queue.name)
        self.report.started_pollers += extra
        logger.info(
            "started %d more pollers of %s for %d waiting jobs",
            extra,
            self.queue.name,
            waiting,
            extra={"queue": self.queue.name},
        )
