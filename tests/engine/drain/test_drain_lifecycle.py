"""The drain loop's life: the deadline, exit when idle, the blocking wake-up, and a drainer
that dies mid-job. On the shared single Redis and the real clock."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from corral.context import JobContext
from corral.drain import Drainer
from corral.job import JobOptions, JobState
from corral.queue import LeaseSettings, NewJob
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL, Payload, shared_client
from tests.engine.drain_helpers import (
    STARTED_MARK,
    CountingRedis,
    HookedRedis,
    drain_until,
    real_queue,
    wait_for,
)


async def noop(payload: Payload, job: JobContext) -> None:
    """Does nothing."""


async def test_unstarted_jobs_are_released_at_the_deadline(
    single_redis: Redis, prefix: str
) -> None:
    started: list[float] = []

    async def slow(payload: Payload, job: JobContext) -> None:
        started.append(time.monotonic())
        await asyncio.sleep(0.3)

    queue = real_queue(single_redis, prefix, slow, timeout_ms=1_000)
    ids = [r.job_id for r in await queue.add_bulk([NewJob({"n": i}) for i in range(8)])]
    drainer = Drainer(queue, concurrency=1, batch_size=4, start_margin_ms=100)
    deadline = time.monotonic() + 2.0

    stats = await asyncio.wait_for(drainer.run(deadline), 10)
    returned = time.monotonic()

    # Every job that started had its whole timeout (plus the margin) left before the deadline.
    assert started and all(deadline - t > 1.1 for t in started)
    assert returned < deadline
    assert stats.completed == len(started)
    assert stats.claimed - stats.released == len(started)
    assert stats.released >= 1
    # Left for the next poller, as every run's end does: nothing to warn about.
    assert stats.too_long == 0
    jobs = [await queue.get_job(job_id) for job_id in ids]
    done = [j for j in jobs if j is not None and j.state is JobState.COMPLETED]
    waiting = [j for j in jobs if j is not None and j.state is JobState.WAITING]
    assert len(done) == len(started) and len(done) + len(waiting) == 8
    # Released jobs give their attempt back, and go back first in line.
    assert all(j.attempts_made == 0 for j in waiting)
    assert [j.id for j in waiting] == ids[len(done) :]
    counts = await queue.counts()
    assert (counts.processing, counts.waiting) == (0, len(waiting))


class Recorded(logging.Handler):
    """The drain loop's log records, whatever handlers the process set up."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def warnings(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == logging.WARNING]


@pytest.fixture
def drain_log() -> Iterator[Recorded]:
    recorded = Recorded()
    log = logging.getLogger("corral.drain")
    log.addHandler(recorded)
    try:
        yield recorded
    finally:
        log.removeHandler(recorded)


async def test_no_job_is_claimed_when_the_time_left_cannot_hold_one_and_it_says_so(
    single_redis: Redis, prefix: str, drain_log: Recorded
) -> None:
    queue = real_queue(single_redis, prefix, noop, timeout_ms=5_000)
    await queue.add_bulk([NewJob({"n": i}) for i in range(3)])

    stats = await asyncio.wait_for(Drainer(queue).run(time.monotonic() + 3.0), 10)

    assert (stats.claimed, stats.completed) == (0, 0)
    assert stats.too_long == 3
    [warning] = drain_log.warnings()
    assert warning.startswith("3 waiting jobs of jobs cannot start: the queue's 5000 ms timeout")
    counts = await queue.counts()
    assert (counts.waiting, counts.processing) == (3, 0)


async def test_an_empty_queue_that_cannot_fit_says_nothing(
    single_redis: Redis, prefix: str, drain_log: Recorded
) -> None:
    queue = real_queue(single_redis, prefix, noop, timeout_ms=5_000)

    stats = await asyncio.wait_for(Drainer(queue).run(time.monotonic() + 1.0), 10)

    assert stats.too_long == 0 and drain_log.warnings() == []


async def test_a_job_whose_own_timeout_cannot_fit_is_reported_and_the_others_run(
    single_redis: Redis, prefix: str, drain_log: Recorded
) -> None:
    queue = real_queue(single_redis, prefix, noop, timeout_ms=200)
    [long] = await queue.add_bulk([NewJob({"n": 0}, JobOptions(timeout=10_000))])
    await queue.add_bulk([NewJob({"n": i}) for i in range(1, 4)])
    drainer = Drainer(queue, concurrency=1, linger_ms=200, start_margin_ms=100)

    stats = await asyncio.wait_for(drainer.run(time.monotonic() + 2.0), 10)

    assert (stats.completed, stats.too_long, stats.released) == (3, 1, 1)
    [warning] = drain_log.warnings()
    assert warning.startswith(f"job {long.job_id} of jobs cannot start: its 10000 ms timeout")
    job = await queue.get_job(long.job_id)
    assert job is not None and job.state is JobState.WAITING


async def test_until_empty_returns_once_the_queue_is_drained(
    single_redis: Redis, prefix: str
) -> None:
    queue = real_queue(single_redis, prefix, noop)
    await queue.add_bulk([NewJob({"n": i}) for i in range(40)])

    stats = await asyncio.wait_for(Drainer(queue, batch_size=16).run(until_empty=True), 20)

    assert (stats.claimed, stats.completed) == (40, 40)
    assert (await queue.counts()).completed == 40


async def test_linger_waits_for_late_work_then_returns(single_redis: Redis, prefix: str) -> None:
    queue = real_queue(single_redis, prefix, noop)
    drainer = Drainer(queue, linger_ms=1_500, idle_wait_ms=10_000)
    began = time.monotonic()
    task = asyncio.create_task(drainer.run())
    await asyncio.sleep(0.2)
    await queue.add({"n": 1})

    stats = await asyncio.wait_for(task, 20)

    # It took the late job, then lingered idle for at least linger_ms before returning.
    assert stats.completed == 1
    assert time.monotonic() - began >= 1.5


async def test_idle_drainer_blocks_and_wakes_on_enqueue(prefix: str) -> None:
    picked: list[float] = []

    async def mark(payload: Payload, job: JobContext) -> None:
        picked.append(time.monotonic())

    client = shared_client(CountingRedis)
    producer = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    queue = real_queue(client, prefix, mark)
    # Blocks up to 10 s per wait: a pickup well under that came from the wake-up, not a timeout.
    drainer = Drainer(queue, idle_wait_ms=10_000)
    task = asyncio.create_task(drainer.run())
    try:
        await asyncio.sleep(0.3)
        before = client.sent["EVALSHA"] + client.sent["EVAL"]
        await asyncio.sleep(1.0)
        idle_calls = client.sent["EVALSHA"] + client.sent["EVAL"] - before

        enqueued = time.monotonic()
        await real_queue(producer, prefix, mark).add({"n": 1})

        async def picked_up() -> bool:
            return bool(picked)

        await wait_for(picked_up, 9)
    finally:
        drainer.stop()
        await producer.lpush(queue.keys.wake, "1")  # unblock its BLPOP so it sees the stop
        await asyncio.wait_for(task, 10)
        await producer.aclose()
        await client.aclose()
    pickup_ms = (picked[0] - enqueued) * 1000
    print(f"idle second: {idle_calls} script calls; pickup {pickup_ms:.1f} ms")
    assert idle_calls <= 2
    assert pickup_ms < 5_000


def _spawn_child(prefix: str, lease: LeaseSettings) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "tests.engine.drain_helpers", SHARED_REDIS_URL, prefix]
    args += [str(lease.cap_ms), str(lease.margin_ms)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
async def test_sigkilled_drainer_loses_nothing(single_redis: Redis, prefix: str) -> None:
    lease = LeaseSettings(cap_ms=300, margin_ms=300)
    runs: list[int] = []

    async def finish(payload: Payload, job: JobContext) -> str:
        runs.append(job.attempt)
        return "recovered"

    queue = real_queue(single_redis, prefix, finish, lease=lease, timeout_ms=60_000)
    job_id = (await queue.add({"n": 1})).job_id
    child = _spawn_child(prefix, lease)
    try:

        async def child_started() -> bool:
            assert child.poll() is None, "the child drainer died on its own"
            return await single_redis.get(f"{prefix}:{STARTED_MARK}") == job_id

        await wait_for(child_started, 30)
        child.send_signal(signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        _, errors = child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL, errors.decode()
    assert (await queue.get_job(job_id)).state is JobState.ACTIVE  # type: ignore[union-attr]

    drainer = Drainer(queue, concurrency=1)

    async def completed() -> bool:
        job = await queue.get_job(job_id)
        return job is not None and job.state is JobState.COMPLETED

    await drain_until(drainer, completed, timeout=20)

    job = await queue.get_job(job_id)
    assert job is not None
    assert (job.result, job.attempts_made, job.stalls, runs) == ("recovered", 2, 1, [2])
    assert drainer.stats.stalled_requeued == 1


async def test_cancelled_drainer_leaves_its_job_to_be_recovered(
    single_redis: Redis, prefix: str
) -> None:
    lease = LeaseSettings(cap_ms=300, margin_ms=300)
    attempts: list[int] = []

    async def hang_first(payload: Payload, job: JobContext) -> str:
        attempts.append(job.attempt)
        if job.attempt == 1:
            await asyncio.sleep(3600)
        return "recovered"

    queue = real_queue(single_redis, prefix, hang_first, lease=lease, timeout_ms=60_000)
    job_id = (await queue.add({"n": 1})).job_id
    first = Drainer(queue, concurrency=1)
    task = asyncio.create_task(first.run())

    async def running() -> bool:
        return bool(attempts)

    await wait_for(running, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert (await queue.get_job(job_id)).state is JobState.ACTIVE  # type: ignore[union-attr]

    second = Drainer(queue, concurrency=1)

    async def completed() -> bool:
        job = await queue.get_job(job_id)
        return job is not None and job.state is JobState.COMPLETED

    await drain_until(second, completed, timeout=20)

    job = await queue.get_job(job_id)
    assert job is not None
    assert (job.result, job.attempts_made, job.stalls, attempts) == ("recovered", 2, 1, [1, 2])


async def test_stop_during_a_claim_in_flight_hands_the_claimed_jobs_back(prefix: str) -> None:
    first_done = asyncio.Event()

    async def quick(payload: Payload, job: JobContext) -> None:
        if payload.n == 0:
            client.before_script = stop_while_claiming
            await asyncio.sleep(0.05)
            first_done.set()

    async def stop_while_claiming() -> None:
        # The next script call is the settle that claims more: stop now, and let the only
        # worker finish its job and leave before the claim's reply comes back.
        drainer.stop()
        await first_done.wait()
        await asyncio.sleep(0.1)

    client = shared_client(HookedRedis)
    queue = real_queue(client, prefix, quick)
    ids = [r.job_id for r in await queue.add_bulk([NewJob({"n": i}) for i in range(3)])]
    drainer = Drainer(queue, concurrency=1, batch_size=1)
    try:
        stats = await asyncio.wait_for(drainer.run(), 10)
        states = [(await queue.get_job(job_id)) for job_id in ids]
    finally:
        await client.aclose()

    assert (stats.claimed, stats.completed, stats.released) == (3, 1, 2)
    assert [(j.state, j.attempts_made) for j in states if j is not None] == [
        (JobState.COMPLETED, 1),
        (JobState.WAITING, 0),
        (JobState.WAITING, 0),
    ]
