"""Daily counters summed in Redis, flushed to DynamoDB once a minute per tenant, queue and day.

Counting a job is an ``HINCRBY`` in Redis (``tally_add.lua``), not a DynamoDB write. A
poller that finishes a run flushes its queue's tallies if no flush of that queue ran in
the last ``interval_s``: one ``UpdateItem`` per tenant and day with counts.

A flush stays exact whatever step it dies in:

1. ``tally_take`` renames the live tally to a snapshot under a new flush id (new counts
   go to a fresh live tally meanwhile). Dying here loses nothing: the snapshot stays,
   and the next flush takes it again, same id.
2. ``UpdateItem`` adds the snapshot to the day's item only if the item's ``flushId`` is
   older than the snapshot's. Sent again after a crash, it fails the condition instead of
   counting twice.
3. ``tally_done`` deletes the snapshot (only if it is still the one flushed).

Flush ids grow per member (a counter in Redis, and at least the time in ms), so a
flusher holding an old snapshot can never apply it over a newer flush.

What is summed in Redis but not yet flushed is lost if Redis loses its data; ``/stats``
adds it to the table's counts, so reports are current between flushes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from corral.clock import now_ms
from corral.events.model import LifecycleEvent
from corral.events.sink import BackgroundSink
from corral.keys import PREFIX, QueueKeys
from corral.scripts import RedisClient, run_script
from corral.stats.counters import COUNTED, CounterWriter, group

logger = logging.getLogger(__name__)

FLUSH_FIELD = "_flush"
"""The snapshot's own field holding its flush id (not a count)."""
ID_KEPT_MS = 3 * 86_400_000
"""How long a member's last flush id is kept (a day's tally is flushed for a day or so)."""
FLUSH_INTERVAL_S = 60


def member(day: str, tenant: str) -> str:
    return f"{day}|{tenant}"


def split_member(value: str) -> tuple[str, str]:
    """``(day, tenant)`` of a member."""
    day, _, tenant = value.partition("|")
    return day, tenant


Unflushed = tuple[str, int | None, dict[str, str]]
"""A tally in Redis: its day, its flush id (None: live), its fields."""


@dataclass(frozen=True)
class Snapshot:
    """A tally being flushed: its id and its fields (counts, and ``m_*`` texts)."""

    flush_id: int
    fields: dict[str, str]


class Tally:
    """The daily tallies of every queue in one Redis.

    Args:
        redis: an async client.
        prefix: the key prefix.
        clock: now in epoch ms.
    """

    def __init__(
        self, redis: RedisClient, prefix: str = PREFIX, clock: Callable[[], int] = now_ms
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.clock = clock
        self._keys: dict[str, QueueKeys] = {}

    def keys(self, queue: str) -> QueueKeys:
        found = self._keys.get(queue)
        if found is None:
            found = self._keys[queue] = QueueKeys(queue, self.prefix)
        return found

    async def add(self, events: Sequence[LifecycleEvent]) -> int:
        """Count ``events`` (one script call per queue); returns the tallies touched."""
        by_queue: dict[str, list[tuple[str, Any, Any]]] = defaultdict(list)
        for (tenant, queue, day), counts in group(events).items():
            numbers, messages = counts.fields()
            by_queue[queue].append((member(day, tenant), numbers, messages))
        touched = 0
        for queue, tallies in by_queue.items():
            keys = self.keys(queue)
            live = [keys.tally(m)[0] for m, _, _ in tallies]
            args = [json.dumps(tallies, separators=(",", ":"))]
            touched += int(await run_script(self.redis, "tally_add", [keys.tallies(), *live], args))
        return touched

    async def members(self, queue: str) -> list[str]:
        """The tallies of ``queue`` with counts to flush."""
        return sorted(str(m) for m in await self.redis.smembers(self.keys(queue).tallies()))

    async def take(self, queue: str, name: str) -> Snapshot | None:
        """The snapshot to flush for ``name`` (step 1), or None if there is nothing."""
        keys = self.keys(queue)
        live, snapshot, last = keys.tally(name)
        args = [name, self.clock(), ID_KEPT_MS]
        flat = await run_script(
            self.redis, "tally_take", [keys.tallies(), live, snapshot, last], args
        )
        if not flat:
            return None
        fields = dict(zip(flat[::2], flat[1::2], strict=True))
        return Snapshot(int(fields.pop(FLUSH_FIELD)), fields)

    async def done(self, queue: str, name: str, flush_id: int) -> bool:
        """Forget a flushed snapshot (step 3); False if it was not the current one."""
        keys = self.keys(queue)
        live, snapshot, _ = keys.tally(name)
        reply = await run_script(
            self.redis, "tally_done", [keys.tallies(), live, snapshot], [name, flush_id]
        )
        return int(reply) == 1

    async def unflushed(self, queue: str, tenant: str) -> list[Unflushed]:
        """``(day, flush id, fields)`` of ``tenant``'s tallies in ``queue`` not yet flushed:
        live ones (id None) and snapshots (their id)."""
        keys = self.keys(queue)
        found = []
        for name in await self.members(queue):
            day, owner = split_member(name)
            if owner != tenant:
                continue
            live, snapshot, _ = keys.tally(name)
            for key in (live, snapshot):
                fields = {str(k): str(v) for k, v in (await self.redis.hgetall(key)).items()}
                if fields:
                    flush = fields.pop(FLUSH_FIELD, None)
                    found.append((day, int(flush) if flush else None, fields))
        return found


@dataclass
class FlushReport:
    """What one flush of a queue did."""

    applied: int = 0
    repeated: int = 0
    """Snapshots whose update had landed before (a flush that died before step 3)."""
    failed: int = 0
    skipped: bool = False


class TallyFlusher:
    """Flushes a queue's tallies to the daily counter items.

    Args:
        tally: the Redis tallies.
        writer: the DynamoDB counter items.
        interval_s: at most one flush per queue in this long (across all pollers).
    """

    def __init__(
        self, tally: Tally, writer: CounterWriter, interval_s: float = FLUSH_INTERVAL_S
    ) -> None:
        self.tally = tally
        self.writer = writer
        self.interval_s = interval_s

    async def _turn(self, queue: str) -> bool:
        key = self.tally.keys(queue).scratch("tally-turn")
        return bool(await self.tally.redis.set(key, "1", nx=True, px=int(self.interval_s * 1000)))

    async def flush(self, queue: str, *, force: bool = False) -> FlushReport:
        """Flush every tally of ``queue`` unless another flush ran within the interval
        (``force`` flushes anyway). A failed write keeps its snapshot for the next flush."""
        report = FlushReport()
        if not force and not await self._turn(queue):
            report.skipped = True
            return report
        for name in await self.tally.members(queue):
            await self.flush_one(queue, name, report)
        return report

    async def flush_one(self, queue: str, name: str, report: FlushReport) -> None:
        snapshot = await self.tally.take(queue, name)
        if snapshot is None:
            return
        day, tenant = split_member(name)
        try:
            applied = await asyncio.to_thread(
                self.writer.apply, (tenant, queue, day), snapshot.fields, snapshot.flush_id
            )
        except Exception:
            logger.warning("could not flush the %s counts of %s", queue, name, exc_info=True)
            report.failed += 1
            return
        if applied:
            report.applied += 1
        else:
            report.repeated += 1
        await self.tally.done(queue, name, snapshot.flush_id)


class CounterSink(BackgroundSink):
    """Sums counted events into the Redis tallies, in the background."""

    name = "stats"

    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally

    def accepts(self, event: LifecycleEvent) -> bool:
        return event.type in COUNTED

    async def send(self, events: list[LifecycleEvent]) -> None:
        await self.tally.add(events)
