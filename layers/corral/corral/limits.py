"""Queue limits changed at runtime: concurrency, rate limit and group concurrency.

The record of truth is one item per queue in the job table (``!limits#<queue>``: ``!``
cannot start a queue name, so it never meets a job's key). Redis mirrors it in a hash
that every claim reads (``set_limits.lua``, ``includes/claim.lua``), so a change takes
effect at the next claim of every poller, with no deploy. A poller or API call that finds
the hash missing (Redis was flushed) seeds it again from the item.

A limit set at runtime wins over the queue definition's; one cleared (null) falls back to
it. The Lambda reserved concurrency in the template stays the outer fence: a limit above
what the pollers can run is simply never reached.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, model_validator

from corral.definition import QueueDefinition
from corral.job import CamelModel
from corral.queue import Queue
from corral.scripts import run_queue_script
from corral.versioned_item import Versioned, VersionedItems

logger = logging.getLogger(__name__)

FIELDS = ("concurrency", "groupConcurrency", "rateMax", "rateMs")
"""The fields a runtime override may hold (the Redis hash's and the item's names)."""

MAX_CONCURRENCY = 100_000
"""Changes kept in the item, newest last: the durable half of the audit trail."""


class RateLimitSetting(CamelModel):
    """At most ``max`` starts per ``durationMs`` across all pollers; ``max`` 0: no limit."""

    max: int = Field(ge=0, le=1_000_000)
    duration_ms: int = Field(default=1000, ge=1, le=86_400_000)


class LimitsChange(CamelModel):
    """``PATCH /queues/{q}``: the limits to change. A field left out stays as it is; one
    given as null goes back to the queue's deployed value; 0 means no limit."""

    concurrency: int | None = Field(default=None, ge=0, le=MAX_CONCURRENCY)
    rate_limit: RateLimitSetting | None = None
    group_concurrency: int | None = Field(default=None, ge=0, le=MAX_CONCURRENCY)

    @model_validator(mode="after")
    def _something(self) -> LimitsChange:
        if not self.model_fields_set:
            raise ValueError("give at least one of concurrency, rateLimit or groupConcurrency")
        return self

    def applied_to(self, overrides: Mapping[str, int]) -> dict[str, int]:
        """The overrides after this change."""
        new = dict(overrides)
        given = self.model_fields_set
        if "concurrency" in given:
            _put(new, "concurrency", self.concurrency)
        if "group_concurrency" in given:
            _put(new, "groupConcurrency", self.group_concurrency)
        if "rate_limit" in given:
            rate = self.rate_limit
            _put(new, "rateMax", rate.max if rate else None)
            _put(new, "rateMs", rate.duration_ms if rate else None)
        return new


def _put(overrides: dict[str, int], name: str, value: int | None) -> None:
    if value is None:
        overrides.pop(name, None)
    else:
        overrides[name] = value


@dataclass(frozen=True)
class EffectiveLimits:
    """The limits a queue's claims use now, and which of them were set at runtime."""

    concurrency: int
    group_concurrency: int
    rate_max: int
    rate_ms: int
    runtime: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, definition: QueueDefinition, overrides: Mapping[str, int]) -> EffectiveLimits:
        rate = definition.rate_limit
        return cls(
            int(overrides.get("concurrency", definition.concurrency)),
            int(overrides.get("groupConcurrency", definition.group_concurrency)),
            int(overrides.get("rateMax", rate.max if rate else 0)),
            int(overrides.get("rateMs", rate.duration_ms if rate else 0)),
            sorted(overrides),
        )

    def as_dict(self) -> dict[str, Any]:
        """The ``settings`` of ``GET /queues/{q}``."""
        rate = {"max": self.rate_max, "durationMs": self.rate_ms} if self.rate_max else None
        return {
            "concurrency": self.concurrency,
            "rateLimit": rate,
            "groupConcurrency": self.group_concurrency,
            "runtime": self.runtime,
        }


class LimitsStore:
    """The durable copy: one item per queue in the job table."""

    def __init__(self, client: Any, table: str) -> None:
        self.items = VersionedItems(client, table, "limits", "the limits")

    def get(self, queue: str) -> StoredLimits:
        """The queue's overrides, version and change history (version 0: never changed)."""
        stored = self.items.read(queue)
        overrides = stored.value or {}
        return StoredLimits(
            {k: int(v) for k, v in overrides.items() if k in FIELDS},
            stored.version,
            stored.history,
        )

    def put(self, queue: str, stored: StoredLimits, previous: int) -> None:
        """Write ``stored`` if the item is still at version ``previous``; else JobStateError."""
        self.items.write(
            queue, Versioned(stored.overrides, stored.version, stored.history), previous
        )


@dataclass(frozen=True)
class StoredLimits:
    overrides: dict[str, int]
    version: int
    history: list[dict[str, Any]]


async def mirror(queue: Queue, stored: StoredLimits, *, seed: bool = False) -> bool:
    """Write the overrides to Redis (``seed``: only if Redis holds none yet)."""
    args: list[Any] = ["seed" if seed else "set", queue.definition.group_concurrency]
    args.append(stored.version)
    for name in FIELDS:
        if name in stored.overrides:
            args.extend((name, stored.overrides[name]))
    return int(await run_queue_script(queue.redis, queue.keys, "set_limits", args)) == 1


async def runtime_overrides(queue: Queue, store: LimitsStore) -> dict[str, int]:
    """The overrides Redis holds, seeded first from the job table if Redis lost them."""
    held = await queue.redis.hgetall(queue.keys.limits)
    if not held:
        await mirror(queue, await asyncio.to_thread(store.get, queue.name), seed=True)
        held = await queue.redis.hgetall(queue.keys.limits)
    return {k: int(v) for k, v in held.items() if k in FIELDS}


async def change_limits(
    queue: Queue, store: LimitsStore, change: LimitsChange, by: str, now: int
) -> EffectiveLimits:
    """Apply ``change``: the job table first (versioned), then Redis; audit-logged."""
    current = await asyncio.to_thread(store.get, queue.name)
    new = change.applied_to(current.overrides)
    entry = {"at": now, "by": by, "old": current.overrides, "new": new}
    stored = StoredLimits(new, current.version + 1, [*current.history, entry])
    await asyncio.to_thread(store.put, queue.name, stored, current.version)
    await mirror(queue, stored)
    logger.info(
        "queue %s limits changed by %s: %s -> %s",
        queue.name,
        by,
        current.overrides,
        new,
        extra={"queue": queue.name, "by": by, "old": current.overrides, "new": new},
    )
    return EffectiveLimits.of(queue.definition, new)
