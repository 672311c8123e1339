"""Key groups' limits set at runtime: ``PUT /queues/{q}/groups/{id}``.

A key group is the set of jobs that share ``options.group.id`` (not the tenant). Its
limits come from the jobs' own ``options.group`` unless set here, which wins. The record
of truth is one item per queue in the job table (``!keygroups#<queue>``, all of the
queue's key groups, versioned); Redis mirrors it (``set_key_groups.lua``) and a poller run
or API read that finds the mirror gone (a flush) seeds it again, as for queue limits.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from corral.job import CamelModel
from corral.limits import MAX_CONCURRENCY, RateLimitSetting
from corral.queue import Queue
from corral.scripts import run_queue_script
from corral.versioned_item import Versioned, VersionedItems

logger = logging.getLogger(__name__)


class KeyGroupLimits(CamelModel):
    """The body of ``PUT /queues/{q}/groups/{id}``: the key group's limits at runtime.
    A field left out or null: the jobs' own ``options.group`` applies; 0: no limit."""

    concurrency: int | None = Field(default=None, ge=0, le=MAX_CONCURRENCY)
    rate_limit: RateLimitSetting | None = None

    def fields(self) -> dict[str, int]:
        out: dict[str, int] = {}
        if self.concurrency is not None:
            out["concurrency"] = self.concurrency
        if self.rate_limit is not None:
            out["rateMax"] = self.rate_limit.max
            out["rateMs"] = self.rate_limit.duration_ms
        return out


@dataclass(frozen=True)
class StoredKeyGroups:
    groups: dict[str, dict[str, int]]
    version: int
    history: list[dict[str, Any]]


class KeyGroupStore:
    """The durable copy: one item per queue in the job table."""

    def __init__(self, client: Any, table: str) -> None:
        self.items = VersionedItems(client, table, "keygroups", "the key groups")

    def get(self, queue: str) -> StoredKeyGroups:
        stored = self.items.read(queue)
        return StoredKeyGroups(stored.value or {}, stored.version, stored.history)

    def put(self, queue: str, stored: StoredKeyGroups, previous: int) -> None:
        """Write ``stored`` if the item is still at version ``previous``; else JobStateError."""
        self.items.write(queue, Versioned(stored.groups, stored.version, stored.history), previous)


async def mirror(queue: Queue, stored: StoredKeyGroups, *, seed: bool = False) -> bool:
    """Write every key group's runtime limits to Redis (``seed``: only if none were)."""
    args: list[Any] = ["seed" if seed else "set", stored.version]
    for key_id, fields in stored.groups.items():
        args.extend((key_id, fields.get("concurrency", "")))
        args.extend((fields.get("rateMax", ""), fields.get("rateMs", "")))
    return int(await run_queue_script(queue.redis, queue.keys, "set_key_groups", args)) == 1


async def seed(queue: Queue, store: KeyGroupStore) -> None:
    """Put the runtime limits back into Redis if it lost them (one read per flush)."""
    if not await queue.redis.exists(queue.keys.key_groups_version):
        await mirror(queue, await asyncio.to_thread(store.get, queue.name), seed=True)


async def in_force(queue: Queue, key_id: str) -> dict[str, Any]:
    """``GET /queues/{q}/groups/{id}``: the limits set at runtime (null: each job's own
    ``options.group`` applies) and how many of its jobs run now."""
    held = await queue.redis.hgetall(queue.keys.key_group(key_id))
    active = await queue.redis.hget(queue.keys.key_groups_active, key_id)
    concurrency = held.get("concurrency")
    rate = None
    if "rateMax" in held:
        rate = {"max": int(held["rateMax"]), "durationMs": int(held["rateMs"])}
    return {
        "id": key_id,
        "concurrency": None if concurrency is None else int(concurrency),
        "rateLimit": rate,
        "active": int(active or 0),
    }


async def set_key_group(
    queue: Queue, store: KeyGroupStore, key_id: str, limits: KeyGroupLimits, by: str, now: int
) -> dict[str, Any]:
    """Set one key group's runtime limits: the job table first (versioned), then Redis."""
    current = await asyncio.to_thread(store.get, queue.name)
    old = current.groups.get(key_id, {})
    new = limits.fields()
    # Kept even when empty, so the mirror clears it in Redis too.
    groups = {**current.groups, key_id: new}
    entry = {"at": now, "by": by, "group": key_id, "old": old, "new": new}
    stored = StoredKeyGroups(groups, current.version + 1, [*current.history, entry])
    await asyncio.to_thread(store.put, queue.name, stored, current.version)
    await mirror(queue, stored)
    logger.info(
        "queue %s key group %s limits changed by %s: %s -> %s",
        queue.name,
        key_id,
        by,
        old,
        new,
        extra={"queue": queue.name, "group": key_id, "by": by, "old": old, "new": new},
    )
    return await in_force(queue, key_id)
