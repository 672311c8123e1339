"""A flow's jobs are announced like any other: ``Job Queued`` for every node, and
``Job Cancelled`` for a parent and each child its cancellation took with it."""

from __future__ import annotations

from collections import Counter

from corral.definition import QueueDefinition
from corral.flows.intake import FlowNode
from corral.flows.service import FlowService
from corral.queue import Queue
from corral.service import JobService
from redis.asyncio import Redis

from tests.conftest import Payload, noop
from tests.functions.events.conftest import EventStack


async def test_a_flow_announces_each_job_queued_and_cancelled(
    single_redis: Redis, prefix: str, aws: EventStack
) -> None:
    queue = Queue(
        single_redis, QueueDefinition(name="jobs", payload=Payload, handler=noop), prefix=prefix
    )
    flows = FlowService(JobService({"jobs": queue}, aws.store, events=aws.sink()))
    kids = [FlowNode("jobs", {"n": n}) for n in (1, 2)]
    tree = await flows.add(FlowNode("jobs", {"n": 0}, children=kids), "acme")
    await flows.cancel("jobs", tree.job_id, "acme")

    events = aws.received()
    kinds = Counter(e["detail-type"] for e in events)
    assert kinds == Counter({"Job Queued": 3, "Job Cancelled": 3})
    queued = {e["detail"]["jobId"] for e in events if e["detail-type"] == "Job Queued"}
    assert queued == {tree.job_id, *(c.job_id for c in tree.children)}
