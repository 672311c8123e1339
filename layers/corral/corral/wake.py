"""Waking an idle poller after an enqueue, so an idle system still picks jobs up at once."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from corral.keys import PREFIX, QueueKeys

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient

logger = logging.getLogger(__name__)


class PollerWaker(Protocol):
    """Starts a poller of ``queue`` unless one is running."""

    async def wake(self, queue: str) -> None: ...


class NoWake:
    """For tests and for callers that only enqueue (the schedule picks jobs up)."""

    async def wake(self, queue: str) -> None:
        return None


class FlaggedWaker:
    """Wakes a poller only when the queue's poller flag is unset, and sets it.

    The flag (``QueueKeys.poller_flag()``) is set with a TTL: pollers keep it set while
    they run and delete it when they exit; the TTL covers a wake-up that never starts a
    poller (then the next enqueue after it expires tries again, and the schedule runs
    anyway). A failed wake-up never fails the enqueue: the job is already durable.

    Args:
        redis: an async Redis client.
        start: starts a poller of a queue (an async Lambda invoke, or in-process locally).
        prefix: the key prefix.
        flag_ttl_ms: how long a wake-up holds the flag.
    """

    def __init__(
        self,
        redis: Any,
        start: Callable[[str], Awaitable[None]],
        *,
        prefix: str = PREFIX,
        flag_ttl_ms: int = 10_000,
    ) -> None:
        self.redis = redis
        self.start = start
        self.prefix = prefix
        self.flag_ttl_ms = flag_ttl_ms

    async def wake(self, queue: str) -> None:
        try:
            flag = QueueKeys(queue, self.prefix).poller_flag()
            if await self.redis.set(flag, "waking", nx=True, px=self.flag_ttl_ms):
                await self.start(queue)
        except Exception:
            logger.warning("could not wake a poller of %s", queue, exc_info=True)


def lambda_starter(
    client: LambdaClient, function_for: Callable[[str], str]
) -> Callable[[str], Awaitable[None]]:
    """An async (``Event``) Lambda invoke of the queue's poller, with ``{"queue": name}``."""

    async def start(queue: str) -> None:
        await asyncio.to_thread(
            client.invoke,
            FunctionName=function_for(queue),
            InvocationType="Event",
            Payload=json.dumps({"queue": queue, "source": "corral.wake"}).encode(),
        )

    return start


def function_name_for(template: str) -> Callable[[str], str]:
    """Poller function names: ``template`` with ``{queue}`` filled in, or one shared name."""
    return lambda queue: template.format(queue=queue) if "{queue}" in template else template
