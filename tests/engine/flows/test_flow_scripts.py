"""The flow scripts, every return code: flow_add, child_done, cancel_parent, rearm_parent,
wait_again."""

from __future__ import annotations

from typing import Any

from corral.job import JobState
from corral.queue import NewJob, Queue
from corral.scripts import run_queue_script

from tests.conftest import QueueFactory
from tests.engine.helpers import state_of


async def script(queue: Queue, name: str, *args: Any) -> int:
    return int(await run_queue_script(queue.redis, queue.keys, name, list(args)))


async def parent(make_queue: QueueFactory, children: int = 2) -> tuple[Queue, str]:
    queue = make_queue("reports")
    job = NewJob({"n": 0}, None, "acme")
    assert await queue.add_parent(job, children)
    (job_id,) = await queue.redis.zrange(queue.keys.waiting_children, 0, -1)
    return queue, str(job_id)


async def test_flow_add_adds_once_and_the_parent_is_not_claimable(
    make_queue: QueueFactory,
) -> None:
    queue, job_id = await parent(make_queue)
    assert await state_of(queue, job_id) is JobState.WAITING_CHILDREN
    assert (await queue.claim("w", 5)).jobs == []
    again = [0, job_id, "acme", "{}", "{}", 0, 1000, 2, 0, 0]
    assert await script(queue, "flow_add", *again) == 0


async def test_child_done_counts_each_child_once_and_releases_on_the_last(
    make_queue: QueueFactory,
) -> None:
    queue, job_id = await parent(make_queue)
    assert await script(queue, "child_done", 1, job_id, "a", "c", '{"x":1}') == 1
    assert await script(queue, "child_done", 1, job_id, "a", "c", '{"x":1}') == 0
    assert await script(queue, "child_done", 1, job_id, "b", "i", '{"message":"m"}') == 4
    assert await script(queue, "child_done", 1, job_id, "c", "c", "1") == 2
    assert await script(queue, "child_done", 1, "nope", "a", "c", "1") == -1
    (claimed,) = (await queue.claim("w", 5)).jobs
    assert claimed.id == job_id
    assert claimed.options.children_results == {"a": {"x": 1}}
    assert claimed.options.children_failures == {"b": {"message": "m"}}


async def test_child_done_fails_the_parent_for_a_required_child(make_queue: QueueFactory) -> None:
    queue, job_id = await parent(make_queue)
    assert await script(queue, "child_done", 1, job_id, "a", "f", '{"message":"m"}') == 3
    job = await queue.get_job(job_id)
    assert job is not None and job.state is JobState.FAILED
    assert job.error["child"] == "a"


async def test_cancel_parent(make_queue: QueueFactory) -> None:
    queue, job_id = await parent(make_queue)
    assert await script(queue, "cancel_parent", 1, job_id) == 1
    assert await script(queue, "cancel_parent", 1, job_id) == -4
    assert await script(queue, "cancel_parent", 1, "nope") == -1
    assert await queue.redis.zcard(queue.keys.waiting_children) == 0


async def test_rearm_parent(make_queue: QueueFactory) -> None:
    queue, job_id = await parent(make_queue)
    assert await script(queue, "rearm_parent", job_id, "a") == 0
    assert await script(queue, "child_done", 1, job_id, "b", "c", '"kept"') == 1
    assert await script(queue, "child_done", 1, job_id, "a", "f", "{}") == 3
    assert await script(queue, "rearm_parent", job_id, "a") == 1
    assert await state_of(queue, job_id) is JobState.WAITING_CHILDREN
    assert await script(queue, "child_done", 1, job_id, "a", "c", '"again"') == 4
    (claimed,) = (await queue.claim("w", 5)).jobs
    assert claimed.options.children_results == {"b": "kept", "a": "again"}
    assert await script(queue, "rearm_parent", job_id, "a") == -5
    assert await script(queue, "rearm_parent", "nope", "a") == -1


async def test_wait_again(make_queue: QueueFactory) -> None:
    queue, job_id = await parent(make_queue)
    assert await script(queue, "wait_again", job_id, "a", 2) == 0  # "a" was not recorded
    assert await script(queue, "child_done", 1, job_id, "a", "i", '{"message":"m"}') == 1
    assert await script(queue, "wait_again", job_id, "a", 2) == 1
    assert await script(queue, "child_done", 1, job_id, "b", "c", '"b"') == 1  # still waits
    assert await script(queue, "child_done", 1, job_id, "a", "c", '"a"') == 4
    # Released, never claimed: taken back, waiting for every child with none recorded.
    assert await script(queue, "wait_again", job_id, "a", 2) == 2
    assert await state_of(queue, job_id) is JobState.WAITING_CHILDREN
    assert (await queue.claim("w", 5)).jobs == []
    assert await script(queue, "child_done", 1, job_id, "b", "c", '"b"') == 1
    assert await script(queue, "child_done", 1, job_id, "a", "c", '"a2"') == 4
    (claimed,) = (await queue.claim("w", 5)).jobs
    assert claimed.options.children_results == {"b": "b", "a": "a2"}  # nothing left over
    assert await script(queue, "wait_again", job_id, "a", 2) == -5  # it started
    assert await script(queue, "wait_again", "nope", "a", 2) == -1
