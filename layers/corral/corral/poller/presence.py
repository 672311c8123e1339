"""Which pollers of a queue are running: the API's wake-up flag and a count for fan-out.

Each poller registers in a sorted set (member: its id, score: when its registration
lapses) and keeps the queue's poller flag set while it runs. On exit it removes itself
first and deletes the flag only if no live poller is left, so the last one out always
clears it, whatever the interleaving.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import uuid4

from corral.clock import now_ms
from corral.keys import QueueKeys
from corral.scripts import RedisClient, run_queue_script


@dataclass(frozen=True)
class Joined:
    """What a poller learns as it registers."""

    marker_lost: bool
    """The queue's Redis marker was missing: Redis lost the queue (``corral.index_marker``)."""
    lease_lapsed: bool
    """An active job's lease has run out: its worker died, and recovering it is due."""
    waiting: int
    paused: bool


@dataclass(frozen=True)
class RoundEnd:
    """A poller's look at its queue at the end of a round (``Presence.end_round``)."""

    verdict: str
    """``stay`` (still registered), or it left: ``paused``, ``empty``, or ``others`` (live
    pollers remain and hold the flag)."""
    waiting: int
    due_ms: int
    """Until the next delayed job is due (-1: none)."""


class Presence:
    """One poller's registration.

    Args:
        redis: an async client.
        keys: the queue's keys.
        worker_id: this poller's id.
        ttl_ms: how long a registration (and the flag) lives without a refresh; it is
            what a crashed poller leaves behind.
    """

    def __init__(
        self,
        redis: RedisClient,
        keys: QueueKeys,
        worker_id: str,
        *,
        ttl_ms: int = 15_000,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.flag = keys.poller_flag()
        self.members = keys.named("pollers")
        self.fanout_lock = keys.scratch("fanout")
        self.worker_id = worker_id
        self.ttl_ms = ttl_ms
        self.clock = clock

    async def join(self) -> Joined:
        """Register (or refresh) this poller and hold the flag (one round trip)."""
        args = [self.worker_id, self.clock(), self.ttl_ms]
        lost, lapsed, waiting, paused = await run_queue_script(
            self.redis, self.keys, "poller_join", args
        )
        return Joined(bool(lost), bool(lapsed), int(waiting), bool(paused))

    refresh = join

    async def end_round(self, stay_for_due_ms: int) -> RoundEnd:
        """Stay if jobs wait and no other poller runs, or a delayed job is due within
        ``stay_for_due_ms`` and none waits; otherwise leave (see ``poller_leave.lua``)."""
        return await self._leave(stay_for_due_ms, force=False)

    async def leave(self) -> bool:
        """Unregister; clears the flag if no live poller is left (returns whether it did)."""
        return (await self._leave(-1, force=True)).verdict == "left"

    async def _leave(self, stay_for_due_ms: int, *, force: bool) -> RoundEnd:
        args = [self.worker_id, self.clock(), self.ttl_ms, stay_for_due_ms, int(force)]
        verdict, waiting, due = await run_queue_script(self.redis, self.keys, "poller_leave", args)
        return RoundEnd(str(verdict), int(waiting), int(due))

    async def count(self) -> int:
        """Live pollers of the queue, this one included."""
        return int(await self.redis.zcount(self.members, self.clock(), "+inf"))

    async def reserve(self, count: int, grace_ms: int) -> None:
        """Count ``count`` pollers being started for ``grace_ms`` (a cold start takes a while)."""
        expires = self.clock() + grace_ms
        members = {f"starting-{uuid4().hex[:12]}": expires for _ in range(count)}
        await self.redis.zadd(self.members, members)

    async def take_fanout_turn(self, hold_ms: int) -> bool:
        """Whether this poller may start others now (one decides at a time)."""
        return bool(await self.redis.set(self.fanout_lock, self.worker_id, nx=True, px=hold_ms))
