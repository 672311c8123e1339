"""Failures of backing services, turned into one error the API answers with 503."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from corral.errors import CorralError

T = TypeVar("T")

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


class ServiceUnavailableError(CorralError):
    """A backing service (redis, dynamodb, sqs) cannot be reached; nothing was half-done."""

    def __init__(self, component: str, message: str) -> None:
        super().__init__(message)
        self.component = component


@contextlib.contextmanager
def redis_guard() -> Iterator[None]:
    """Turn Redis connection failures into ServiceUnavailableError."""
    try:
        yield
    except REDIS_DOWN as exc:
        raise ServiceUnavailableError("redis", f"Redis is unreachable: {exc}") from exc


async def guarded_aws(work: Awaitable[T], component: str = "dynamodb") -> T:
    """Await ``work``, which calls AWS; its failures become 503s as ``aws`` makes them."""
    try:
        return await work
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailableError(component, f"{component} call failed: {exc}") from exc


async def aws(component: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking boto3 call off the event loop; AWS failures become 503s."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except (BotoCoreError, ClientError) as exc:
        raise ServiceUnavailableError(component, f"{component} call failed: {exc}") from exc
