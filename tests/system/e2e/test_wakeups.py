"""Under ``make run``, with the shipped queues and no schedule tick to help: resume and
promote start a job within a second (the schedule would take up to a minute)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from tests.support.emulator import ACME, ADMIN, Running, emulator, wait_until

pytestmark = pytest.mark.slow

QUEUE = "generic-task"
SUM = {"taskName": "sum", "functionName": "calculateSum", "parameters": [[1, 2, 3]]}
WITHIN_S = 1.0


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    # The deployment's queues; the schedules tick once at start, then not for an hour.
    with emulator(CORRAL_LOCAL_REGISTRY="", CORRAL_LOCAL_SCHEDULE_S="3600") as started:
        yield started


@pytest.fixture
def http(running: Running) -> Iterator[httpx.Client]:
    with running.client() as client:
        yield client


def enqueue(http: httpx.Client, **options: Any) -> str:
    reply = http.post(f"/jobs/{QUEUE}", json={"data": SUM, "options": options}, headers=ACME)
    assert reply.status_code == 202, reply.text
    job_id: str = reply.json()["jobId"]
    return job_id


def no_poller_running(running: Running) -> None:
    """Every poller of the queue left: a job that starts now was started by a wake-up."""
    client = redis.Redis.from_url(running.redis_url)
    flag = f"{running.prefix}:{{{QUEUE}}}:poller"
    try:
        wait_until(lambda: not client.exists(flag), "the pollers to leave", 30)
    finally:
        client.close()


def seconds_to_complete(http: httpx.Client, job_id: str) -> float:
    started = time.monotonic()

    def completed() -> bool:
        reply = http.get(f"/jobs/{QUEUE}/{job_id}", headers=ACME).json()
        assert reply["status"] in ("pending", "processing", "completed"), reply
        return bool(reply["status"] == "completed")

    wait_until(completed, f"job {job_id} to complete", 10)
    return time.monotonic() - started


def test_resume_starts_the_waiting_job_at_once(running: Running, http: httpx.Client) -> None:
    assert http.post(f"/queues/{QUEUE}/pause", headers=ADMIN).status_code == 200
    job_id = enqueue(http)
    no_poller_running(running)

    assert http.post(f"/queues/{QUEUE}/resume", headers=ADMIN).status_code == 200

    assert seconds_to_complete(http, job_id) < WITHIN_S


def test_promote_starts_a_delayed_job_at_once(running: Running, http: httpx.Client) -> None:
    job_id = enqueue(http, delay=3_600_000)
    no_poller_running(running)

    assert http.post(f"/jobs/{QUEUE}/{job_id}/promote", headers=ACME).status_code == 200

    assert seconds_to_complete(http, job_id) < WITHIN_S
