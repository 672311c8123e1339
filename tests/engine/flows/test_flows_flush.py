"""A flow survives a Redis flush: the reconciler rebuilds its parents, their dependency
state and their lost children from the job table, and no parent runs twice or never.

The flush runs on a private redis-server (``lone_port``) and on the private 3-master
cluster (``private_target``), never on the shared one. On the cluster a flow's queues sit
in different hash slots, so the repair crosses slots as it does in a deployment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from corral.definition import QueueDefinition
from corral.failures import FailureRecorder
from corral.flows.intake import FlowNode
from corral.job import JobState, JobStatus
from corral.queue import Queue
from corral.reconciler import Reconciler
from corral.store import JobStore

from tests.conftest import Payload
from tests.engine.conftest import RedisTarget
from tests.engine.flows.test_flows import Flows, Runs, aws, ids, kids
from tests.engine.helpers import state_of
from tests.support.awsmock import AwsStack

__all__ = ["aws"]


@pytest.fixture
async def flows(private_target: RedisTarget, prefix: str, aws: AwsStack) -> AsyncIterator[Flows]:
    redis = private_target.connect()
    runs = Runs()
    store = JobStore(aws.dynamodb, aws.table)
    queues = {
        name: Queue(
            redis,
            QueueDefinition(name=name, payload=Payload, handler=runs.handle, attempts=1),
            prefix=prefix,
        )
        for name in ("reports", "parts", "pages")
    }
    try:
        yield Flows(aws, store, queues, runs, prefix)
    finally:
        store.close()
        await redis.flushdb()
        await redis.aclose()


async def flush_and_reconcile(flows: Flows) -> None:
    redis: Any = flows.queues["reports"].redis
    await redis.flushdb()  # on a cluster, every master's
    assert await redis.dbsize() == 0
    failures = FailureRecorder(flows.store, None)
    reconciler = Reconciler(flows.queues, flows.store, failures, grace_ms=0, flows=flows.repair())
    for _ in range(2):  # a second run finds nothing left to do
        await reconciler.run()


async def test_a_flush_while_the_parent_waits_loses_nothing(flows: Flows) -> None:
    children = [*kids(1, 2, queue="parts"), *kids(3, queue="pages")]
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=children))
    await flows.drain("parts")  # two of three children done, then Redis loses everything
    await flush_and_reconcile(flows)

    reports = flows.queues["reports"]
    assert await state_of(reports, tree.job_id) is JobState.WAITING_CHILDREN
    assert (await reports.claim("w", 10)).jobs == []
    await flows.drain("pages")  # the restored child still knows its parent
    await flows.drain("reports")
    (ctx,) = flows.runs.seen[tree.job_id]
    assert sorted(ctx.children_results) == sorted(ids(tree))
    assert [len(flows.runs.seen[c]) for c in ids(tree)] == [1, 1, 1]
    assert flows.status("reports", tree.job_id) is JobStatus.COMPLETED


async def test_a_flush_after_the_parent_was_released_keeps_its_childrens_results(
    flows: Flows,
) -> None:
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=kids(1, 2)))
    await flows.drain("parts")
    assert flows.status("reports", tree.job_id) is JobStatus.PENDING
    await flush_and_reconcile(flows)
    await flows.drain("reports")
    (ctx,) = flows.runs.seen[tree.job_id]
    assert sorted(ctx.children_results) == sorted(ids(tree))


async def test_a_flush_of_a_nested_flow_restores_every_level(flows: Flows) -> None:
    middle = FlowNode("parts", {"n": 10}, children=kids(11, 12, queue="pages"))
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=[middle]))
    await flush_and_reconcile(flows)
    for name in ("pages", "parts", "reports"):
        await flows.drain(name)
    assert len(flows.runs.seen[tree.job_id]) == 1
    (mid,) = ids(tree)
    assert len(flows.runs.seen[mid]) == 1
