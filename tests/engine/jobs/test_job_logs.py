"""append_logs.lua and read_logs.lua: bounded per-job logs, a cursor that survives the
oldest lines being dropped, and logs that go with their job; and ``ctx.log`` in the drain
loop, from async and sync handlers."""

from __future__ import annotations

import asyncio
from typing import Any

from corral.context import MAX_LOG_LINE_CHARS, JobContext, log_entry
from corral.definition import Retention
from corral.drain import Drainer
from corral.job import JobState
from corral.job_logs import MAX_BYTES, MAX_LINES, append_logs, read_logs
from corral.queue import NewJob, Outcome

from tests.conftest import FakeClock, Payload, QueueFactory
from tests.engine.drain_helpers import real_queue


def lines(*messages: str, ts: int = 1) -> list[str]:
    return [log_entry(m, ts) for m in messages]


async def test_lines_are_read_back_in_pages_oldest_first(make_queue: QueueFactory) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1})).job_id
    assert await append_logs(queue, {job_id: lines("a", "b", "c")}) == 1
    await append_logs(queue, {job_id: lines("d")})

    first = await read_logs(queue, job_id, 0, 3)
    assert [line["message"] for line in first.lines] == ["a", "b", "c"]
    assert first.next_cursor == 3
    rest = await read_logs(queue, job_id, 3, 3)
    assert [line["message"] for line in rest.lines] == ["d"]
    assert rest.next_cursor is None
    assert rest.lines[0]["ts"] == 1


async def test_a_job_without_lines_and_a_missing_job_read_empty(make_queue: QueueFactory) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1})).job_id
    assert (await read_logs(queue, job_id)).lines == []
    assert (await read_logs(queue, "nope")).lines == []
    assert await append_logs(queue, {"nope": lines("x")}) == 0


async def test_the_oldest_lines_go_past_the_line_bound(make_queue: QueueFactory) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1})).job_id
    await append_logs(queue, {job_id: lines(*(str(i) for i in range(MAX_LINES + 5)))})

    assert await queue.redis.llen(queue.keys.logs(job_id)) == MAX_LINES
    page = await read_logs(queue, job_id, 0, 2)
    # Lines 0-4 were dropped: a cursor from before them starts at the oldest kept.
    assert [line["message"] for line in page.lines] == ["5", "6"]
    assert page.next_cursor == 7


async def test_the_oldest_lines_go_past_the_byte_bound(make_queue: QueueFactory) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1})).job_id
    big = "x" * (MAX_LOG_LINE_CHARS - 100)
    await append_logs(queue, {job_id: lines(*(f"{i}{big}" for i in range(40)))})

    held = await queue.redis.lrange(queue.keys.logs(job_id), 0, -1)
    size = sum(len(str(line).encode()) for line in held)
    assert size <= MAX_BYTES
    assert await queue.redis.hget(queue.keys.job(job_id), "logBytes") == str(size)
    page = await read_logs(queue, job_id, 0, 1000)
    assert page.lines[-1]["message"].startswith("39")
    assert len(page.lines) == len(held) < 40


async def test_a_long_message_is_cut_to_the_line_bound() -> None:
    entry = log_entry("y" * (MAX_LOG_LINE_CHARS * 2), 5)
    assert len(entry) < MAX_LOG_LINE_CHARS + 40


async def test_retention_deletes_a_log_with_its_job(make_queue: QueueFactory) -> None:
    queue = make_queue(retention=Retention(completed_count=0))
    await queue.add({"n": 1})
    (job,) = (await queue.claim("w", 1)).jobs
    await append_logs(queue, {job.id: lines("working")})
    await queue.settle("w", [Outcome(job, "c", "null")])
    assert await queue.redis.exists(queue.keys.job(job.id), queue.keys.logs(job.id)) == 0


async def test_clean_deletes_the_logs_of_the_jobs_it_removes(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    job_id = (await queue.add({"n": 1})).job_id
    await append_logs(queue, {job_id: lines("before cancel")})
    await queue.cancel(job_id)
    clock.advance(10)
    assert await queue.clean(JobState.CANCELLED) == [job_id]
    assert await queue.redis.exists(queue.keys.logs(job_id)) == 0


async def test_handlers_log_from_the_loop_and_from_threads(redis: Any, prefix: str) -> None:
    async def async_handler(payload: Payload, job: JobContext) -> None:
        job.log(f"async {payload.n} step 1")
        await asyncio.sleep(0)
        job.log(f"async {payload.n} step 2")

    def sync_handler(payload: Payload, job: JobContext) -> None:
        for step in range(3):
            job.log(f"sync {payload.n} step {step}")

    for handler, expected in ((async_handler, 2), (sync_handler, 3)):
        queue = real_queue(redis, f"{prefix}:{expected}", handler)
        ids = [r.job_id for r in await queue.add_bulk([NewJob({"n": i}) for i in range(4)])]
        await asyncio.wait_for(Drainer(queue, concurrency=2).run(until_empty=True), 20)
        for i, job_id in enumerate(ids):
            page = await read_logs(queue, job_id)
            messages = [line["message"] for line in page.lines]
            assert len(messages) == expected
            assert all(f" {i} step" in m for m in messages)


async def test_a_queue_from_before_logs_were_tracked_deletes_every_log_with_its_job(
    make_queue: QueueFactory,
) -> None:
    # An older version wrote log lists without marking the queue; such a queue has no
    # logsTracked stamp, so retention cannot trust the marker and deletes each log key.
    queue = make_queue(retention=Retention(completed_count=0))
    await queue.add({"n": 1})
    await queue.redis.hdel(queue.keys.meta, "logsTracked")
    (job,) = (await queue.claim("w", 1)).jobs
    await queue.redis.rpush(queue.keys.logs(job.id), log_entry("from an older version", 1))
    await queue.settle("w", [Outcome(job, "c", "null")])
    assert await queue.redis.exists(queue.keys.job(job.id), queue.keys.logs(job.id)) == 0


async def test_a_queue_whose_jobs_never_logged_still_drops_its_finished_jobs(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue(retention=Retention(completed_count=1))
    await queue.add_bulk([NewJob({"n": i}) for i in range(3)])
    jobs = (await queue.claim("w", 3)).jobs
    await queue.settle("w", [Outcome(job, "c", "null") for job in jobs])
    assert await queue.redis.hget(queue.keys.meta, "logsTracked") == "1"
    assert await queue.redis.hexists(queue.keys.meta, "logs") == 0
    kept = [job.id for job in jobs if await queue.redis.exists(queue.keys.job(job.id))]
    assert len(kept) == 1
