"""The pool's script lane: one connection a pool lends for good to script calls made one
at a time (``redis_call``), and the round trip on it.

redis-py opens the connection (TLS, AUTH, HELLO, SELECT: its whole handshake); then the
lane sets a protocol of its own on the connection's transport (``LaneProtocol``), which
parses each reply with hiredis as its bytes arrive and hands it to the waiting call. That
skips redis-py's stream reader and its send and read wrappers: about 24,000 fewer client
instructions per call, half of what one cost. What those wrappers do that matters is done
here the same way:

- before a call the connection is checked as the pool checks one it lends (one the server
  closed while it sat idle, or holding bytes nobody asked for, opens anew), connected if
  it is not, and pinged when its ``health_check_interval`` is due;
- any error or cancellation while sending or reading closes the connection, so no reply
  is ever left for the next call; an ``OSError`` or a lost connection is raised as
  redis-py's ``ConnectionError``, a reply error as its ``ResponseError`` (the same
  classes, ``NoScriptError``..., from redis-py's own error parser), without closing; the
  client's retry policy retries what it retries;
- a round trip longer than the connection's ``socket_timeout`` is cut short with
  redis-py's ``TimeoutError``. One watchdog timer per lane enforces it, re-armed about once
  per timeout period, instead of a timeout scope (a timer set and cancelled) per call.

Only RESP2 connections take the lane (``redis_call``): RESP3 may interleave push messages.
"""

from __future__ import annotations

import asyncio
from typing import Any

import hiredis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

PING = b"*1\r\n$4\r\nPING\r\n"
NOT_ENOUGH = object()
"""What the lane's hiredis reader answers while a reply is still incomplete."""


class LaneProtocol(asyncio.Protocol):
    """Takes the lane connection's bytes in place of redis-py's stream reader.

    The protocol it replaces (``inner``) still hears of the connection's end, so that
    redis-py's ``disconnect`` finds its stream closed as usual.
    """

    __slots__ = ("closed", "inner", "reader", "transport", "waiter")

    def __init__(self, conn: AbstractConnection, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.inner: asyncio.Protocol = transport.get_protocol()  # type: ignore[assignment]
        encoder = conn.encoder
        options: dict[str, Any] = {}
        if encoder.decode_responses:
            options = {"encoding": encoder.encoding, "errors": encoder.encoding_errors}
        self.reader = hiredis.Reader(
            protocolError=InvalidResponse,
            replyError=conn._parser.parse_error,
            notEnoughData=NOT_ENOUGH,
            **options,
        )
        self.waiter: asyncio.Future[Any] | None = None
        self.closed = False
        transport.set_protocol(self)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiter = self.waiter
        if waiter is None or waiter.done():
            return  # nobody asked: the bytes stay, and the next call finds them (stale)
        try:
            reply = self.reader.gets()
        except InvalidResponse as exc:
            self.waiter = None
            waiter.set_exception(RedisConnectionError(f"Protocol error: {exc}"))
            return
        if reply is not NOT_ENOUGH:
            self.waiter = None
            waiter.set_result(reply)

    def eof_received(self) -> bool | None:
        self._end()
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()
        self.inner.connection_lost(exc)

    def _end(self) -> None:
        """The server closed the connection: no reply will come."""
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(RedisConnectionError("Connection closed by server."))

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    @property
    def stale(self) -> bool:
        """The server closed the connection, or sent bytes no call asked for."""
        return self.closed or self.transport.is_closing() or bool(self.reader.has_data())


class Lane:
    """One pool's lane: its connection and protocol, whether a call holds it, and the
    watchdog."""

    __slots__ = (
        "busy",
        "conn",
        "deadline",
        "expired",
        "marked",
        "protocol",
        "task",
        "timer",
        "timer_loop",
    )

    def __init__(self) -> None:
        self.conn: AbstractConnection | None = None
        self.protocol: LaneProtocol | None = None
        """Set on the connection's transport while it is open and fit for a call."""
        self.marked: Any = None
        """The connection's ``should_reconnect`` (redis-py 7 and later)."""
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
            try:
                return await self._round_trip(self._fit() or await self._open(pool), packed)
            except Exception as exc:
                return await self._retry(pool, packed, exc)
            finally:
                # What the pool does on a return: a connection marked to reconnect (the
                # server announced maintenance, or new credentials) is closed, and opens
                # anew on its next call.
                marked = self.marked
                if marked is not None and marked():
                    self.protocol = None
                    await self.conn.disconnect()  # type: ignore[union-attr]
        finally:
            self.busy = False

    def _fit(self) -> LaneProtocol | None:
        """The lane's protocol if its connection is fit for a call; None: open it anew."""
        protocol = self.protocol
        return None if protocol is None or protocol.stale else protocol

    async def _open(self, pool: ConnectionPool) -> LaneProtocol:
        """The lane's connection, opened (anew, if the server closed it while it sat idle)
        and with the lane's protocol set on its transport."""
        conn = self.conn
        if conn is None:
            conn = self.conn = await pool.get_connection()  # type: ignore[no-untyped-call]
            self.marked = getattr(conn, "should_reconnect", None)
        elif conn.is_connected and self.protocol is not None:
            await conn.disconnect()  # stale: opens anew, rather than failing the call
        self.protocol = None
        if not conn.is_connected:
            await conn.connect()
        writer = conn._writer
        if writer is None or writer.transport.is_closing():
            raise RedisConnectionError("Connection closed by the server before write")
        self.protocol = LaneProtocol(conn, writer.transport)  # type: ignore[arg-type]
        return self.protocol

    async def _retry(self, pool: ConnectionPool, packed: bytes, first: Exception) -> Any:
        """The client's retry policy, from a first attempt that failed with ``first``.

        The first attempt runs outside the policy, so a call that succeeds does not pay for
        its wrapping (two closures and a frame); the policy then sees ``first`` as its own
        first failure: it closes the connection, backs off and tries again, or raises, as
        it would have.
        """
        conn = self.conn
        if conn is None:  # the pool could not lend one: nothing to retry on
            raise first
        failed = [first]

        async def round_trip() -> Any:
            if failed:
                raise failed.pop()
            return await self._round_trip(self._fit() or await self._open(pool), packed)

        async def close(_: BaseException) -> None:
            self.protocol = None
            await conn.disconnect()

        return await conn.retry.call_with_retry(round_trip, close)

    async def _round_trip(self, protocol: LaneProtocol, packed: bytes) -> Any:
        """Write ``packed`` and await its reply, within the socket timeout."""
        conn: Any = self.conn
        loop = asyncio.get_running_loop()
        interval = conn.health_check_interval
        if interval:
            if loop.time() > conn.next_health_check and packed is not PING:
                await self._round_trip(protocol, PING)
            conn.next_health_check = loop.time() + interval
        timeout = conn.socket_timeout
        task = None
        if timeout:
            task = asyncio.current_task()
            self._arm(loop, timeout)
        waiter = protocol.waiter = loop.create_future()
        self.task = task
        self.expired = False
        try:
            protocol.transport.write(packed)
            reply = await waiter
        except asyncio.CancelledError:
            self.protocol = None
            await conn.disconnect(nowait=True)
            if self.expired and task is not None and task.uncancel() == 0:
                raise RedisTimeoutError("Timeout sending a command or reading its reply") from None
            raise
        except OSError as exc:
            self.protocol = None
            await conn.disconnect(nowait=True)
            raise RedisConnectionError(f"Error while reading a reply: {exc.args}") from exc
        except BaseException:
            self.protocol = None
            await conn.disconnect(nowait=True)
            raise
        finally:
            self.task = None
            protocol.waiter = None
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
