"""``EventHooks``: drain hooks that raise lifecycle events around another set of hooks.

It wraps the hooks that make outcomes durable (``StoreHooks``) and raises an event only
for what those made durable, so no subscriber hears of an outcome the job table does not
hold. Events go to a sink that publishes in the background: the drain loop never waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from corral.clock import now_ms
from corral.drain import DrainHooks
from corral.events.model import EventFactory, LifecycleEvent
from corral.events.sink import EventSink
from corral.queue import ClaimedJob, Outcome, Queue

PROGRESS_INTERVAL_S = 1.0
"""At most one ``Job Progress`` event per job in this many seconds."""


class EventHooks(DrainHooks):
    """Forwards every hook to ``inner`` and emits the matching events to ``sink``.

    Args:
        queue: the queue being drained.
        inner: the hooks that persist (their answers are passed on unchanged).
        sink: where events go.
        progress_interval_s: the progress events' throttle, per job.
    """

    def __init__(
        self,
        queue: Queue,
        inner: DrainHooks,
        sink: EventSink,
        *,
        progress_interval_s: float = PROGRESS_INTERVAL_S,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.queue = queue
        self.inner = inner
        self.sink = sink
        self.progress_interval_s = progress_interval_s
        self.clock = clock
        self.events = EventFactory(
            queue.name, include_payload=queue.definition.events_include_payload
        )
        self._last_progress: dict[str, float] = {}
        self._finished_since_drained = False

    async def persist(self, outcomes: Sequence[Outcome]) -> Sequence[str]:
        kept = await self.inner.persist(outcomes)
        left = set(kept)
        now = self.clock()
        events: list[LifecycleEvent] = []
        for outcome in outcomes:
            if outcome.job.id not in left:
                events.extend(self.events.finished(outcome, now))
                self._last_progress.pop(outcome.job.id, None)
        if events:
            self._finished_since_drained = True
            await self.sink.emit(events)
        return kept

    async def claimed(self, jobs: Sequence[ClaimedJob]) -> None:
        await self.inner.claimed(jobs)
        now = self.clock()
        await self.sink.emit([self.events.started(job, now) for job in jobs])

    async def progressed(self, updates: Sequence[tuple[ClaimedJob, Any]]) -> None:
        await self.inner.progressed(updates)
        now, tick = self.clock(), time.monotonic()
        events = []
        for job, value in updates:
            last = self._last_progress.get(job.id)
            if last is None or tick - last >= self.progress_interval_s:
                self._last_progress[job.id] = tick
                events.append(self.events.progress(job, value, now))
        if events:
            await self.sink.emit(events)

    async def failed_elsewhere(self, job_ids: Sequence[str], reason: str) -> None:
        await self.inner.failed_elsewhere(job_ids, reason)
        await self._lapsed(job_ids, reason, final=True)

    async def stalled(self, job_ids: Sequence[str]) -> None:
        await self.inner.stalled(job_ids)
        await self._lapsed(job_ids, "stalled", final=False)

    async def drained(self) -> None:
        await self.inner.drained()
        # Once per stretch of work, not once per idle poller round.
        if self._finished_since_drained:
            self._finished_since_drained = False
            await self.sink.emit([self.events.drained(self.clock())])

    async def _lapsed(self, job_ids: Sequence[str], reason: str, *, final: bool) -> None:
        now = self.clock()
        events: list[LifecycleEvent] = []
        for job_id in job_ids:
            job = await self.queue.get_job(job_id)
            if job is None:
                continue
            claimed = ClaimedJob(
                job_id,
                "null",
                job.options,
                job.attempts_made,
                job.group,
                job.created_at,
                "",
            )
            if self.events.include_payload:
                claimed.data = self.queue.definition.payload.model_validate(
                    job.data
                ).model_dump_json(by_alias=True)
            events.extend(self.events.lapsed(claimed, reason, now, final=final))
        if events:
            self._finished_since_drained = True
            await self.sink.emit(events)
