"""redis_call: which clients take the lean path, and its send under the socket timeout."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from corral import redis_call
from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis, RedisCluster
from redis.exceptions import TimeoutError as RedisTimeoutError


class Instrumented(Redis):
    async def execute_command(self, *args: Any, **options: Any) -> Any:
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


async def test_only_a_plain_pooled_client_takes_the_lean_path() -> None:
    plain = Redis()
    single = Redis(single_connection_client=True)
    instrumented = Instrumented()
    cluster = RedisCluster(host="127.0.0.1", port=1)  # not connected: nothing is sent
    try:
        assert redis_call.direct(plain)
        assert not redis_call.direct(single)
        assert not redis_call.direct(instrumented)
        assert not redis_call.direct(cluster)
    finally:
        for client in (plain, single, instrumented):
            await client.aclose()
        await cluster.aclose()


class StuckConnection:
    """A connection whose reply never comes (the server hangs)."""

    def __init__(self, socket_timeout: float) -> None:
        self.socket_timeout: float | None = socket_timeout
        self.disconnected = False
        self.timeout_seen: list[float | None] = []

    async def send_packed_command(self, packed: bytes) -> None:
        self.timeout_seen.append(self.socket_timeout)

    async def read_response(self) -> Any:
        self.timeout_seen.append(self.socket_timeout)
        await asyncio.sleep(10)

    async def disconnect(self, nowait: bool = False) -> None:
        self.disconnected = True


async def test_a_round_trip_past_the_socket_timeout_closes_the_connection() -> None:
    conn = StuckConnection(socket_timeout=0.05)

    with pytest.raises(RedisTimeoutError):
        await redis_call._send_and_read(conn, b"*1\r\n$4\r\nPING\r\n")  # type: ignore[arg-type]

    assert conn.disconnected
    assert conn.timeout_seen == [None, None]  # one scope bounds both, not redis-py's two
    assert conn.socket_timeout == 0.05  # restored for the connection's other commands


async def test_a_pool_lends_a_lane_only_when_it_has_connections_to_spare() -> None:
    roomy = ConnectionPool()
    small = ConnectionPool(max_connections=4)
    blocking = BlockingConnectionPool(max_connections=100)
    try:
        assert redis_call._lane(roomy) is not None
        assert redis_call._lane(small) is None
        assert redis_call._lane(blocking) is None
    finally:
        for pool in (roomy, small, blocking):
            await pool.aclose()


async def test_a_resp3_pool_keeps_its_connections_for_redis_py() -> None:
    resp3 = ConnectionPool(protocol=3)
    try:
        assert redis_call._lane(resp3) is None
    finally:
        await resp3.aclose()
