"""Redis lost a queue (a flush): the next enqueue or poller run notices its marker gone
and starts a reconcile at once, which puts every pending job back within seconds, not
at the next scheduled run. Runs on a private redis-server, since it flushes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from corral.definition import QueueDefinition, QueueRegistry
from corral.failures import FailureRecorder
from corral.index_marker import IndexMarker
from corral.job import JobOptions
from corral.poller import Poller, PollerSettings
from corral.reconciler import Reconciler
from corral.records import JobRecord
from corral.service import JobService
from corral.store import JobStore
from redis.asyncio import Redis

from tests.conftest import Payload, noop
from tests.support.awsmock import AwsStack, start_aws

GRACE_MS = 1_000
"""The reconciler leaves records younger than this to a second pass (an enqueue in flight)."""
LATER = JobOptions(delay=600_000)
"""Jobs that stay pending for the whole test."""


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


@pytest.fixture
async def private_redis(lone_port: int) -> AsyncIterator[Redis]:
    client = Redis(host="127.0.0.1", port=lone_port, decode_responses=True)
    await client.flushall()
    try:
        yield client
    finally:
        await client.aclose()


class Deployment:
    """The API's service and a reconciler, with reconciles started as tasks (async invokes)."""

    def __init__(self, redis: Redis, aws: AwsStack, prefix: str) -> None:
        registry = QueueRegistry([QueueDefinition(name="jobs", payload=Payload, handler=noop)])
        self.store = JobStore(aws.dynamodb, aws.table)
        self.started: list[asyncio.Task[Any]] = []
        self.marker = IndexMarker(self.start_reconcile)
        self.service = JobService.build(
            registry, redis, self.store, prefix=prefix, marker=self.marker
        )
        self.queue = self.service.queue("jobs")
        failures = FailureRecorder(self.store, None)
        self.reconciler = Reconciler(self.service.queues, self.store, failures, grace_ms=GRACE_MS)

    async def start_reconcile(self, queue: str) -> None:
        self.started.append(asyncio.create_task(self.reconciler.run([queue], lost=True)))

    async def pending_in_redis(self) -> int:
        counts = await self.queue.counts()
        return counts.waiting + counts.delayed


async def flushed(redis: Redis, aws: AwsStack, prefix: str, jobs: int) -> Deployment:
    """A deployment that took ``jobs`` pending jobs (and reconciled their queue's first
    use), then lost them all to a flush."""
    deployment = Deployment(redis, aws, prefix)
    for i in range(jobs):
        await deployment.service.enqueue("jobs", {"n": i}, LATER, "acme")
    await asyncio.gather(*deployment.started)
    deployment.started.clear()
    await redis.flushall()
    return deployment


async def wait_for(check: Any, want: int, timeout_s: float = 10.0) -> float:
    """Seconds until ``await check()`` reaches ``want``."""
    started = time.monotonic()
    while await check() < want:
        assert time.monotonic() - started < timeout_s, "not restored in time"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_the_next_enqueue_after_a_flush_restores_every_pending_job_within_seconds(
    private_redis: Redis, aws: AwsStack, prefix: str
) -> None:
    deployment = Deployment(private_redis, aws, prefix)
    for i in range(20):
        await deployment.service.enqueue("jobs", {"n": i}, LATER, "acme")
    assert len(deployment.started) == 1  # the queue's first use: nothing to restore
    await asyncio.gather(*deployment.started)
    deployment.started.clear()

    await private_redis.flushall()
    await deployment.service.enqueue("jobs", {"n": 20}, LATER, "acme")

    assert len(deployment.started) == 1
    took = await wait_for(deployment.pending_in_redis, 21)
    # Jobs accepted moments before the flush wait out the grace, and no longer.
    assert took < GRACE_MS / 1000 + 5


async def test_a_poller_run_after_a_flush_starts_a_reconcile(
    private_redis: Redis, aws: AwsStack, prefix: str
) -> None:
    deployment = await flushed(private_redis, aws, prefix, 5)

    poller = Poller(
        deployment.queue, settings=PollerSettings(linger_ms=0), marker=deployment.marker
    )
    await poller.run()

    assert len(deployment.started) == 1
    await wait_for(deployment.pending_in_redis, 5)
    # The marker is back: the next poller run starts nothing more.
    await Poller(
        deployment.queue, settings=PollerSettings(linger_ms=0), marker=deployment.marker
    ).run()
    assert len(deployment.started) == 1


class CountingRedis:
    """A client that records the name of every command method the caller reaches for."""

    def __init__(self, inner: Redis) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.inner, name)


async def test_an_enqueue_tests_the_marker_in_its_one_round_trip(
    private_redis: Redis, aws: AwsStack, prefix: str
) -> None:
    counting = CountingRedis(private_redis)
    deployment = Deployment(counting, aws, prefix)  # type: ignore[arg-type]
    await deployment.service.enqueue("jobs", {"n": 1}, LATER, "acme")
    await asyncio.gather(*deployment.started)
    counting.calls.clear()

    await deployment.service.enqueue("jobs", {"n": 2}, LATER, "acme")

    assert counting.calls == ["evalsha"]
    assert len(deployment.started) == 1  # the marker is set: nothing more to reconcile


class FlakyListing(JobStore):
    """The job table, whose listing fails its first ``failures`` times (DynamoDB unavailable
    past the client's own retries)."""

    failures = 2

    def live_jobs(self, queue: str, page_size: int = 100) -> Iterator[JobRecord]:
        if self.failures:
            self.failures -= 1
            error = {"Error": {"Code": "ServiceUnavailable", "Message": "unavailable"}}
            raise ClientError(error, "Query")  # type: ignore[arg-type]
        return super().live_jobs(queue, page_size)


def flaky_reconciler(deployment: Deployment, aws: AwsStack) -> tuple[FlakyListing, Reconciler]:
    """A reconciler of the deployment's queues whose table listing fails at first."""
    flaky = FlakyListing(aws.dynamodb, aws.table)
    failures = FailureRecorder(deployment.store, None)
    return flaky, Reconciler(deployment.service.queues, flaky, failures, grace_ms=0)


async def test_a_reconcile_after_a_flush_tries_again_when_dynamodb_fails(
    private_redis: Redis, aws: AwsStack, prefix: str
) -> None:
    deployment = await flushed(private_redis, aws, prefix, 5)
    flaky, reconciler = flaky_reconciler(deployment, aws)

    reports = await reconciler.run(["jobs"], lost=True)

    assert flaky.failures == 0
    assert len(reports["jobs"].restored) == 5
    assert await deployment.pending_in_redis() == 5


async def test_a_scheduled_reconcile_leaves_a_failed_queue_to_its_next_run(
    private_redis: Redis, aws: AwsStack, prefix: str
) -> None:
    deployment = await flushed(private_redis, aws, prefix, 1)
    flaky, reconciler = flaky_reconciler(deployment, aws)

    assert await reconciler.run(["jobs"]) == {}
    assert flaky.failures == 1
