"""What the poller and reconciler handler tests share: moto, a private key prefix on the
shared Redis, runtimes wired to them, and a Lambda context with a real deadline."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

from corral.dlq import DeadLetterQueue
from corral.job import JobOptions
from corral.lambda_support import ThreadLoops
from corral.poller import PollerRuntime, PollerSettings
from corral.queue import Queue
from corral.reconciler import ReconcilerRuntime
from corral.scripts import RedisClient
from corral.service import JobService
from corral.store import JobStore
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL, delete_prefix
from tests.support.awsmock import AwsStack, start_aws
from tests.support.testqueues import registry

EVENTS = Path(__file__).resolve().parents[2] / "events"
T = TypeVar("T")


def load_event(name: str, **changes: Any) -> dict[str, Any]:
    """An event from ``events/``, with top-level fields replaced."""
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return {**event, **changes}


@dataclass
class FakeContext:
    """A Lambda context whose remaining time runs down with the wall clock."""

    budget_ms: int
    function_name: str = "corral-poller-work"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:corral-poller"
    aws_request_id: str = field(default_factory=lambda: uuid4().hex)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.budget_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class LambdaEnv:
    aws: AwsStack
    store: JobStore
    dlq: DeadLetterQueue
    prefix: str
    loops: ThreadLoops
    started: list[str] = field(default_factory=list)

    def run(self, work: Callable[[RedisClient], Awaitable[T]]) -> T:
        async def call(redis: RedisClient) -> T:
            return await work(redis)

        return self.loops.run(call)

    def service(self, redis: RedisClient) -> JobService:
        return JobService.build(registry, redis, self.store, prefix=self.prefix, dlq=self.dlq)

    def queue(self, redis: RedisClient, name: str = "work") -> Queue:
        return Queue(redis, registry.get(name), prefix=self.prefix)

    def enqueue(
        self, data: dict[str, Any], queue: str = "work", options: JobOptions | None = None
    ) -> str:
        async def add(redis: RedisClient) -> str:
            accepted = await self.service(redis).enqueue(queue, data, options, "acme")
            return accepted.job_id

        return self.run(add)

    def flush(self) -> int:
        """Lose every Redis key of this test, as a FLUSHALL would."""
        return self.run(lambda redis: delete_prefix(redis, self.prefix))

    async def record_start(self, queue: str) -> None:
        """Count a start request from fan-out (the runtime's starter)."""
        self.started.append(queue)

    def poller_runtime(self, **settings: Any) -> PollerRuntime:
        options = {"linger_ms": 300, "refresh_ms": 500, **settings}
        return PollerRuntime(
            registry,
            self.store,
            self.dlq,
            self.loops,
            prefix=self.prefix,
            settings=PollerSettings(**options),
            starter=self.record_start,
        )

    def reconciler_runtime(self, grace_ms: int = 0) -> ReconcilerRuntime:
        return ReconcilerRuntime(
            registry, self.store, self.dlq, self.loops, prefix=self.prefix, grace_ms=grace_ms
        )

    def dead_letters(self) -> list[dict[str, Any]]:
        reply = self.aws.sqs.receive_message(
            QueueUrl=self.aws.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return [json.loads(m["Body"]) for m in reply.get("Messages", [])]


def lambda_env() -> Iterator[LambdaEnv]:
    """Build a ``LambdaEnv``; its keys are deleted and its loop closed afterwards."""
    prefix = f"t{uuid4().hex[:12]}"
    loops = ThreadLoops(lambda: Redis.from_url(SHARED_REDIS_URL, decode_responses=True))
    for aws in start_aws():
        store = JobStore(aws.dynamodb, aws.table)
        env = LambdaEnv(aws, store, DeadLetterQueue(aws.sqs, aws.dlq_url, wait_s=0), prefix, loops)
        try:
            yield env
        finally:
            env.flush()
            loops.close()
            store.close()
