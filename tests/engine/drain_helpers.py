"""Helpers for the drain and limits tests: real-clock queues, a start recorder, a client
that counts commands, and a drainer child process that a test can kill with SIGKILL.

Run as ``python -m tests.engine.drain_helpers REDIS_URL PREFIX LEASE_CAP LEASE_MARGIN``: the
child drains the ``jobs`` queue with a handler that marks its start in Redis and then hangs.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from corral.context import JobContext
from corral.definition import QueueDefinition
from corral.drain import Drainer
from corral.queue import LeaseSettings, Queue
from redis.asyncio import Redis

from tests.conftest import Payload

STARTED_MARK = "child-started"
"""Key (under the test's prefix) the child's handler sets to the id of the job it started."""


def real_queue(
    redis: Any,
    prefix: str,
    handler: Callable[..., Any],
    *,
    lease: LeaseSettings | None = None,
    **options: Any,
) -> Queue:
    """A ``Queue`` of ``Payload`` jobs on the real clock (leases and limits need real time)."""
    definition = QueueDefinition(name="jobs", payload=Payload, handler=handler, **options)
    return Queue(redis, definition, prefix=prefix, lease=lease)


class CountingRedis(Redis):
    """A client that counts the commands it sends, by name (to spot busy polling)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: Counter[str] = Counter()

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent[str(args[0]).upper()] += 1
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


class HookedRedis(Redis):
    """A client that awaits ``before_script()`` once, before its next script call is sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_script: Callable[[], Awaitable[None]] | None = None

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        hook = self.before_script
        if hook is not None and str(args[0]).upper() == "EVALSHA":
            self.before_script = None
            await hook()
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


@dataclass
class Recorder:
    """What handlers saw: start order, and the most jobs running at once (overall, per group)."""

    starts: list[tuple[str, str, float]] = field(default_factory=list)
    running: int = 0
    max_running: int = 0
    group_running: Counter[str] = field(default_factory=Counter)
    group_max: Counter[str] = field(default_factory=Counter)

    def started(self, job: JobContext) -> None:
        self.starts.append((job.id, job.group, time.monotonic()))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.group_running[job.group] += 1
        self.group_max[job.group] = max(self.group_max[job.group], self.group_running[job.group])

    def finished(self, job: JobContext) -> None:
        self.running -= 1
        self.group_running[job.group] -= 1

    def handler(self, seconds: float) -> Callable[[Payload, JobContext], Awaitable[int]]:
        """An async handler that records its run and sleeps ``seconds``."""

        async def handle(payload: Payload, job: JobContext) -> int:
            self.started(job)
            try:
                await asyncio.sleep(seconds)
            finally:
                self.finished(job)
            return payload.n

        return handle


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    """Poll ``check`` until true; fails the test after ``timeout`` seconds."""
    give_up = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > give_up:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


async def drain_until(
    drainer: Drainer, check: Callable[[], Awaitable[bool]], timeout: float = 20.0
) -> None:
    """Run ``drainer`` with no deadline until ``check`` holds, then stop it cleanly."""
    task = asyncio.create_task(drainer.run())
    try:
        await wait_for(check, timeout)
    finally:
        drainer.stop()
        # An idle drainer sees the stop only when its blocking wait ends: end it now.
        await drainer.queue.redis.lpush(drainer.queue.keys.wake, "1")
        await asyncio.wait_for(task, timeout)


async def _child(url: str, prefix: str, cap_ms: int, margin_ms: int) -> None:
    client = Redis.from_url(url, decode_responses=True)

    async def hang(payload: Payload, job: JobContext) -> None:
        await client.set(f"{prefix}:{STARTED_MARK}", job.id)
        await asyncio.sleep(3600)

    lease = LeaseSettings(cap_ms=cap_ms, margin_ms=margin_ms)
    queue = real_queue(client, prefix, hang, lease=lease, timeout_ms=60_000)
    await Drainer(queue, concurrency=1, batch_size=1).run()


if __name__ == "__main__":
    url, prefix, cap, margin = sys.argv[1:5]
    asyncio.run(_child(url, prefix, int(cap), int(margin)))
