"""Flows: a parent runs after its children, with their results, exactly once; the two
halves of "a child finished" survive a crash between them and a race between pollers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from corral.context import JobContext
from corral.definition import QueueDefinition
from corral.drain import Drainer
from corral.failures import FailureRecorder
from corral.flows.intake import MAX_NODES, AcceptedNode, FlowIntake, FlowNode, FlowTooLargeError
from corral.flows.link import FlowLinker
from corral.flows.service import FlowService
from corral.flows.store import FlowStore, ParentState
from corral.job import JobOptions, JobState, JobStatus
from corral.poller.hooks import StoreHooks
from corral.queue import Queue
from corral.reconciler import FlowRepair
from corral.service import JobService
from corral.store import JobStore

from tests.conftest import Payload
from tests.engine.helpers import state_of
from tests.support.awsmock import AwsStack, SerializedClient, start_aws


class PollerKilled(BaseException):
    """Stands for the poller's process dying (not an error a handler could catch)."""


@dataclass
class Runs:
    """What each queue's handler saw, by job id."""

    seen: dict[str, list[JobContext]] = field(default_factory=dict)
    fail: set[int] = field(default_factory=set)
    barrier: asyncio.Barrier | None = None

    async def handle(self, payload: Payload, ctx: JobContext) -> Any:
        self.seen.setdefault(ctx.id, []).append(ctx)
        if self.barrier is not None:
            await self.barrier.wait()
        if payload.n in self.fail:
            raise ValueError(f"job {payload.n} broke")
        return {"n": payload.n, "seen": sorted(ctx.children_results)}


@dataclass
class Flows:
    aws: AwsStack
    store: JobStore
    queues: dict[str, Queue]
    runs: Runs
    prefix: str

    def intake(self) -> FlowIntake:
        return FlowIntake(self.queues, self.store, "acme", self.store.clock)

    def hooks(self, queue: Queue, linker: FlowLinker | None = None) -> StoreHooks:
        failures = FailureRecorder(self.store, None)
        return StoreHooks(queue, self.store, failures, flows=linker)

    def linker(self) -> FlowLinker:
        redis = next(iter(self.queues.values())).redis
        return FlowLinker(FlowStore(self.store), redis, prefix=self.prefix)

    async def drain(self, name: str, linker: FlowLinker | None = None) -> None:
        queue = self.queues[name]
        drainer = Drainer(queue, concurrency=4, hooks=self.hooks(queue, linker))
        await drainer.run(until_empty=True)

    def repair(self) -> FlowRepair:
        return FlowRepair(self.queues, self.linker(), grace_ms=0)

    def status(self, queue: str, job_id: str) -> JobStatus:
        record = self.store.get(queue, job_id)
        assert record is not None
        return record.status


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


@pytest.fixture
async def flows(redis: Any, prefix: str, aws: AwsStack) -> AsyncIterator[Flows]:
    runs = Runs()
    store = JobStore(SerializedClient(aws.dynamodb), aws.table)  # type: ignore[arg-type]
    queues = {
        name: Queue(
            redis,
            QueueDefinition(name=name, payload=Payload, handler=runs.handle, attempts=1),
            prefix=prefix,
        )
        for name in ("reports", "parts", "pages")
    }
    yield Flows(aws, store, queues, runs, prefix)
    store.close()


def kids(*ns: int, queue: str = "parts", ignore: bool = False) -> list[FlowNode]:
    return [FlowNode(queue, {"n": n}, ignore_failure=ignore) for n in ns]


def ids(node: AcceptedNode) -> list[str]:
    return [c.job_id for c in node.children]


async def test_the_parent_waits_then_runs_once_with_its_childrens_results(flows: Flows) -> None:
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=kids(1, 2, 3)))
    assert tree.status is JobStatus.WAITING_CHILDREN
    assert [c.status for c in tree.children] == [JobStatus.PENDING] * 3
    reports = flows.queues["reports"]
    assert await state_of(reports, tree.job_id) is JobState.WAITING_CHILDREN
    assert (await reports.claim("w", 10)).jobs == []  # not claimable while it waits

    await flows.drain("parts")
    assert await state_of(reports, tree.job_id) is JobState.WAITING
    assert flows.status("reports", tree.job_id) is JobStatus.PENDING
    await flows.drain("reports")

    (ctx,) = flows.runs.seen[tree.job_id]
    assert ctx.children_results == {
        cid: {"n": n, "seen": []} for cid, n in zip(ids(tree), (1, 2, 3), strict=True)
    }
    assert ctx.children_failures == {}
    assert flows.status("reports", tree.job_id) is JobStatus.COMPLETED


async def test_a_child_that_fails_for_good_fails_its_parent(flows: Flows) -> None:
    flows.runs.fail = {2}
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=kids(1, 2)))
    await flows.drain("parts")
    await flows.drain("reports")
    assert tree.job_id not in flows.runs.seen
    record = flows.store.get("reports", tree.job_id)
    assert record is not None and record.status is JobStatus.FAILED
    failed_child = ids(tree)[1]
    assert failed_child in record.error["message"]
    assert await state_of(flows.queues["reports"], tree.job_id) is JobState.FAILED


async def test_an_ignored_failure_lets_the_parent_run_and_shows_it(flows: Flows) -> None:
    flows.runs.fail = {2}
    children = [*kids(1), *kids(2, ignore=True)]
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=children))
    await flows.drain("parts")
    await flows.drain("reports")
    (ctx,) = flows.runs.seen[tree.job_id]
    ok, failed = ids(tree)
    assert list(ctx.children_results) == [ok]
    assert "job 2 broke" in ctx.children_failures[failed]["message"]


async def test_a_nested_flow_runs_bottom_up(flows: Flows) -> None:
    middle = FlowNode("parts", {"n": 10}, children=kids(11, 12, queue="pages"))
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=[middle]))
    await flows.drain("pages")
    await flows.drain("parts")
    await flows.drain("reports")
    (mid,) = ids(tree)
    (ctx,) = flows.runs.seen[tree.job_id]
    assert ctx.children_results[mid]["seen"] == sorted(ids(tree.children[0]))


class CrashingLinker(FlowLinker):
    """Dies after the durable half for one child, before Redis hears of it."""

    def __init__(self, base: FlowLinker, child_id: str) -> None:
        super().__init__(base.store, base.redis, prefix=base.prefix)
        self.child_id = child_id

    async def tell_redis(
        self, queue: str, parent_id: str, child_id: str, kind: str, payload: str | None
    ) -> int:
        if child_id == self.child_id:
            raise PollerKilled
        return await super().tell_redis(queue, parent_id, child_id, kind, payload)


async def test_a_poller_killed_between_the_halves_is_repaired_by_the_reconciler(
    flows: Flows,
) -> None:
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=kids(1)))
    (child,) = ids(tree)
    with pytest.raises(PollerKilled):
        await flows.drain("parts", CrashingLinker(flows.linker(), child))
    # The table says the parent may run; Redis never heard: it still waits.
    parent = FlowStore(flows.store).parent("reports", tree.job_id)
    assert parent is not None and parent.done == {child} and parent.pending == 0
    assert flows.status("reports", tree.job_id) is JobStatus.PENDING
    reports = flows.queues["reports"]
    assert await state_of(reports, tree.job_id) is JobState.WAITING_CHILDREN

    report = await flows.repair().repair(reports)
    assert report.replayed == 1
    assert await state_of(reports, tree.job_id) is JobState.WAITING
    again = await flows.repair().repair(reports)  # a second run changes nothing
    assert again.replayed == 0
    await flows.drain("reports")
    (ctx,) = flows.runs.seen[tree.job_id]
    assert ctx.children_results == {child: {"n": 1, "seen": []}}


async def test_a_child_finished_but_never_counted_is_counted_by_the_reconciler(
    flows: Flows,
) -> None:
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=kids(1, 2)))
    first, second = ids(tree)

    class DiesBeforeTheTable(FlowLinker):
        async def record(
            self, queue: str, parent_id: str, child_id: str, *a: Any
        ) -> ParentState | None:
            if child_id == second:
                raise PollerKilled
            return await super().record(queue, parent_id, child_id, *a)

    base = flows.linker()
    with pytest.raises(PollerKilled):
        await flows.drain("parts", DiesBeforeTheTable(base.store, base.redis, prefix=flows.prefix))
    reports = flows.queues["reports"]
    assert await state_of(reports, tree.job_id) is JobState.WAITING_CHILDREN
    report = await flows.repair().repair(reports)
    assert second in report.counted
    await flows.drain("reports")
    (ctx,) = flows.runs.seen[tree.job_id]
    assert sorted(ctx.children_results) == sorted([first, second])


class Recording(FlowLinker):
    """Keeps child_done.lua's codes."""

    codes: list[int]

    async def tell_redis(self, *args: Any) -> int:
        code = await super().tell_redis(*args)
        self.codes = [*getattr(self, "codes", []), code]
        return code


async def test_last_children_finishing_at_once_in_two_pollers_release_the_parent_once(
    flows: Flows,
) -> None:
    for _ in range(3):
        flows.runs.seen.clear()
        children = [*kids(1, queue="parts"), *kids(2, queue="pages")]
        tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=children))
        # Both children finish at the same instant, each in its own poller.
        flows.runs.barrier = asyncio.Barrier(2)
        base = flows.linker()
        linkers = [Recording(base.store, base.redis, prefix=flows.prefix) for _ in range(2)]
        await asyncio.gather(flows.drain("parts", linkers[0]), flows.drain("pages", linkers[1]))
        flows.runs.barrier = None
        assert sorted(linkers[0].codes + linkers[1].codes) == [
            1,
            4,
        ]  # one counted, one released the parent
        # Replays from a reconciler racing the pollers change nothing.
        replays = await asyncio.gather(
            *(flows.repair().repair(flows.queues["reports"]) for _ in range(3))
        )
        assert all(r.replayed == 0 for r in replays)
        await flows.drain("reports")
        assert len(flows.runs.seen[tree.job_id]) == 1


async def test_a_failure_deep_down_fails_every_parent_above_it(flows: Flows) -> None:
    flows.runs.fail = {11}
    middle = FlowNode("parts", {"n": 10}, children=kids(11, queue="pages"))
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=[middle]))
    await flows.drain("pages")
    (mid,) = ids(tree)
    assert flows.status("parts", mid) is JobStatus.FAILED
    record = flows.store.get("reports", tree.job_id)
    assert record is not None and record.status is JobStatus.FAILED
    assert mid in record.error["message"]
    assert await state_of(flows.queues["reports"], tree.job_id) is JobState.FAILED


async def test_retrying_the_child_that_failed_its_parent_re_arms_the_parent(flows: Flows) -> None:
    flows.runs.fail = {2}
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=kids(1, 2)))
    first, second = ids(tree)
    await flows.drain("parts")
    assert flows.status("reports", tree.job_id) is JobStatus.FAILED
    flows.runs.fail = set()
    await FlowService(JobService(flows.queues, flows.store)).retry("parts", second, "acme")
    assert flows.status("reports", tree.job_id) is JobStatus.WAITING_CHILDREN
    await flows.drain("parts")
    await flows.drain("reports")
    (ctx,) = flows.runs.seen[tree.job_id]
    assert sorted(ctx.children_results) == sorted([first, second])
    assert ctx.children_failures == {}
    assert flows.status("reports", tree.job_id) is JobStatus.COMPLETED


async def test_a_flow_over_the_node_limit_is_refused_and_nothing_is_written(flows: Flows) -> None:
    too_many = FlowNode("reports", {"n": 0}, children=kids(*range(MAX_NODES)))
    with pytest.raises(FlowTooLargeError):
        await flows.intake().run(too_many)
    assert flows.aws.dynamodb.scan(TableName=flows.aws.table, Select="COUNT")["Count"] == 0


async def test_a_child_that_redis_fails_by_itself_fails_its_parent_at_once(flows: Flows) -> None:
    # Its ttl passes before any poller starts it: the claim fails it, not a handler.
    late = FlowNode("parts", {"n": 1}, JobOptions(ttl=1))
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=[late]))
    await asyncio.sleep(0.01)
    await flows.drain("parts")
    (child,) = ids(tree)
    assert flows.status("parts", child) is JobStatus.FAILED
    assert flows.status("reports", tree.job_id) is JobStatus.FAILED
    assert await state_of(flows.queues["reports"], tree.job_id) is JobState.FAILED
