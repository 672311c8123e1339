"""One command on a plain redis-py client with less Python per call than
``execute_command``: the script calls' path (``scripts.run_script``).

``execute_command`` encodes every argument in Python, and wraps each call in layers a
script call does not need (the observability hooks, the per-command dispatch). Here the
command is packed in one C call (hiredis) and sent on a connection of the client's pool,
under the client's retry policy and timeouts. That is about 20 µs less per call, most
of a single enqueue's Python time besides the round trip itself.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TypeGuard

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import DataError
from redis.exceptions import TimeoutError as RedisTimeoutError

WAIT_FOR_STARTS_A_TASK = sys.version_info < (3, 12)
"""redis-py bounds each send with ``asyncio.wait_for``, which starts a task per call
before Python 3.12 (since then it is a timeout scope)."""


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


async def call(client: Redis, command: tuple[Any, ...]) -> Any:
    """Send ``command`` (name first) and return its reply, decoded as the client decodes."""
    try:
        packed = hiredis.pack_command(command)
    except TypeError as exc:  # what redis-py raises for a bool or a None
        raise DataError(str(exc)) from exc
    pool = client.connection_pool
    conn = await pool.get_connection()  # type: ignore[no-untyped-call]

    async def send_and_read() -> Any:
        await _send(conn, packed)
        return await conn.read_response()

    async def close(_: BaseException) -> None:
        await conn.disconnect()

    try:
        return await conn.retry.call_with_retry(send_and_read, close)
    finally:
        await pool.release(conn)


async def _send(conn: AbstractConnection, packed: bytes) -> None:
    """Send under the connection's socket timeout; where ``wait_for`` would start a task
    for that, one timeout scope holds the same limit over the (buffered) write."""
    timeout = conn.socket_timeout
    if not timeout or not WAIT_FOR_STARTS_A_TASK:
        await conn.send_packed_command(packed)
        return
    conn.socket_timeout = None
    try:
        async with asyncio.timeout(timeout):
            await conn.send_packed_command(packed)
    except TimeoutError:
        # As redis-py does on a send that timed out: the connection is closed.
        await conn.disconnect(nowait=True)
        raise RedisTimeoutError("Timeout writing to socket") from None
    finally:
        conn.socket_timeout = timeout
