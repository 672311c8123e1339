"""What the Lambda handlers share: an event loop per thread, and the queue of a poller event.

A Lambda process runs one invocation at a time, but async Redis clients belong to the
event loop that made them: each thread keeps one loop and one Redis client for all of its
invocations (a warm container reuses both). The local emulator runs several invocations
at once, each on its own thread, exactly like this.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from corral.event_loops import new_loop
from corral.scripts import RedisClient

T = TypeVar("T")


class ThreadLoops:
    """One event loop and one Redis client per thread, kept across invocations.

    Args:
        redis_factory: makes a Redis client (called inside the thread's loop).
    """

    def __init__(self, redis_factory: Callable[[], RedisClient]) -> None:
        self.redis_factory = redis_factory
        self._local = threading.local()
        self._lock = threading.Lock()
        self._made: list[tuple[asyncio.AbstractEventLoop, list[RedisClient]]] = []

    def run(self, work: Callable[[RedisClient], Coroutine[Any, Any, T]]) -> T:
        """Run ``work(redis)`` to completion on this thread's loop."""
        local = self._local
        if getattr(local, "loop", None) is None:
            local.loop = new_loop()
            local.clients = []
            with self._lock:
                self._made.append((local.loop, local.clients))
        loop: asyncio.AbstractEventLoop = local.loop
        clients: list[RedisClient] = local.clients

        async def call() -> T:
            if not clients:
                clients.append(self.redis_factory())
            return await work(clients[0])

        return loop.run_until_complete(call())

    def close(self) -> None:
        """Close every thread's client and loop; call it once no invocation is running."""
        with self._lock:
            made, self._made = self._made, []
        for loop, clients in made:
            for client in clients:
                loop.run_until_complete(client.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        self._local = threading.local()


def queue_of(event: Mapping[str, Any] | None, default: str = "") -> str:
    """The queue a poller serves: its environment's, else the event's."""
    if default:
        return default
    event = event or {}
    detail = event.get("detail")
    if isinstance(detail, Mapping) and detail.get("queue"):
        return str(detail["queue"])
    return str(event.get("queue") or "")
