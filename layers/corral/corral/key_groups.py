"""Key groups' limits set at runtime: ``PUT /queues/{q}/groups/{id}``.

A key group is the set of jobs that share ``options.group.id`` (not the tenant). Its
limits come from the jobs' own ``options.group`` unless set here, which wins. The record
of truth is one item per queue in the job table (``!keygroups#<queue>``, all of the
queue's key groups, versioned); Redis mirrors it (``set_key_groups.lua``) and a poller run
or API read that finds the mirror gone (a flush) seeds it again, as for queue limits.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from corral.job import CamelModel
from corral.limits import MAX_CONCURRENCY, RateLimitSetting
from corral.queue import Queue
from corral.scripts import run_queue_script
from corral.versioned_item import Versioned, VersionedItems


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
class KeyGroupChange:
    """A runtime change of one key group's limits: what was set before and after (the
    caller audits it) and the limits now in force."""

    old: dict[str, int]
    new: dict[str, int]
    in_force: dict[str, Any]


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


def _rate(max_: Any, ms: Any) -> dict[str, int] | None:
    return None if max_ is None else {"max": int(max_), "durationMs": int(ms or 1000)}


def _number(value: Any) -> int | None:
    return None if value is None else int(value)


def _state(row: list[Any]) -> dict[str, Any]:
    key_id, waiting, active, held, conc, rate_max, rate_ms, job_conc, job_max, job_ms = row
    return {
        "id": key_id,
        "concurrency": _number(conc),
        "rateLimit": _rate(rate_max, rate_ms),
        "active": int(active),
        "waiting": int(waiting),
        "held": int(held) == 1,
        "jobConcurrency": _number(job_conc),
        "jobRateLimit": _rate(job_max, job_ms),
    }


async def listing(
    queue: Queue, limit: int = 100, only: str = ""
) -> tuple[int, list[dict[str, Any]]]:
    """The queue's key groups (with jobs waiting or running, or limits set at runtime),
    busiest first, at most ``limit``, and how many there are (``list_key_groups.lua``)."""
    reply = await run_queue_script(queue.redis, queue.keys, "list_key_groups", [limit, only])
    return int(reply[0]), [_state(row) for row in reply[1:]]


async def in_force(queue: Queue, key_id: str) -> dict[str, Any]:
    """``GET /queues/{q}/groups/{id}``: the limits set at runtime (null: each job's own
    ``options.group`` applies), those its next waiting job carries, and its jobs now."""
    _, (state,) = await listing(queue, 1, key_id)
    return state


async def set_key_group(
    queue: Queue, store: KeyGroupStore, key_id: str, limits: KeyGroupLimits, by: str, now: int
) -> KeyGroupChange:
    """Set one key group's runtime limits: the job table first (versioned), then Redis.
    The item keeps the change in its history; the caller writes the audit line."""
    current = await asyncio.to_thread(store.get, queue.name)
    old = current.groups.get(key_id, {})
    new = limits.fields()
    # Kept even when empty, so the mirror clears it in Redis too.
    groups = {**current.groups, key_id: new}
    entry = {"at": now, "by": by, "group": key_id, "old": old, "new": new}
    stored = StoredKeyGroups(groups, current.version + 1, [*current.history, entry])
    await asyncio.to_thread(store.put, queue.name, stored, current.version)
    await mirror(queue, stored)
    return KeyGroupChange(old, new, await in_force(queue, key_id))
