"""Retrying a child whose failure (ignored) or cancel its parent had counted: the parent
waits for it again, so it never runs while that child is pending again; a parent that
already started keeps what it had."""

from __future__ import annotations

import json

import pytest
from corral.errors import CorralError
from corral.flows.intake import FlowNode
from corral.flows.service import FlowService
from corral.job import JobState, JobStatus
from corral.queue import Outcome
from corral.scripts import run_queue_script
from corral.service import JobService

from tests.engine.flows.test_flows import Flows, aws, flows, ids, kids
from tests.engine.helpers import state_of

__all__ = ["aws", "flows"]


def service(flows: Flows) -> FlowService:
    return FlowService(JobService(flows.queues, flows.store))


async def finish_next(flows: Flows, queue: str, ok: bool) -> str:
    """One poller claims the next job of ``queue`` and settles it; returns its id."""
    q = flows.queues[queue]
    (job,) = (await q.claim("w.1", 1)).jobs
    payload = json.dumps({"n": 1} if ok else {"message": "broke"})
    outcome = Outcome(job, "c" if ok else "f", payload)
    assert not await flows.hooks(q).persist([outcome])
    await q.settle(job.token.rsplit(":", 1)[0], [outcome])
    return job.id


async def parent_waits(flows: Flows, parent_id: str) -> None:
    assert flows.status("reports", parent_id) is JobStatus.WAITING_CHILDREN
    assert await state_of(flows.queues["reports"], parent_id) is JobState.WAITING_CHILDREN
    assert (await flows.queues["reports"].claim("w.2", 1)).jobs == []


async def test_a_retried_cancelled_child_is_waited_for_again(flows: Flows) -> None:
    # The interleaving a random search found: the parent ran while c0 and c1 were pending.
    tree = await flows.intake().run(
        FlowNode("reports", {"n": 0}, children=kids(0, 1, 2, queue="pages", ignore=True))
    )
    c0, c1, c2 = ids(tree)
    flows_ = service(flows)
    await flows_.cancel("pages", c1, "acme")
    await flows_.cancel("pages", c0, "acme")
    with pytest.raises(CorralError):
        await flows_.cancel("pages", c0, "acme")  # already cancelled: counted once
    await flows.repair().repair(flows.queues["reports"])
    await flows_.retry("pages", c0, "acme")
    assert await finish_next(flows, "pages", ok=True) == c2
    await parent_waits(flows, tree.job_id)  # it used to be released here, c0 pending
    await flows_.retry("pages", c1, "acme")
    assert await finish_next(flows, "pages", ok=False) == c0
    await flows_.retry("pages", c0, "acme")
    await flows.repair().repair(flows.queues["reports"])
    await parent_waits(flows, tree.job_id)

    assert {await finish_next(flows, "pages", ok=True) for _ in range(2)} == {c0, c1}
    (parent,) = (await flows.queues["reports"].claim("w.3", 1)).jobs
    assert set(parent.options.children_results or {}) == {c0, c1, c2}
    assert parent.options.children_failures == {}


async def test_a_released_parent_not_yet_claimed_is_taken_back(flows: Flows) -> None:
    tree = await flows.intake().run(
        FlowNode("reports", {"n": 0}, children=kids(0, 1, queue="pages", ignore=True))
    )
    c0, c1 = ids(tree)
    assert await finish_next(flows, "pages", ok=False) == c0
    assert await finish_next(flows, "pages", ok=True) == c1
    assert flows.status("reports", tree.job_id) is JobStatus.PENDING  # released

    await service(flows).retry("pages", c0, "acme")
    await parent_waits(flows, tree.job_id)
    assert await finish_next(flows, "pages", ok=True) == c0
    (parent,) = (await flows.queues["reports"].claim("w.3", 1)).jobs
    assert set(parent.options.children_results or {}) == {c0, c1}  # c1's kept
    assert parent.options.children_failures == {}


async def test_a_parent_that_started_keeps_what_it_had(flows: Flows) -> None:
    tree = await flows.intake().run(
        FlowNode("reports", {"n": 0}, children=kids(0, 1, queue="pages", ignore=True))
    )
    c0, c1 = ids(tree)
    await finish_next(flows, "pages", ok=False)
    await finish_next(flows, "pages", ok=True)
    (parent,) = (await flows.queues["reports"].claim("w.3", 1)).jobs

    await service(flows).retry("pages", c0, "acme")
    assert await state_of(flows.queues["reports"], tree.job_id) is JobState.ACTIVE
    assert flows.status("pages", c0) is JobStatus.PENDING
    assert set(parent.options.children_failures or {}) == {c0}
    assert c1 in (parent.options.children_results or {})


async def test_a_crash_after_the_redis_half_is_mended_by_the_reconciler(flows: Flows) -> None:
    tree = await flows.intake().run(
        FlowNode("reports", {"n": 0}, children=kids(0, 1, queue="pages", ignore=True))
    )
    c0, c1 = ids(tree)
    await finish_next(flows, "pages", ok=False)
    await finish_next(flows, "pages", ok=True)
    reports = flows.queues["reports"]
    # The retry's Redis half took the released parent back, then its process died.
    args = [tree.job_id, c0, 2]
    assert await run_queue_script(reports.redis, reports.keys, "wait_again", args) == 2
    assert flows.status("pages", c0) is JobStatus.FAILED  # never queued again

    await flows.repair().repair(reports)
    (parent,) = (await reports.claim("w.3", 1)).jobs
    assert set(parent.options.children_results or {}) == {c1}
    assert set(parent.options.children_failures or {}) == {c0}
