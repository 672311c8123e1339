"""The whole life of a job through the HTTP API of the running emulator (``make run``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from corral.webhooks import verify
from corral_client.client import ApiError, AsyncClient, Client

from tests.support.emulator import ACME, ADMIN, GLOBEX, Running, emulator, wait_until
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with emulator() as started:
        yield started


@pytest.fixture
def http(running: Running) -> Iterator[httpx.Client]:
    with running.client() as client:
        yield client


def enqueue(http: httpx.Client, data: dict[str, Any], queue: str = "work", **options: Any) -> str:
    body: dict[str, Any] = {"data": data}
    if options:
        body["options"] = options
    reply = http.post(f"/jobs/{queue}", json=body, headers=ACME)
    assert reply.status_code == 202, reply.text
    job_id: str = reply.json()["jobId"]
    return job_id


def job(http: httpx.Client, job_id: str, queue: str = "work") -> dict[str, Any]:
    reply = http.get(f"/jobs/{queue}/{job_id}", headers=ACME)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def wait_status(http: httpx.Client, job_id: str, status: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        current = job(http, job_id)
        return current if current["status"] == status else None

    found: dict[str, Any] = wait_until(reached, f"job {job_id} to be {status}")
    return found


def test_start_prints_the_url_and_the_keys(running: Running) -> None:
    text = running.text()
    assert f"corral is running at {running.url}" in text
    assert "local-admin" in text
    assert "local-acme" in text


def test_a_job_is_processed_then_completed_with_its_result(http: httpx.Client) -> None:
    job_id = enqueue(http, {"value": 7, "sleepMs": 1500})

    processing = wait_status(http, job_id, "processing")
    done = wait_status(http, job_id, "completed")

    assert processing["startedAt"] is not None
    assert done["result"] == {"value": 7, "attempt": 1}
    assert done["attemptsMade"] == 1
    assert done["attempts"] == 3
    assert done["createdAt"] <= done["startedAt"] <= done["completedAt"]


def test_failure_retries_dead_letter_and_redrive(http: httpx.Client, tmp_path: Path) -> None:
    switch = tmp_path / "fixed"
    job_id = enqueue(http, {"value": "x", "failUnless": str(switch)})

    failed = wait_status(http, job_id, "failed")
    assert failed["attemptsMade"] == 3
    assert "does not exist yet" in failed["error"]["message"]
    assert http.get("/queues/work", headers=ADMIN).json()["deadLetter"] >= 1

    assert http.post("/queues/work/redrive", headers=ACME).status_code == 403
    switch.touch()
    redriven = http.post("/queues/work/redrive", headers=ADMIN)
    assert redriven.status_code == 200
    assert job_id in redriven.json()["moved"]

    done = wait_status(http, job_id, "completed")
    assert done["result"]["attempt"] == 1  # a fresh attempt budget


def test_a_failed_job_can_be_retried(http: httpx.Client, tmp_path: Path) -> None:
    switch = tmp_path / "fixed"
    job_id = enqueue(http, {"failUnless": str(switch)}, attempts=1)
    wait_status(http, job_id, "failed")

    switch.touch()
    assert http.post(f"/jobs/work/{job_id}/retry", headers=ACME).status_code == 202

    assert wait_status(http, job_id, "completed")["result"]["attempt"] == 1


def test_a_delayed_job_waits_then_runs(http: httpx.Client) -> None:
    job_id = enqueue(http, {"value": "later"}, delay=1500)

    assert job(http, job_id)["status"] == "pending"
    done = wait_status(http, job_id, "completed")
    assert done["startedAt"] - done["createdAt"] >= 1500


def test_pause_holds_jobs_and_priority_orders_them(http: httpx.Client, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    assert http.post("/queues/work/pause", headers=ACME).status_code == 403
    assert http.post("/queues/work/pause", headers=ADMIN).json()["paused"] is True
    try:
        low = enqueue(http, {"value": "low", "runLog": str(log)}, priority=10)
        high = enqueue(http, {"value": "high", "runLog": str(log)}, priority=1)
        assert http.get("/queues/work", headers=ADMIN).json()["paused"] is True
        assert job(http, low)["status"] == "pending"
    finally:
        assert http.post("/queues/work/resume", headers=ADMIN).json()["paused"] is False

    wait_status(http, low, "completed")
    wait_status(http, high, "completed")
    assert [line.split()[0] for line in log.read_text().splitlines()] == [high, low]


def test_a_pending_job_can_be_cancelled_once(http: httpx.Client) -> None:
    job_id = enqueue(http, {"value": 1}, delay=60_000)

    reply = http.delete(f"/jobs/work/{job_id}", headers=ACME)

    assert reply.status_code == 200
    assert reply.json()["status"] == "cancelled"
    assert job(http, job_id)["status"] == "cancelled"
    assert http.delete(f"/jobs/work/{job_id}", headers=ACME).status_code == 409


def test_a_duplicate_is_answered_with_the_first_job(http: httpx.Client) -> None:
    options = {"delay": 60_000, "deduplication": {"id": "report-42"}}
    first = http.post("/jobs/work", json={"data": {}, "options": options}, headers=ACME)
    again = http.post("/jobs/work", json={"data": {}, "options": options}, headers=ACME)

    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["jobId"] == first.json()["jobId"]
    assert again.json()["deduplicated"] is True


def test_another_tenant_cannot_see_the_job(http: httpx.Client) -> None:
    job_id = enqueue(http, {"value": 1})

    assert http.get(f"/jobs/work/{job_id}", headers=GLOBEX).status_code == 404
    assert http.delete(f"/jobs/work/{job_id}", headers=GLOBEX).status_code == 404


def test_list_stats_and_clean(http: httpx.Client) -> None:
    job_id = enqueue(http, {"value": "listed"})
    wait_status(http, job_id, "completed")

    listed = http.get("/queues/work/jobs", params={"status": "completed"}, headers=ACME)
    assert job_id in [j["jobId"] for j in listed.json()["jobs"]]
    stats = {q["name"]: q for q in http.get("/queues", headers=ACME).json()["queues"]}
    assert stats["work"]["completed"] >= 1

    assert http.post("/queues/work/clean", headers=ACME).status_code == 403
    cleaned = http.post("/queues/work/clean", json={"status": "completed"}, headers=ADMIN)
    assert job_id in cleaned.json()["removed"]
    assert http.get("/queues/work", headers=ADMIN).json()["completed"] == 0
    # Cleaned jobs leave the lists as they leave the counts.
    listed = http.get("/queues/work/jobs", params={"status": "completed"}, headers=ACME)
    assert job_id not in [j["jobId"] for j in listed.json()["jobs"]]
    assert http.get(f"/jobs/work/{job_id}", headers=ACME).status_code == 404


def test_a_jobs_webhook_is_delivered_signed(http: httpx.Client) -> None:
    receiver = Receiver(failures=1).start()
    try:
        refused = {"data": {"value": 1}, "options": {"webhook": {"url": "http://169.254.169.254/"}}}
        answer = http.post("/jobs/work", json=refused, headers=ACME)
        assert answer.status_code == 422 and "metadata" in answer.json()["message"]

        job_id = enqueue(http, {"value": 2}, webhook={"url": receiver.url})
        wait_until(lambda: [r for r in receiver.requests if r.answered == 200], "the delivery")
        secret = http.get("/webhooks/secret", headers=ACME).json()["secret"]
        delivered = receiver.requests[-1]
        verify(secret, delivered.body, delivered.headers)
        body = json.loads(delivered.body)
        assert body["type"] == "Job Completed" and body["detail"]["jobId"] == job_id
        assert [r.answered for r in receiver.requests] == [500, 200], "retried once"
    finally:
        receiver.stop()


async def test_the_python_client_runs_a_job_and_reads_its_queue(running: Running) -> None:
    async with AsyncClient(running.url, "local-acme") as client:
        accepted = await client.enqueue("work", {"value": 3}, {"priority": 1})
        assert accepted["status"] == "pending" and not accepted["deduplicated"]
        done = await client.wait("work", accepted["jobId"], poll_s=0.1, timeout_s=60)
        assert done["status"] == "completed" and done["result"] == {"value": 3, "attempt": 1}
        page = await client.jobs("work", status="completed", limit=100)
        assert accepted["jobId"] in {job["jobId"] for job in page["jobs"]}
        assert (await client.me())["tenant"] == "acme"
        with pytest.raises(ApiError) as refused:
            await client.pause("work")
        assert refused.value.status == 403
    with Client(running.url, "local-admin") as admin:
        assert admin.pause("work") == {"queue": "work", "paused": True}
        assert admin.resume("work") == {"queue": "work", "paused": False}
