"""The dispatcher's copy of the webhook registrations, and the version that expires it.

A poller asks for a tenant's registrations at every event, so it keeps them. Every
change (create, delete) bumps one counter in Redis; the dispatcher reads it once per batch
of events and drops its copy when it moved, so a deleted webhook gets no new delivery
from the next batch on. Should Redis not answer, the copy still expires after ``ttl_s``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from corral.guards import REDIS_DOWN
from corral.keys import PREFIX, webhooks_version
from corral.webhooks.store import Registration, WebhookStore

logger = logging.getLogger(__name__)

MAX_ENTRIES = 10_000


class RegistrationVersion:
    """The registrations' change counter in Redis.

    Args:
        redis: an asyncio Redis client.
        prefix: the deployment's key prefix.
    """

    def __init__(self, redis: Any, prefix: str = PREFIX) -> None:
        self.redis = redis
        self.key = webhooks_version(prefix)

    async def read(self) -> int | None:
        """The current version; None when Redis cannot say (the cache's TTL then rules)."""
        try:
            value = await self.redis.get(self.key)
        except REDIS_DOWN:
            logger.warning("webhook registration version unreadable; cached copies may lag")
            return None
        return int(value or 0)

    async def bump(self) -> None:
        """Tell every dispatcher its copy is stale.

        The change itself is already in DynamoDB: if Redis cannot take the bump, copies
        lag by at most the cache's TTL, which is no reason to fail the caller's request.
        """
        try:
            await self.redis.incr(self.key)
        except REDIS_DOWN:
            logger.warning("webhook registration version not bumped; cached copies may lag")


class CachedRegistrations:
    """``for_queue`` answers kept until the version moves (or ``ttl_s`` passes)."""

    def __init__(
        self,
        store: WebhookStore,
        ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock
        self.version: int | None = None
        self._cache: dict[tuple[str, str], tuple[float, list[Registration]]] = {}

    def seen(self, version: int | None) -> None:
        """The version read for this batch: a different one empties the cache."""
        if version is not None and version != self.version:
            self._cache.clear()
            self.version = version

    def for_queue(self, tenant: str, queue: str) -> list[Registration]:
        key = (tenant, queue)
        hit = self._cache.get(key)
        now = self.clock()
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        found = self.store.for_queue(tenant, queue)
        if len(self._cache) > MAX_ENTRIES:
            self._cache.clear()
        self._cache[key] = (now, found)
        return found
