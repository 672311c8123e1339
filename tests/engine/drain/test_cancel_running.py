"""Cancelling a running job: request_cancel.lua's codes, the flag reaching the handler
through the drain loop's heartbeat, and the job ending cancelled, never retried."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from corral.context import JobContext
from corral.controls import request_cancel
from corral.drain import Drainer
from corral.job import JobState
from corral.queue import Outcome

from tests.conftest import Payload, QueueFactory
from tests.engine.drain_helpers import real_queue, wait_for


async def test_request_cancel_codes(make_queue: QueueFactory) -> None:
    queue = make_queue()
    waiting = (await queue.add({"n": 1})).job_id
    assert await request_cancel(queue, waiting) == -7
    assert await request_cancel(queue, "nope") == -1
    (job,) = (await queue.claim("w", 1)).jobs
    assert await request_cancel(queue, job.id) == 1
    assert await request_cancel(queue, job.id) == 1
    assert await queue.heartbeat([job], 10_000) == ([], [job.id])
    await queue.settle("w", [Outcome(job, "x", json.dumps({"message": "cancelled"}))])
    assert await request_cancel(queue, job.id) == -4

    stored = await queue.get_job(job.id)
    assert stored is not None and stored.state is JobState.CANCELLED
    assert stored.error == {"message": "cancelled"}
    counts = await queue.counts()
    assert (counts.processing, counts.cancelled) == (0, 1)
    # The flag goes with the attempt: a retry of the cancelled job runs unhindered.
    await queue.retry(job.id)
    (again,) = (await queue.claim("w2", 1)).jobs
    assert await queue.heartbeat([again], 10_000) == ([], [])


async def _cancel_when_started(queue: Any, started: asyncio.Event | threading.Event) -> float:
    """Wait for the handler to start, ask to cancel its job; return when it was asked."""

    async def is_started() -> bool:
        return started.is_set()

    await wait_for(is_started, 10)
    job_ids = await queue.redis.zrange(queue.keys.base + "active", 0, -1)
    assert await request_cancel(queue, job_ids[0]) == 1
    return time.monotonic()


async def _drain_one(queue: Any, started: Any) -> tuple[str, float, Drainer]:
    job_id = (await queue.add({"n": 1})).job_id
    drainer = Drainer(queue, concurrency=2)
    run = asyncio.create_task(drainer.run(until_empty=True))
    asked = await _cancel_when_started(queue, started)

    async def settled() -> bool:
        job = await queue.get_job(job_id)
        return job is not None and job.state is JobState.CANCELLED

    await wait_for(settled, 30)
    ended = time.monotonic() - asked
    await asyncio.wait_for(run, 30)
    return job_id, ended, drainer


async def test_an_async_handler_is_cancelled_as_a_task(redis: Any, prefix: str) -> None:
    started = asyncio.Event()
    seen: list[str] = []

    async def slow(payload: Payload, job: JobContext) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    queue = real_queue(redis, prefix, slow, timeout_ms=60_000, attempts=3)
    job_id, ended, drainer = await _drain_one(queue, started)

    assert ended < 2.0
    assert seen == ["cancelled"]
    assert (drainer.stats.cancelled, drainer.stats.retried, drainer.stats.failed) == (1, 0, 0)
    job = await queue.get_job(job_id)
    assert job is not None and job.attempts_made == 1
    assert job.error["type"] == "JobCancelledError"


async def test_a_cooperative_sync_handler_stops_within_two_seconds(redis: Any, prefix: str) -> None:
    started = threading.Event()

    def loop(payload: Payload, job: JobContext) -> None:
        started.set()
        while True:
            job.raise_if_cancelled()
            time.sleep(0.02)

    queue = real_queue(redis, prefix, loop, timeout_ms=60_000, attempts=3)
    _, ended, drainer = await _drain_one(queue, started)

    assert ended < 2.0
    assert (drainer.stats.cancelled, drainer.stats.retried) == (1, 0)
    counts = await queue.counts()
    assert (counts.waiting, counts.delayed, counts.processing, counts.cancelled) == (0, 0, 0, 1)


async def test_a_sync_handler_that_ignores_it_ends_cancelled_at_its_timeout(
    redis: Any, prefix: str
) -> None:
    started = threading.Event()
    release = threading.Event()

    def stubborn(payload: Payload, job: JobContext) -> None:
        started.set()
        release.wait(10)

    queue = real_queue(redis, prefix, stubborn, timeout_ms=1_500, attempts=3)
    try:
        job_id, ended, drainer = await _drain_one(queue, started)
    finally:
        release.set()

    assert ended < 2.5  # the timeout (1.5 s from its start) ends it
    # Timed out after the request: cancelled, not retried with the two attempts it had left.
    assert (drainer.stats.cancelled, drainer.stats.retried, drainer.stats.failed) == (1, 0, 0)
    job = await queue.get_job(job_id)
    assert job is not None and job.attempts_made == 1


async def test_a_handler_that_raises_after_the_request_is_not_retried(
    redis: Any, prefix: str
) -> None:
    started = threading.Event()

    def fails_when_cancelled(payload: Payload, job: JobContext) -> None:
        started.set()
        while not job.cancelled:
            time.sleep(0.02)
        raise RuntimeError("interrupted")

    queue = real_queue(redis, prefix, fails_when_cancelled, timeout_ms=60_000, attempts=5)
    _, ended, drainer = await _drain_one(queue, started)

    assert ended < 2.0
    assert (drainer.stats.cancelled, drainer.stats.retried) == (1, 0)


async def test_a_failure_settled_after_an_unseen_request_is_not_retried(
    redis: Any, prefix: str
) -> None:
    """The request lands after the last heartbeat, just before the handler fails."""
    release = threading.Event()
    runs: list[int] = []

    def fails(payload: Payload, job: JobContext) -> None:
        runs.append(job.attempt)
        release.wait(10)
        raise RuntimeError("failed after the request")

    queue = real_queue(redis, prefix, fails, timeout_ms=60_000, attempts=5)
    job_id = (await queue.add({"n": 1})).job_id
    drainer = Drainer(queue, concurrency=1)
    drainer_run = asyncio.create_task(drainer.run(until_empty=True))

    async def running() -> bool:
        return bool(runs)

    await wait_for(running, 10)
    assert await request_cancel(queue, job_id) == 1
    release.set()  # fails at once: no heartbeat has carried the request yet, most likely
    await asyncio.wait_for(drainer_run, 20)

    job = await queue.get_job(job_id)
    assert job is not None and job.state is JobState.CANCELLED
    assert runs == [1]
    assert (drainer.stats.cancelled, drainer.stats.retried) == (1, 0)
