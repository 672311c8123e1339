"""The pool's script lane: one connection a pool lends for good to script calls made one
at a time (``redis_call``), and the round trip on it.

A call on the lane writes the packed command to the connection's stream and reads the
reply with the connection's own parser, skipping redis-py's send and read wrappers (their
checks, the per-call timeout scopes, the write buffer's drain): about 20 µs less per call.
What those wrappers do that matters is done here the same way:

- before a call the connection is checked as the pool checks one it lends (one the server
  closed while it sat idle opens anew), connected if it is not, and its health checked
  when its ``health_check_interval`` is due;
- any error or cancellation while sending or reading closes the connection, so no reply
  is ever left for the next call; an ``OSError`` is raised as redis-py's
  ``ConnectionError``, a reply error (``NOSCRIPT``...) as its ``ResponseError``, without
  closing; the client's retry policy retries what it retries;
- a round trip longer than the connection's ``socket_timeout`` is cut short with
  redis-py's ``TimeoutError``. One watchdog timer per lane enforces it, re-armed about once
  per timeout period, instead of a timeout scope (a timer set and cancelled) per call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


class Lane:
    """One pool's lane: its connection, whether a call holds it, and the watchdog."""

    __slots__ = ("busy", "conn", "deadline", "expired", "task", "timer", "timer_loop")

    def __init__(self) -> None:
        self.conn: AbstractConnection | None = None
        self.busy = False
        self.task: asyncio.Task[Any] | None = None
        """The task whose call is in flight (the watchdog cancels it past ``deadline``)."""
        self.deadline = 0.0
        self.expired = False
        self.timer: asyncio.TimerHandle | None = None
        self.timer_loop: asyncio.AbstractEventLoop | None = None

    async def call(self, pool: ConnectionPool, packed: bytes) -> Any:
        """Send ``packed`` on the lane and return its reply (the lane must not be busy)."""
        self.busy = True
        try:
            conn = self.conn
            if conn is None:
                conn = self.conn = await pool.get_connection()  # type: ignore[no-untyped-call]
            else:
                await _ready(conn)
            try:
                return await self._round_trip(conn, packed)
            except Exception as exc:
                return await self._retry(conn, packed, exc)
            finally:
                # What the pool does on a return: a connection marked to reconnect (the
                # server announced maintenance) is closed, and opens anew on its next call.
                marked = getattr(conn, "should_reconnect", None)
                if marked is not None and marked():
                    await conn.disconnect()
        finally:
            self.busy = False

    async def _retry(self, conn: AbstractConnection, packed: bytes, first: Exception) -> Any:
        """The client's retry policy, from a first attempt that failed with ``first``.

        The first attempt runs outside the policy, so a call that succeeds does not pay for
        its wrapping (two closures and a frame); the policy then sees ``first`` as its own
        first failure: it closes the connection, backs off and tries again, or raises, as
        it would have.
        """
        failed = [first]

        async def round_trip() -> Any:
            if failed:
                raise failed.pop()
            return await self._round_trip(conn, packed)

        async def close(_: BaseException) -> None:
            await conn.disconnect()

        return await conn.retry.call_with_retry(round_trip, close)

    async def _round_trip(self, conn: AbstractConnection, packed: bytes) -> Any:
        if not conn.is_connected:
            await conn.connect()  # type: ignore[no-untyped-call]
        task = asyncio.current_task()
        assert task is not None  # a call is always awaited in a task
        loop = task.get_loop()
        if conn.health_check_interval and loop.time() > conn.next_health_check:
            await conn.check_health()  # type: ignore[no-untyped-call]
        writer = conn._writer
        if writer is None or writer.transport.is_closing():
            raise RedisConnectionError("Connection closed by the server before write")
        timeout = conn.socket_timeout
        if timeout:
            self._arm(loop, timeout)
        parser: Any = conn._parser  # redis-py's reply parser for this connection
        self.task = task
        self.expired = False
        try:
            writer.write(packed)
            reply = await parser.read_response()
        except asyncio.CancelledError:
            await conn.disconnect(nowait=True)
            if self.expired and task.uncancel() == 0:
                raise RedisTimeoutError("Timeout sending a command or reading its reply") from None
            raise
        except OSError as exc:
            await conn.disconnect(nowait=True)
            raise RedisConnectionError(f"Error while reading a reply: {exc.args}") from exc
        except BaseException:
            await conn.disconnect(nowait=True)
            raise
        finally:
            self.task = None
        if isinstance(reply, ResponseError):
            raise reply
        return reply

    def _arm(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.deadline = loop.time() + timeout
        if self.timer is None or self.timer_loop is not loop:
            self.timer = loop.call_at(self.deadline, self._watch)
            self.timer_loop = loop

    def _watch(self) -> None:
        """Cut short a call past its deadline; follow the next deadline while calls go on."""
        self.timer = None
        task = self.task
        if task is None:
            return  # idle: the next call arms a timer again
        loop = task.get_loop()
        if loop.time() >= self.deadline:
            self.expired = True
            task.cancel()
        else:
            self.timer = loop.call_at(self.deadline, self._watch)
            self.timer_loop = loop


async def _ready(conn: AbstractConnection) -> None:
    """What the pool checks on a connection it lends: one the server closed meanwhile (an
    idle timeout, a Lambda frozen between calls) or with data nobody read is closed, to
    open anew on the send, rather than failing the call."""
    # can_read() since redis-py 8; can_read_destructive() before (deprecated since).
    probe = getattr(conn, "can_read", None) or conn.can_read_destructive
    try:
        stale = conn.is_connected and await probe()
    except (RedisConnectionError, RedisTimeoutError, OSError):
        stale = True
    if stale:
        await conn.disconnect()
