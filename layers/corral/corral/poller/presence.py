"""Which pollers of a queue are running: the API's wake-up flag and a count for fan-out.

Each poller registers in a sorted set (member: its id, score: when its registration
lapses) and keeps the queue's poller flag set while it runs. On exit it removes itself
first and deletes the flag only if no live poller is left, so the last one out always
clears it, whatever the interleaving.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

from corral.clock import now_ms
from corral.keys import QueueKeys
from corral.scripts import RedisClient


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
        self.flag = keys.poller_flag()
        self.members = keys.scratch("pollers")
        self.fanout_lock = keys.scratch("fanout")
        self.worker_id = worker_id
        self.ttl_ms = ttl_ms
        self.clock = clock

    async def join(self) -> None:
        """Register (or refresh) this poller and hold the flag."""
        now = self.clock()
        await self.redis.zadd(self.members, {self.worker_id: now + self.ttl_ms})
        await self.redis.set(self.flag, self.worker_id, px=self.ttl_ms)

    refresh = join

    async def leave(self) -> bool:
        """Unregister; clears the flag if no live poller is left (returns whether it did)."""
        await self.redis.zrem(self.members, self.worker_id)
        await self.redis.zremrangebyscore(self.members, "-inf", self.clock())
        if await self.redis.zcard(self.members) == 0:
            await self.redis.delete(self.flag)
            return True
        return False

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
