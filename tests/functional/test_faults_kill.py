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
from moto.server import ThreadedMotoServer
from poller import app
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL, delete_prefix
from tests.e2e.emulator import ROOT, child_env, free_port, wait_until
from tests.e2e.testqueues import registry
from tests.handlers.lambda_env import FakeContext, load_event

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
        app.use(None)
        server.stop()


def enqueue(served: Served, data: dict[str, Any]) -> str:
    async def add(redis: RedisClient) -> str:
        service = JobService.build(registry, redis, served.store, prefix=served.prefix)
        return (await service.enqueue("work", data, None, "acme")).job_id

    return served.loops.run(add)


def start_child(served: Served) -> subprocess.Popen[str]:
    env = child_env(
        AWS_ENDPOINT_URL=served.endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        PYTHONPATH=str(ROOT / "functions"),
    )
    args = [SHARED_REDIS_URL, served.table, served.dlq.url, served.prefix, "work"]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.functional.poller_child", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


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

    app.use(
        PollerRuntime(
            registry,
            served.store,
            served.dlq,
            served.loops,
            prefix=served.prefix,
            settings=PollerSettings(linger_ms=300),
        )
    )
    reply = app.handler(load_event("poller_wake.json", queue="work"), FakeContext(60_000))

    assert reply["completed"] == 1
    assert runs(log) == [f"{job_id} 1", f"{job_id} 2"]
    record = served.store.get("work", job_id)
    assert record is not None
    assert record.status is JobStatus.COMPLETED
    assert record.result == {"value": "v", "attempt": 2}
