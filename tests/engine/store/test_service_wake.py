"""Waking a poller: only when no poller of the queue holds the flag; never failing."""

from __future__ import annotations

import json
from typing import Any

from corral.keys import QueueKeys
from corral.wake import FlaggedWaker, function_name_for, lambda_starter
from redis.asyncio import Redis


async def test_only_an_unflagged_queue_is_woken(single_redis: Redis, prefix: str) -> None:
    started: list[str] = []

    async def start(queue: str) -> None:
        started.append(queue)

    waker = FlaggedWaker(single_redis, start, prefix=prefix, flag_ttl_ms=5000)
    await waker.wake("email")
    await waker.wake("email")
    await waker.wake("sms")
    assert started == ["email", "sms"]
    flag = QueueKeys("email", prefix).poller_flag()
    assert 0 < await single_redis.pttl(flag) <= 5000
    await single_redis.delete(flag)  # the poller exits
    await waker.wake("email")
    assert started == ["email", "sms", "email"]


async def test_a_failed_wake_up_is_swallowed(single_redis: Redis, prefix: str) -> None:
    async def start(queue: str) -> None:
        raise RuntimeError("lambda is throttled")

    await FlaggedWaker(single_redis, start, prefix=prefix).wake("email")
    dead = Redis(host="127.0.0.1", port=1)
    try:
        await FlaggedWaker(dead, start, prefix=prefix).wake("email")
    finally:
        await dead.aclose()


class FakeLambda:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"StatusCode": 202}


async def test_the_lambda_starter_invokes_the_queues_poller_asynchronously() -> None:
    client = FakeLambda()
    start = lambda_starter(client, function_name_for("corral-poller-{queue}"))  # type: ignore[arg-type]
    await start("email")
    [call] = client.calls
    assert (call["FunctionName"], call["InvocationType"]) == ("corral-poller-email", "Event")
    assert json.loads(call["Payload"])["queue"] == "email"
    assert function_name_for("shared")("email") == "shared"
