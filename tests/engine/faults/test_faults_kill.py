"""A poller killed mid-job (SIGKILL, as a Lambda timeout or crash) loses nothing: the job
is recorded as processing, its lease lapses, and the next poller runs it again."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import boto3
import pytest
from corral.dlq import DeadLetterQueue
from corral.job import JobStatus
from corral.lambda_support import ThreadLoops
from corral.poller import PollerRuntime, PollerSettings
from corral.records import table_definition
from corral.scripts import RedisClient
from corral.service import JobService
from corral.store import JobStore, now_ms
from corral.wiring import Wiring, install
from moto.server import ThreadedMotoServer
from poller import app
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL, delete_prefix
from tests.support.emulator import ROOT, child_env, free_port, wait_until
from tests.support.lambda_env import FakeContext, load_event
from tests.support.testqueues import registry

pytestmark = pytest.mark.slow

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class Served:
    endpoint: str
    store: JobStore
    dlq: DeadLetterQueue
    table: str
    prefix: str
    loops: ThreadLoops


def aws_client(endpoint: str, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service, region_name="us-east-1", endpoint_url=endpoint, **CREDENTIALS
    )


@pytest.fixture
def served() -> Iterator[Served]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    loops = ThreadLoops(lambda: Redis.from_url(SHARED_REDIS_URL, decode_responses=True))
    table, prefix = f"jobs-{uuid4().hex[:6]}", f"t{uuid4().hex[:12]}"
    try:
        dynamodb = aws_client(endpoint, "dynamodb")
        dynamodb.create_table(**table_definition(table))
        sqs = aws_client(endpoint, "sqs")
        url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        store = JobStore(dynamodb, table)
        yield Served(endpoint, store, DeadLetterQueue(sqs, url, wait_s=0), table, prefix, loops)
    finally:
        loops.run(lambda redis: delete_prefix(redis, prefix))
        loops.close()
        install(None)
        server.stop()


def enqueue(served: Served, data: dict[str, Any]) -> str:
    async def add(redis: RedisClient) -> str:
        service = JobService.build(registry, redis, served.store, prefix=served.prefix)
        return (await service.enqueue("work", data, None, "acme")).job_id

    return served.loops.run(add)


def start_child(served: Served, *extra: str) -> subprocess.Popen[str]:
    env = child_env(
        AWS_ENDPOINT_URL=served.endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        PYTHONPATH=str(ROOT / "functions"),
    )
    args = [SHARED_REDIS_URL, served.table, served.dlq.url, served.prefix, "work", *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine.poller_child", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill(child: subprocess.Popen[str]) -> None:
    child.kill()
    child.wait()
    if child.stdout is not None:
        child.stdout.close()


def runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_a_poller_killed_mid_job_loses_nothing(served: Served, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    job_id = enqueue(served, {"value": "v", "sleepMs": 2000, "runLog": str(log)})
    child = start_child(served)
    try:
        wait_until(lambda: runs(log), "the job to start in the child poller", 60)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    record = served.store.get("work", job_id)
    assert record is not None
    # Nothing finished and nothing is lost (the kill may beat the "processing" write).
    assert record.status in (JobStatus.PENDING, JobStatus.PROCESSING)
    key = f"{served.prefix}:{{work}}:active"

    async def lease_of(redis: RedisClient) -> float | None:
        score: float | None = await redis.zscore(key, job_id)
        return score

    lease_end = served.loops.run(lease_of)
    assert lease_end is not None
    time.sleep(max(0.0, (lease_end - now_ms()) / 1000) + 0.1)

    install(
        Wiring(
            poller=PollerRuntime(
                registry,
                served.store,
                served.dlq,
                served.loops,
                prefix=served.prefix,
                settings=PollerSettings(linger_ms=300),
            )
        )
    )
    reply = app.handler(load_event("poller_wake.json", queue="work"), FakeContext(60_000))

    assert reply["completed"] == 1
    assert runs(log) == [f"{job_id} 1", f"{job_id} 2"]
    record = served.store.get("work", job_id)
    assert record is not None
    assert record.status is JobStatus.COMPLETED
    assert record.result == {"value": "v", "attempt": 2}


def test_every_poller_killed_the_queue_runs_again_as_the_first_lease_runs_out(
    served: Served, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    for i in range(8):
        enqueue(served, {"value": i, "sleepMs": 2000 if i < 4 else 0, "runLog": str(log)})
    # Leases of 4.5 s: long enough for the next poller to start while they still hold
    # every slot (the case that froze a queue), short enough for a test.
    margin = "3500"
    pollers = [start_child(served, margin) for _ in range(2)]
    try:
        wait_until(lambda: len(runs(log)) >= 4, "all four slots to be busy", 60)
    finally:
        for child in pollers:
            kill(child)

    async def first_lease_end(redis: RedisClient) -> float:
        head: Any = await redis.zrange(f"{served.prefix}:{{work}}:active", 0, 0, withscores=True)
        return float(head[0][1])

    lease_end = served.loops.run(first_lease_end)
    assert lease_end > now_ms()  # the next poller meets slots still held by the dead ones
    # The next poller lingers as a deployed one does (a second), so it must not leave.
    survivor = start_child(served, margin, str(PollerSettings().linger_ms))
    try:
        wait_until(lambda: len(runs(log)) > 4, "the queue to run again", 30)
        resumed = now_ms()
        wait_until(lambda: len(runs(log)) >= 12, "every job to run", 30)
    finally:
        kill(survivor)
    # Measured after each poll of the log (every few ms): lease end + 1 s is the target.
    assert resumed - lease_end < 1_000, f"ran again {resumed - lease_end:.0f} ms after"
