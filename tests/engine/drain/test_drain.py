"""The drain loop: handlers, results, retries, bad payloads, progress, the timeout watchdog
and heartbeats, against the real Redis (and the cluster) on the real clock."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from corral.context import JobContext
from corral.drain import Drainer
from corral.errors import NonRetryableError
from corral.job import Backoff, JobState
from corral.queue import LeaseSettings, NewJob, Queue
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL, Payload
from tests.engine.drain_helpers import drain_until, real_queue, wait_for

QueueMaker = Callable[..., Queue]


@pytest.fixture
def make(redis: Any, prefix: str) -> QueueMaker:
    """``make(handler, lease=None, **definition_options)`` on the test's Redis and prefix."""

    def build(
        handler: Callable[..., Any], lease: LeaseSettings | None = None, **opts: Any
    ) -> Queue:
        return real_queue(redis, prefix, handler, lease=lease, **opts)

    return build


async def test_async_handler_results_are_recorded(make: QueueMaker) -> None:
    async def double(payload: Payload, job: JobContext) -> dict[str, int]:
        return {"n": payload.n * 2, "attempt": job.attempt}

    queue = make(double)
    ids = [r.job_id for r in await queue.add_bulk([NewJob({"n": i}) for i in range(5)])]

    stats = await asyncio.wait_for(Drainer(queue, concurrency=2).run(until_empty=True), 20)

    assert (stats.claimed, stats.completed, stats.retried, stats.failed) == (5, 5, 0, 0)
    for i, job_id in enumerate(ids):
        job = await queue.get_job(job_id)
        assert job is not None
        assert (job.state, job.result, job.attempts_made) == (
            JobState.COMPLETED,
            {"n": i * 2, "attempt": 1},
            1,
        )
    counts = await queue.counts()
    assert (counts.waiting, counts.processing, counts.completed) == (0, 0, 5)


async def test_sync_handler_runs_off_the_event_loop(make: QueueMaker) -> None:
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    def work(payload: Payload, job: JobContext) -> int:
        threads.add(threading.get_ident())
        time.sleep(0.01)
        return payload.n + 1

    queue = make(work)
    ids = [r.job_id for r in await queue.add_bulk([NewJob({"n": i}) for i in range(4)])]

    stats = await asyncio.wait_for(Drainer(queue, concurrency=2).run(until_empty=True), 20)

    assert stats.completed == 4
    assert loop_thread not in threads
    results = [(await queue.get_job(job_id)).result for job_id in ids]  # type: ignore[union-attr]
    assert results == [1, 2, 3, 4]


async def test_failing_handler_retries_with_backoff_then_fails(make: QueueMaker) -> None:
    starts: list[tuple[int, float]] = []

    async def broken(payload: Payload, job: JobContext) -> None:
        starts.append((job.attempt, time.time()))
        raise RuntimeError(f"boom {job.attempt}")

    backoff = Backoff(type="exponential", delay=150, jitter=0)
    queue = make(broken, attempts=3, backoff=backoff)
    job_id = (await queue.add({"n": 1})).job_id
    drainer = Drainer(queue, concurrency=1)

    async def failed() -> bool:
        job = await queue.get_job(job_id)
        return job is not None and job.state is JobState.FAILED

    await drain_until(drainer, failed)

    assert [attempt for attempt, _ in starts] == [1, 2, 3]
    # Exponential: 150 ms after the first failure, 300 ms after the second (lower bounds only).
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(starts)]
    assert gaps[0] >= 0.14 and gaps[1] >= 0.29, gaps
    job = await queue.get_job(job_id)
    assert job is not None and job.attempts_made == 3
    assert job.error is not None and job.error["message"] == "boom 3"
    assert job.error["type"] == "RuntimeError" and "boom 3" in job.error["stack"]
    assert (drainer.stats.retried, drainer.stats.failed) == (2, 1)


async def test_non_retryable_error_fails_at_once(make: QueueMaker) -> None:
    calls = 0

    async def refuse(payload: Payload, job: JobContext) -> None:
        nonlocal calls
        calls += 1
        raise NonRetryableError("bad address")

    queue = make(refuse, attempts=5)
    job_id = (await queue.add({"n": 1})).job_id

    stats = await asyncio.wait_for(Drainer(queue).run(until_empty=True), 20)

    job = await queue.get_job(job_id)
    assert job is not None
    assert (job.state, job.attempts_made, calls) == (JobState.FAILED, 1, 1)
    assert job.error is not None and job.error["type"] == "NonRetryableError"
    assert (stats.failed, stats.retried) == (1, 0)


async def test_payload_that_no_longer_validates_fails_at_once(make: QueueMaker) -> None:
    calls = 0

    async def handle(payload: Payload, job: JobContext) -> None:
        nonlocal calls
        calls += 1

    queue = make(handle, attempts=5)
    job_id = (await queue.add({"n": 1})).job_id
    # The model changed under a queued job (a deploy), or the stored data was damaged.
    await queue.redis.hset(queue.keys.job(job_id), "data", json.dumps({"n": "not a number"}))

    await asyncio.wait_for(Drainer(queue).run(until_empty=True), 20)

    job = await queue.get_job(job_id)
    assert job is not None
    assert (job.state, job.attempts_made, calls) == (JobState.FAILED, 1, 0)
    assert job.error is not None and job.error["type"] == "ValidationError"


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_progress_lands_in_redis_while_the_job_runs(make: QueueMaker, kind: str) -> None:
    seen = threading.Event()

    async def async_handler(payload: Payload, job: JobContext) -> str:
        job.progress({"done": 50})
        await asyncio.to_thread(seen.wait, 10)
        return "ok"

    def sync_handler(payload: Payload, job: JobContext) -> str:
        job.progress({"done": 50})
        seen.wait(10)
        return "ok"

    queue = make(async_handler if kind == "async" else sync_handler)
    job_id = (await queue.add({"n": 1})).job_id
    drainer = Drainer(queue, concurrency=1)

    async def progress_visible() -> bool:
        job = await queue.get_job(job_id)
        if job is None or job.progress != {"done": 50}:
            return False
        assert job.state is JobState.ACTIVE, "progress must land while the job runs"
        seen.set()
        return True

    async def completed() -> bool:
        job = await queue.get_job(job_id)
        return job is not None and job.state is JobState.COMPLETED

    task = asyncio.create_task(drainer.run())
    try:
        await wait_for(progress_visible, 10)
        await wait_for(completed, 10)
    finally:
        seen.set()
        drainer.stop()
        await asyncio.wait_for(task, 10)
    job = await queue.get_job(job_id)
    assert job is not None and job.progress == {"done": 50} and job.result == "ok"


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_watchdog_fails_a_hung_handler_on_time_and_it_is_retried(
    make: QueueMaker, kind: str
) -> None:
    release = threading.Event()
    starts: list[float] = []
    cancelled: list[int] = []

    async def async_hang(payload: Payload, job: JobContext) -> str:
        starts.append(time.monotonic())
        if job.attempt == 1:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.append(job.attempt)
                raise
        return f"attempt {job.attempt}"

    def sync_hang(payload: Payload, job: JobContext) -> str:
        starts.append(time.monotonic())
        if job.attempt == 1:
            release.wait(30)
        return f"attempt {job.attempt}"

    handler = async_hang if kind == "async" else sync_hang
    queue = make(handler, timeout_ms=300, attempts=2, backoff=Backoff(type="fixed", delay=0))
    job_id = (await queue.add({"n": 1})).job_id
    drainer = Drainer(queue, concurrency=2)

    async def completed() -> bool:
        job = await queue.get_job(job_id)
        return job is not None and job.state is JobState.COMPLETED

    try:
        await drain_until(drainer, completed, timeout=15)
    finally:
        release.set()

    job = await queue.get_job(job_id)
    assert job is not None
    assert (job.result, job.attempts_made) == ("attempt 2", 2)
    assert job.error is not None and job.error["type"] == "JobTimeoutError"
    # Failed once its timeout passed, long before the hung handler would have returned.
    assert 0.3 <= starts[1] - starts[0] < 15
    if kind == "async":
        assert cancelled == [1]
    assert (drainer.stats.retried, drainer.stats.completed) == (1, 1)


@pytest.mark.slow
async def test_heartbeats_keep_a_job_longer_than_its_lease(make: QueueMaker, prefix: str) -> None:
    runs = 0

    async def long_job(payload: Payload, job: JobContext) -> str:
        nonlocal runs
        runs += 1
        await asyncio.sleep(5)
        return "done"

    # A lease of 400 + 1200 ms, renewed every ~530 ms; the job runs about three leases long.
    # (A shorter lease failed on a loaded machine: a half-second stall outlived it.)
    lease = LeaseSettings(cap_ms=400, margin_ms=1200)
    queue = make(long_job, lease=lease, timeout_ms=10_000)
    job_id = (await queue.add({"n": 1})).job_id
    drainer = Drainer(queue, concurrency=1)
    # Another poller looking for stalled jobs the whole time, on its own connection.
    other_client = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    if isinstance(queue.redis, Redis):
        other = real_queue(other_client, prefix, long_job, lease=lease, timeout_ms=10_000)
    else:
        other = queue
    stolen: list[str] = []

    async def completed() -> bool:
        requeued, failed = await other.recover_stalled()
        stolen.extend(requeued + failed)
        job = await queue.get_job(job_id)
        return job is not None and job.state is JobState.COMPLETED

    try:
        await drain_until(drainer, completed, timeout=20)
    finally:
        await other_client.aclose()

    job = await queue.get_job(job_id)
    assert job is not None
    assert (job.result, job.attempts_made, job.stalls, runs) == ("done", 1, 0, 1)
    assert stolen == []
    assert (drainer.stats.lease_lost, drainer.stats.stalled_requeued) == (0, 0)
