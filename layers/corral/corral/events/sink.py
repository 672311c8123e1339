"""Where lifecycle events go: EventBridge, webhook deliveries, daily counters.

Every sink works in the background: ``emit`` only appends to a buffer and makes sure one
task is sending it, so the drain loop never waits on a publish. ``flush`` waits until
everything emitted so far has been handled (a poller calls it before its invocation
returns, since Lambda freezes whatever is left running).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from corral.events.model import LifecycleEvent

logger = logging.getLogger(__name__)

MAX_BUFFERED = 10_000
"""Events held while a sink is slow; beyond this the oldest are dropped (and logged)."""


class EventSink(Protocol):
    """Takes lifecycle events; never raises into the caller."""

    async def emit(self, events: Sequence[LifecycleEvent]) -> None: ...

    async def flush(self) -> None: ...


class NoEvents:
    """The sink of a deployment without events."""

    async def emit(self, events: Sequence[LifecycleEvent]) -> None:
        return None

    async def flush(self) -> None:
        return None


class BackgroundSink:
    """A sink that hands its buffer to ``send`` from one background task at a time.

    Subclasses implement ``send``; an exception there is logged and the batch dropped
    (a sink retries what it can itself).
    """

    name = "events"

    def __init__(self, max_buffered: int = MAX_BUFFERED) -> None:
        self.max_buffered = max_buffered
        self.dropped = 0
        self._buffer: list[LifecycleEvent] = []
        self._task: asyncio.Task[None] | None = None

    async def send(self, events: list[LifecycleEvent]) -> None:
        raise NotImplementedError

    def accepts(self, event: LifecycleEvent) -> bool:
        """Whether this sink wants ``event`` at all (filtered before buffering)."""
        return True

    async def emit(self, events: Sequence[LifecycleEvent]) -> None:
        wanted = [e for e in events if self.accepts(e)]
        if not wanted:
            return
        self._buffer.extend(wanted)
        overflow = len(self._buffer) - self.max_buffered
        if overflow > 0:
            del self._buffer[:overflow]
            self.dropped += overflow
            logger.warning("%s: dropped %d events, the sink is behind", self.name, overflow)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while self._buffer:
            batch, self._buffer = self._buffer, []
            try:
                await self.send(batch)
            except Exception:
                logger.exception("%s: could not handle %d events", self.name, len(batch))

    async def flush(self) -> None:
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
        if self._buffer:  # emitted after the last task ended its loop
            self._task = asyncio.create_task(self._drain())
            await self._task


class Sinks:
    """Several sinks as one."""

    def __init__(self, sinks: Sequence[EventSink]) -> None:
        self.sinks = list(sinks)

    async def emit(self, events: Sequence[LifecycleEvent]) -> None:
        for sink in self.sinks:
            await sink.emit(events)

    async def flush(self) -> None:
        await asyncio.gather(*(sink.flush() for sink in self.sinks))


def combine(*sinks: EventSink | None) -> EventSink:
    """The sinks that are set, as one (``NoEvents`` if none is)."""
    present = [s for s in sinks if s is not None]
    if not present:
        return NoEvents()
    return present[0] if len(present) == 1 else Sinks(present)
