"""Random flows driven in random orders by several pollers: children complete, fail, are
retried and cancelled, the parent is cancelled, the reconciler repairs. Checked throughout:
the parent runs at most once, and only after every required child completed; at the end,
a parent whose required children all completed (and that nobody cancelled) ran exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from uuid import uuid4

from corral.definition import QueueDefinition
from corral.errors import CorralError
from corral.failures import FailureRecorder
from corral.flows.intake import FlowIntake, FlowNode
from corral.flows.link import FlowLinker
from corral.flows.service import FlowService
from corral.flows.store import FlowStore
from corral.job import JobStatus
from corral.poller.hooks import StoreHooks
from corral.queue import Outcome, Queue
from corral.reconciler import FlowRepair
from corral.service import JobService
from corral.store import JobStore
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import Payload, delete_prefix, noop
from tests.engine.conftest import RedisTarget
from tests.support.awsmock import SerializedClient, start_aws

WORKERS = ("w1", "w2", "w3")
CHILD_QUEUES = ("parts", "pages")


class FlowMachine(RuleBasedStateMachine):
    """One flow: a parent in ``reports``, children spread over two queues."""

    target: RedisTarget

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.client: Any = self.target.connect()
        self.prefix = f"f{uuid4().hex[:12]}"
        self._aws = start_aws()
        aws = next(self._aws)
        self.store = JobStore(SerializedClient(aws.dynamodb), aws.table)  # type: ignore[arg-type]
        self.queues = {
            name: Queue(
                self.client,
                QueueDefinition(name=name, payload=Payload, handler=noop, attempts=1),
                prefix=self.prefix,
            )
            for name in ("reports", *CHILD_QUEUES)
        }
        failures = FailureRecorder(self.store, None)
        # Each poller has its own hooks and linker, as separate processes would.
        self.hooks = {
            (w, name): StoreHooks(q, self.store, failures)
            for w in WORKERS
            for name, q in self.queues.items()
        }
        self.flows = FlowService(JobService(self.queues, self.store))
        linker = FlowLinker(FlowStore(self.store), self.client, prefix=self.prefix)
        self.repairer = FlowRepair(self.queues, linker, grace_ms=0)
        self.parent = ""
        self.children: list[tuple[str, str, bool]] = []
        self.runs = 0

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        try:
            self.finish_everything()
        finally:
            self.run(delete_prefix(self.client, self.prefix))
            self.run(self.client.aclose())
            self.loop.close()
            self.store.close()
            next(self._aws, None)  # leaves moto

    def status(self, queue: str, job_id: str) -> JobStatus:
        record = self.store.get(queue, job_id, resolve=False)
        assert record is not None
        return record.status

    @initialize(
        shape=st.lists(
            st.tuples(st.sampled_from(CHILD_QUEUES), st.booleans()), min_size=2, max_size=4
        )
    )
    def add_flow(self, shape: list[tuple[str, bool]]) -> None:
        kids = [FlowNode(q, {"n": i}, ignore_failure=ignore) for i, (q, ignore) in enumerate(shape)]
        intake = FlowIntake(self.queues, self.store, "acme", self.store.clock)
        tree = self.run(intake.run(FlowNode("reports", {"n": 0}, children=kids)))
        self.parent = tree.job_id
        self.children = [
            (c.queue, c.job_id, ignore) for c, (_, ignore) in zip(tree.children, shape, strict=True)
        ]

    async def _finish_one(self, worker: str, queue: str, ok: bool) -> None:
        q = self.queues[queue]
        claimed = await q.claim(f"{worker}.{uuid4().hex[:6]}", 1)
        for job in claimed.jobs:
            payload = json.dumps({"n": 1} if ok else {"message": "broke"})
            outcome = Outcome(job, "c" if ok else "f", payload)
            kept = await self.hooks[worker, queue].persist([outcome])
            assert not kept
            await q.settle(job.token.rsplit(":", 1)[0], [outcome])

    @rule(worker=st.sampled_from(WORKERS), queue=st.sampled_from(CHILD_QUEUES), ok=st.booleans())
    def finish_a_child(self, worker: str, queue: str, ok: bool) -> None:
        self.run(self._finish_one(worker, queue, ok))

    @rule(ok=st.tuples(st.booleans(), st.booleans()))
    def two_pollers_finish_at_once(self, ok: tuple[bool, bool]) -> None:
        async def both() -> None:
            await asyncio.gather(
                self._finish_one("w1", "parts", ok[0]), self._finish_one("w2", "pages", ok[1])
            )

        self.run(both())

    @rule(i=st.integers(0, 3))
    def retry_a_child(self, i: int) -> None:
        queue, job_id, _ = self.children[i % len(self.children)]
        if self.status(queue, job_id) in (JobStatus.FAILED, JobStatus.CANCELLED):
            self.run(self.flows.retry(queue, job_id, "acme"))

    @rule(i=st.integers(0, 3))
    def cancel_a_child(self, i: int) -> None:
        queue, job_id, _ = self.children[i % len(self.children)]
        with contextlib.suppress(CorralError):
            self.run(self.flows.cancel(queue, job_id, "acme"))

    @rule()
    def cancel_the_parent(self) -> None:
        with contextlib.suppress(CorralError):
            self.run(self.flows.cancel("reports", self.parent, "acme"))

    @rule()
    def reconcile(self) -> None:
        self.run(self.repairer.repair(self.queues["reports"]))

    @rule(worker=st.sampled_from(WORKERS))
    def run_the_parent(self, worker: str) -> None:
        self.run(self._run_parent(worker))

    async def _run_parent(self, worker: str) -> None:
        q = self.queues["reports"]
        claimed = await q.claim(f"{worker}.{uuid4().hex[:6]}", 1)
        for job in claimed.jobs:
            self.runs += 1
            for queue, child_id, ignore in self.children:
                status = self.status(queue, child_id)
                assert status is JobStatus.COMPLETED or (
                    ignore and status is not JobStatus.PENDING
                ), f"the parent ran while child {child_id} was {status}"
            assert set(job.options.children_results or {}) | set(
                job.options.children_failures or {}
            ) == {c for _, c, _ in self.children}
            outcome = Outcome(job, "c", "null")
            assert not await self.hooks[worker, "reports"].persist([outcome])
            await q.settle(job.token.rsplit(":", 1)[0], [outcome])

    @invariant()
    def the_parent_runs_at_most_once(self) -> None:
        assert self.runs <= 1

    def finish_everything(self) -> None:
        """Complete every child still pending, repair, run what can run; then judge."""
        if not self.parent:
            return
        for _ in range(len(self.children) + 1):
            for queue in CHILD_QUEUES:
                self.run(self._finish_one("w3", queue, True))
        self.reconcile()
        self.run(self._run_parent("w3"))
        assert self.runs <= 1
        parent = self.status("reports", self.parent)
        required_ok = all(
            ignore or self.status(q, c) is JobStatus.COMPLETED for q, c, ignore in self.children
        )
        if parent is not JobStatus.CANCELLED and required_ok:
            assert self.runs == 1, f"the parent never ran (it is {parent})"
        if not required_ok:
            assert self.runs == 0 or parent is JobStatus.COMPLETED


def test_random_flows_run_each_parent_once_after_its_required_children(
    redis_target: RedisTarget,
) -> None:
    machine = type("Machine", (FlowMachine,), {"target": redis_target})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=6,
            stateful_step_count=20,
            deadline=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
