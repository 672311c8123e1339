"""Fixtures shared by every test: the shared Redis, unique key prefixes, a fake clock.

The shared Redis is the one ``REDIS_URL`` names (default 127.0.0.1:6379; a ``rediss://``
URL, a password or a Valkey server work the same). Everyone running tests at the same time
shares it, so each test writes only under its own key prefix and deletes that prefix's
keys afterwards, and never flushes it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import uuid4

import pytest
from corral.definition import QueueDefinition
from corral.event_loops import new_loop
from corral.queue import LeaseSettings, Queue
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from redis.asyncio import ConnectionPool, Redis


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    """Every async test runs on the event loop the functions run on (uvloop's)."""
    return {"uvloop": new_loop}


SHARED_REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
"""The one place the tests learn where the shared Redis is."""
START_MS = 1_700_000_000_000
R = TypeVar("R", bound=Redis)


class Payload(BaseModel):
    """A small payload model; ``subAccountId`` makes it tenant-grouped like the real queues."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    n: int = 0
    sub_account_id: str | None = None


async def noop(payload: Any, job: Any) -> None:
    """A handler that does nothing."""


@dataclass
class FakeClock:
    """A clock in ms that moves only when told to (delays, leases, ttl, rate limits)."""

    now: int = START_MS

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now


async def delete_prefix(client: Any, prefix: str) -> int:
    """Delete every key under ``prefix:`` (SCAN, never KEYS or FLUSH on a shared server)."""
    keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
    for key in keys:
        # One key per call: on a cluster the keys of different queues live in different slots.
        await client.delete(key)
    return len(keys)


def shared_client(cls: type[R]) -> R:
    """A client of ``cls`` (a ``Redis`` subclass) on the shared Redis, owning its pool."""
    client = cls(connection_pool=ConnectionPool.from_url(SHARED_REDIS_URL, decode_responses=True))
    # As a client from_url makes: closing it closes the pool, so no socket outlives the test.
    client.auto_close_connection_pool = True
    return client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test (or engineer) uses."""
    return f"t{uuid4().hex[:12]}"


@pytest.fixture
async def single_redis(prefix: str) -> AsyncIterator[Redis]:
    """An async client on the shared Redis; fails loudly if it is not running."""
    client = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    await client.ping()
    try:
        yield client
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()


@pytest.fixture
def redis(single_redis: Redis) -> Redis:
    """The client tests use; ``tests/engine`` overrides it to also run on a cluster."""
    return single_redis


QueueFactory = Callable[..., Queue]


@pytest.fixture
def make_queue(redis: Any, prefix: str, clock: FakeClock) -> QueueFactory:
    """Build a ``Queue`` of ``Payload`` jobs under the test's prefix and fake clock.

    Keyword arguments go to ``QueueDefinition`` (``name`` defaults to ``"jobs"``), except
    ``lease`` which goes to ``Queue``.
    """

    def build(name: str = "jobs", lease: LeaseSettings | None = None, **options: Any) -> Queue:
        options.setdefault("handler", noop)
        definition = QueueDefinition(name=name, payload=Payload, **options)
        return Queue(redis, definition, prefix=prefix, lease=lease, clock=clock)

    return build
