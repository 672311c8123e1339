"""What the Lambda handlers share: clients built once, and an event loop per thread.

A Lambda process runs one invocation at a time, but async Redis clients belong to the
event loop that made them: each thread keeps one loop and one Redis client for all of its
invocations (a warm container reuses both). The local emulator runs several invocations
at once, each on its own thread, exactly like this.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Mapping
from functools import cache
from typing import Any, TypeVar

from corral.dlq import DeadLetterQueue
from corral.results import ResultStore
from corral.scripts import RedisClient
from corral.settings import get_settings
from corral.snapshot import after_restore
from corral.store import JobStore

T = TypeVar("T")


@cache
def aws_client(service: str) -> Any:
    """A boto3 client with standard retries, built once per process."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard"}, region_name=get_settings().region)
    return boto3.client(service, config=config)  # type: ignore[call-overload]


# A restored snapshot's clients would reuse pooled HTTP connections that are gone.
after_restore(aws_client.cache_clear)


def build_store() -> JobStore:
    """The job table of the settings, with large results in the bucket if one is set."""
    settings = get_settings()
    s3 = aws_client("s3") if settings.bucket else None
    results = ResultStore(s3, settings.bucket)
    return JobStore(aws_client("dynamodb"), settings.table, results=results)


def build_dlq() -> DeadLetterQueue | None:
    """The dead-letter queue of the settings, or None if none is configured."""
    url = get_settings().dlq_url
    return DeadLetterQueue(aws_client("sqs"), url) if url else None


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
            local.loop = asyncio.new_event_loop()
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
