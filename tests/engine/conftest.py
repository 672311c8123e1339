"""Functional fixtures: every test that uses ``redis`` runs on one Redis and on a cluster.

The cluster (three masters, no replicas) is started once per session, only if a test
asks for it, in a temporary directory, and stopped at the end. Deselect it with
``-m "not cluster"``. A test that must stay on the shared single Redis asks for
``single_redis`` instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from tests.conftest import SHARED_REDIS_URL, delete_prefix
from tests.engine.servers import HOST, Servers, start_cluster, start_lone


@dataclass(frozen=True)
class RedisTarget:
    """Where a test's Redis is: the shared one (``url``), a private single server or a
    private cluster (reached through one node), both started by the tests on loopback."""

    kind: str
    port: int = 0
    url: str = ""

    def connect(self) -> Any:
        """A new async client, made in the running event loop."""
        if self.kind == "cluster":
            return RedisCluster(host=HOST, port=self.port, decode_responses=True)
        if self.url:
            return Redis.from_url(self.url, decode_responses=True)
        return Redis(host=HOST, port=self.port, decode_responses=True)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    started = Servers(tmp_path_factory.mktemp("redis-servers"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def cluster_ports(servers: Servers) -> list[int]:
    """Ports of a private three-master Redis Cluster, started on first use."""
    return start_cluster(servers)


@pytest.fixture(scope="session")
def lone_port(servers: Servers) -> int:
    """Port of a private single redis-server that tests may flush."""
    return start_lone(servers)


@pytest.fixture(params=["single", pytest.param("cluster", marks=pytest.mark.cluster)])
def redis_target(request: pytest.FixtureRequest) -> RedisTarget:
    if request.param == "cluster":
        return RedisTarget("cluster", request.getfixturevalue("cluster_ports")[0])
    return RedisTarget("single", url=SHARED_REDIS_URL)


@pytest.fixture
def private_target(redis_target: RedisTarget, request: pytest.FixtureRequest) -> RedisTarget:
    """Like ``redis_target`` but never the shared server: safe for SCRIPT FLUSH."""
    if redis_target.kind == "cluster":
        return redis_target
    return RedisTarget("single", request.getfixturevalue("lone_port"))


@pytest.fixture
async def redis(redis_target: RedisTarget, prefix: str) -> AsyncIterator[Any]:
    """An async client on the target; the test's keys are deleted afterwards."""
    client = redis_target.connect()
    await client.ping()
    try:
        yield client
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()
