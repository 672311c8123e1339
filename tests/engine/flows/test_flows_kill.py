"""The cross-queue step of a flow under a real kill: a poller process dies (SIGKILL)
between the two halves of "a child finished" (the job table counted the child and
released the parent; ``child_done.lua`` never ran), and the reconciler repairs it so the
parent, in another queue, runs exactly once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from corral.flows.intake import AcceptedNode, FlowNode
from corral.flows.service import FlowService
from corral.job import JobStatus
from corral.poller import PollerRuntime, PollerSettings
from corral.queue import Queue
from corral.reconciler import ReconcilerRuntime
from corral.scripts import RedisClient
from corral.service import JobService
from corral.wiring import Wiring, install
from poller import app

from tests.conftest import SHARED_REDIS_URL
from tests.engine.faults.test_faults_kill import Served, kill, runs, served
from tests.support.emulator import ROOT, child_env, wait_until
from tests.support.lambda_env import FakeContext, load_event
from tests.support.testqueues import registry

__all__ = ["served"]

pytestmark = pytest.mark.slow


def add_flow(served: Served, log: Path) -> AcceptedNode:
    """A parent in ``slow`` waiting for one child in ``work``: two queues, two hash slots."""
    child = FlowNode("work", {"value": "child", "runLog": str(log)})
    root = FlowNode("slow", {"value": "parent", "runLog": str(log)}, children=[child])

    async def add(redis: RedisClient) -> AcceptedNode:
        service = JobService.build(registry, redis, served.store, prefix=served.prefix)
        return await FlowService(service).add(root, "acme")

    return served.loops.run(add)


def start_paused_child(served: Served, marker: Path) -> subprocess.Popen[str]:
    env = child_env(
        AWS_ENDPOINT_URL=served.endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        PYTHONPATH=str(ROOT / "functions"),
        PAUSE_BEFORE_CHILD_DONE=str(marker),
    )
    args = [SHARED_REDIS_URL, served.table, served.dlq.url, served.prefix, "work"]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine.poller_child", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def redis_state(served: Served, queue: str, job_id: str) -> str | None:
    async def read(redis: RedisClient) -> str | None:
        q = Queue(redis, registry.get(queue), prefix=served.prefix)
        state = await redis.hget(q.keys.job(job_id), "state")
        return None if state is None else str(state)

    return served.loops.run(read)


def poll(served: Served, queue: str) -> None:
    install(
        Wiring(
            poller=PollerRuntime(
                registry,
                served.store,
                served.dlq,
                served.loops,
                prefix=served.prefix,
                settings=PollerSettings(linger_ms=100),
            )
        )
    )
    app.handler(load_event("poller_wake.json", queue=queue), FakeContext(60_000))


def test_a_poller_killed_between_the_halves_is_repaired_and_the_parent_runs_once(
    served: Served, tmp_path: Path
) -> None:
    log, marker = tmp_path / "runs.log", tmp_path / "paused"
    tree = add_flow(served, log)
    (child,) = tree.children
    poller = start_paused_child(served, marker)
    try:
        wait_until(marker.exists, "the child poller to pause between the halves", 60)
    finally:
        kill(poller)
    assert poller.returncode < 0  # killed, not exited

    # The durable half is done: the child completed, the parent released, in the table.
    child_record = served.store.get("work", child.job_id)
    assert child_record is not None and child_record.status is JobStatus.COMPLETED
    parent_record = served.store.get("slow", tree.job_id)
    assert parent_record is not None and parent_record.status is JobStatus.PENDING
    # Redis never heard: the parent still waits for its child, and cannot be claimed.
    assert redis_state(served, "slow", tree.job_id) == "waiting-children"
    poll(served, "slow")
    assert runs(log) == [f"{child.job_id} 1"]

    reconciler = ReconcilerRuntime(
        registry, served.store, served.dlq, served.loops, prefix=served.prefix, grace_ms=0
    )
    reconciler.invoke(["slow"])
    assert redis_state(served, "slow", tree.job_id) == "waiting"
    poll(served, "slow")
    reconciler.invoke(["slow"])  # repairing again changes nothing
    poll(served, "slow")

    assert runs(log) == [f"{child.job_id} 1", f"{tree.job_id} 1"]
    parent_record = served.store.get("slow", tree.job_id)
    assert parent_record is not None and parent_record.status is JobStatus.COMPLETED
