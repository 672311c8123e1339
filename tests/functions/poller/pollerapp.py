"""The API with real wake-ups: its waker starts an in-process poller, as the emulator's does.

No schedule ticks run here, so a job that starts did so because something woke a poller.
The pollers drain a real queue (Redis) into the job table and dead-letter queue (moto).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from api.auth import Authenticator
from api.factory import create_app
from corral.context import JobContext
from corral.definition import QueueDefinition, QueueRegistry
from corral.dlq import DeadLetterQueue
from corral.failures import FailureRecorder
from corral.job import Backoff, BackoffType
from corral.poller import Poller
from corral.poller.hooks import StoreHooks
from corral.poller.run import PollerSettings
from corral.queue import Queue
from corral.store import JobStore
from corral.wake import FlaggedWaker
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL
from tests.functions.apiapp import API_KEYS, delete_prefix_sync
from tests.support.awsmock import AwsStack

QUEUE = "work"


class Work(BaseModel):
    """Fail the first ``fail_times`` attempts, then succeed."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    sub_account_id: str | None = None
    fail_times: int = 0


@dataclass
class Runs:
    """Every attempt a handler made: (job id, attempt)."""

    seen: list[tuple[str, int]] = field(default_factory=list)

    async def handle(self, payload: Work, job: JobContext) -> dict[str, int]:
        self.seen.append((job.id, job.attempt))
        if job.attempt <= payload.fail_times:
            raise RuntimeError(f"failing attempt {job.attempt} on purpose")
        return {"attempt": job.attempt}

    def of(self, job_id: str) -> list[int]:
        return [attempt for seen, attempt in self.seen if seen == job_id]


@dataclass
class WakingApi:
    """A running app whose wake-ups start pollers, and what those pollers ran."""

    client: TestClient
    runs: Runs
    redis: Redis
    prefix: str
    pollers: list[asyncio.Task[Any]]

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.portal.call(fn, *args)  # type: ignore[union-attr]

    def pollers_running(self) -> bool:
        return self.run(_any_running, self.pollers)  # type: ignore[no-any-return]


async def _any_running(tasks: list[asyncio.Task[Any]]) -> bool:
    return any(not task.done() for task in tasks)


def wait_for(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``check`` every 20 ms until it is truthy; fail after ``timeout_s``."""
    end = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what} did not happen within {timeout_s} s")
        time.sleep(0.02)


def start_waking_api(aws: AwsStack, prefix: str) -> Iterator[WakingApi]:
    """Yield the app; its pollers are awaited and its Redis keys deleted afterwards."""
    runs = Runs()
    work = QueueDefinition(
        name=QUEUE,
        payload=Work,
        handler=runs.handle,
        attempts=2,
        backoff=Backoff(type=BackoffType.FIXED, delay=60_000, jitter=0),
        timeout_ms=5_000,
    )
    registry = QueueRegistry([work])
    redis = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    store = JobStore(aws.dynamodb, aws.table)
    dlq = DeadLetterQueue(aws.sqs, aws.dlq_url, wait_s=0)
    failures = FailureRecorder(store, dlq)
    pollers: list[asyncio.Task[Any]] = []
    settings = PollerSettings(linger_ms=300, refresh_ms=1000)

    async def start(queue: str) -> None:
        q = Queue(redis, registry.get(queue), prefix=prefix)
        poller = Poller(q, StoreHooks(q, store, failures), settings=settings)
        pollers.append(asyncio.get_running_loop().create_task(poller.run()))

    app = create_app(
        registry,
        redis=redis,
        store=store,
        dlq=dlq,
        waker=FlaggedWaker(redis, start, prefix=prefix),
        prefix=prefix,
        authenticator=Authenticator.from_setting(API_KEYS),
    )
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            api = WakingApi(client, runs, redis, prefix, pollers)
            yield api
            wait_for(lambda: not api.pollers_running(), 10, "the pollers to exit")
            client.portal.call(redis.aclose)  # type: ignore[union-attr]
    finally:
        store.close()
        delete_prefix_sync(prefix)
