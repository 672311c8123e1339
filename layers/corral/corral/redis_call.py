"""One command on a plain redis-py client with less Python per call than
``execute_command``: the script calls' path (``scripts.run_call``).

``execute_command`` encodes every argument in Python, and wraps each call in layers a
script call does not need (the observability hooks, the per-command dispatch). Here the
command is packed in one C call (hiredis) and sent under the client's retry policy and
timeouts on the pool's *lane* (``redis_lane``): one connection the pool lends for good,
so that a call made while no other is in flight skips the pool's check-out and return
(about 15 µs of bookkeeping) and redis-py's stream reader, parser and their wrappers. A
call made while the lane is busy takes a connection from the pool as usual; so does every
call of a RESP3 client. The pool's ``disconnect`` (``Redis.aclose``) closes the lane with
the rest.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeGuard

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import DataError
from redis.exceptions import TimeoutError as RedisTimeoutError

from corral.redis_lane import Lane


def direct(client: object) -> TypeGuard[Redis]:
    """A plain pooled client, whose calls may take this path.

    A cluster routes by key, a single-connection client holds a lock, and a subclass that
    overrides ``execute_command`` (instrumentation, tests) expects to see every call.
    """
    return (
        isinstance(client, Redis)
        and type(client).execute_command is Redis.execute_command
        and not client.single_connection_client
    )


LANE_MIN_POOL = 32
"""A pool that may hold fewer connections keeps them all for its callers: lending one
for good could starve them (a ``BlockingConnectionPool`` would wait for it forever)."""

LANE_ATTRIBUTE = "_corral_lane"
"""Where a pool keeps its lane: on the pool itself, so that the lane lives and dies with
it, and finding it is one attribute read per call."""


def _lane(pool: ConnectionPool) -> Lane | None:
    lane: Lane | None = getattr(pool, LANE_ATTRIBUTE, None)
    if lane is None:
        if type(pool) is not ConnectionPool or pool.max_connections < LANE_MIN_POOL:
            return None
        if str(pool.connection_kwargs.get("protocol") or 2) != "2":
            return None  # RESP3 may interleave push messages with replies
        lane = Lane()
        setattr(pool, LANE_ATTRIBUTE, lane)
    return lane


def pack(command: tuple[Any, ...]) -> bytes:
    """``command`` as the bytes Redis reads (name first)."""
    try:
        packed: bytes = hiredis.pack_command(command)
    except TypeError as exc:  # what redis-py raises for a bool or a None
        raise DataError(str(exc)) from exc
    return packed


async def send(client: Redis, packed: bytes) -> Any:
    """Send a packed command and return its reply, decoded as the client decodes."""
    pool = client.connection_pool
    lane = _lane(pool)
    if lane is None or lane.busy:
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            return await _exchange(conn, packed)
        finally:
            await pool.release(conn)
    return await lane.call(pool, packed)


async def _exchange(conn: AbstractConnection, packed: bytes) -> Any:
    """Send and read one reply, retried as the connection's policy says.

    A call cancelled or failed midway leaves the connection closed (redis-py closes it on
    any error while sending or reading), so no reply is ever left for the next call.
    """

    async def send_and_read() -> Any:
        return await _send_and_read(conn, packed)

    async def close(_: BaseException) -> None:
        await conn.disconnect()

    return await conn.retry.call_with_retry(send_and_read, close)


async def _send_and_read(conn: AbstractConnection, packed: bytes) -> Any:
    """One round trip within the connection's socket timeout.

    redis-py bounds the send and the read apart, each in a timeout scope of its own (on
    Python 3.11 the send's ``wait_for`` even starts a task); one scope over both holds
    the round trip to the same limit for a third of the cost.
    """
    timeout = conn.socket_timeout
    if not timeout:
        await conn.send_packed_command(packed)
        return await conn.read_response()
    conn.socket_timeout = None
    try:
        async with asyncio.timeout(timeout):
            await conn.send_packed_command(packed)
            return await conn.read_response()
    except TimeoutError:
        # As redis-py does on a timeout: the connection is closed (the reply may come).
        await conn.disconnect(nowait=True)
        raise RedisTimeoutError("Timeout sending a command or reading its reply") from None
    finally:
        if conn.socket_timeout is None:  # unless redis-py set another meanwhile
            conn.socket_timeout = timeout
