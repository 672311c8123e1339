"""No user action waits for the minute tick: resume, promote, retry and redrive wake a
poller, and a job whose ttl ran out is failed when a poller reaches it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from corral.keys import QueueKeys

from tests.functions.apiapp import ACME, ADMIN, ZETA
from tests.functions.poller.pollerapp import QUEUE, WakingApi, start_waking_api, wait_for
from tests.support.awsmock import start_aws

WITHIN_S = 1.0


@pytest.fixture
def api(prefix: str) -> Iterator[WakingApi]:
    for stack in start_aws():
        yield from start_waking_api(stack, prefix)


def enqueue(api: WakingApi, data: dict[str, Any] | None = None, **options: Any) -> str:
    body = {"data": data or {}, "options": options}
    reply = api.client.post(f"/jobs/{QUEUE}", json=body, headers=ACME)
    assert reply.status_code == 202, reply.text
    job_id: str = reply.json()["jobId"]
    return job_id


def job(api: WakingApi, job_id: str) -> dict[str, Any]:
    reply = api.client.get(f"/jobs/{QUEUE}/{job_id}", headers=ACME)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def seconds_until(api: WakingApi, job_id: str, status: str, timeout_s: float = 5) -> float:
    """How long until the job's record says ``status`` (fails after ``timeout_s``)."""
    started = time.monotonic()
    wait_for(lambda: job(api, job_id)["status"] == status, timeout_s, f"{job_id} {status}")
    return time.monotonic() - started


def no_poller_left(api: WakingApi) -> None:
    """Every poller left (and so cleared the wake-up flag): the next start is a wake-up's."""
    flag = QueueKeys(QUEUE, api.prefix).poller_flag()
    wait_for(lambda: not api.run(api.redis.exists, flag), 5, "the pollers to leave")
    wait_for(lambda: not api.pollers_running(), 5, "the pollers to exit")


def test_resume_starts_a_waiting_job_within_a_second(api: WakingApi) -> None:
    assert api.client.post(f"/queues/{QUEUE}/pause", headers=ADMIN).status_code == 200
    job_id = enqueue(api)
    no_poller_left(api)  # the enqueue's poller found the queue paused and left
    assert job(api, job_id)["status"] == "pending" and api.runs.of(job_id) == []

    assert api.client.post(f"/queues/{QUEUE}/resume", headers=ADMIN).json()["paused"] is False

    assert seconds_until(api, job_id, "completed") < WITHIN_S


def test_promote_runs_a_delayed_job_within_a_second(api: WakingApi) -> None:
    job_id = enqueue(api, delay=3_600_000)
    no_poller_left(api)

    reply = api.client.post(f"/jobs/{QUEUE}/{job_id}/promote", headers=ACME)

    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "jobId": job_id,
        "queue": QUEUE,
        "status": "pending",
        "deduplicated": False,
    }
    assert seconds_until(api, job_id, "completed") < WITHIN_S
    assert api.runs.of(job_id) == [1]


def test_promote_refuses_jobs_that_are_not_delayed_or_not_the_callers(api: WakingApi) -> None:
    delayed = enqueue(api, delay=3_600_000)
    assert api.client.post(f"/jobs/{QUEUE}/{delayed}/promote", headers=ZETA).status_code == 404
    assert api.client.post(f"/jobs/{QUEUE}/nope/promote", headers=ACME).status_code == 404
    assert api.client.post("/jobs/nowhere/x/promote", headers=ACME).status_code == 404
    # An admin may promote any tenant's job, as it may cancel or retry it.
    assert api.client.post(f"/jobs/{QUEUE}/{delayed}/promote", headers=ADMIN).status_code == 200
    seconds_until(api, delayed, "completed")

    again = api.client.post(f"/jobs/{QUEUE}/{delayed}/promote", headers=ACME)
    assert again.status_code == 409
    assert again.json()["error"] == "conflict" and "not delayed" in again.json()["message"]


def test_promote_cuts_a_retry_backoff_short(api: WakingApi) -> None:
    # The queue backs off 60 s before a retry: promote starts the second attempt now.
    job_id = enqueue(api, {"failTimes": 1})
    wait_for(lambda: api.runs.of(job_id) == [1], 5, "the first attempt")
    wait_for(lambda: job(api, job_id)["error"] is not None, 5, "the first error")
    no_poller_left(api)

    assert api.client.post(f"/jobs/{QUEUE}/{job_id}/promote", headers=ACME).status_code == 200

    assert seconds_until(api, job_id, "completed") < WITHIN_S
    done = job(api, job_id)
    assert api.runs.of(job_id) == [1, 2]
    assert done["error"] is None, "an earlier attempt's error is not this success's"
    assert done["failedAt"] is None and done["result"] == {"attempt": 2}


def test_a_failed_job_has_failed_at_and_retry_runs_it_within_a_second(api: WakingApi) -> None:
    job_id = enqueue(api, {"failTimes": 5}, attempts=1)
    seconds_until(api, job_id, "failed")
    failed = job(api, job_id)
    assert failed["failedAt"] is not None and failed["failedAt"] >= failed["createdAt"]
    assert "on purpose" in failed["error"]["message"]
    no_poller_left(api)

    assert api.client.post(f"/jobs/{QUEUE}/{job_id}/retry", headers=ACME).status_code == 202

    wait_for(lambda: len(api.runs.of(job_id)) == 2, WITHIN_S, "the retry to start")


def test_redrive_runs_the_dead_letters_within_a_second(api: WakingApi) -> None:
    job_id = enqueue(api, {"failTimes": 1}, attempts=1)
    seconds_until(api, job_id, "failed")
    no_poller_left(api)

    moved = api.client.post(f"/queues/{QUEUE}/redrive", headers=ADMIN).json()["moved"]

    assert moved == [job_id]
    wait_for(lambda: len(api.runs.of(job_id)) == 2, WITHIN_S, "the redriven job to start")


def test_a_job_whose_ttl_ran_out_fails_when_a_poller_reaches_it(api: WakingApi) -> None:
    assert api.client.post(f"/queues/{QUEUE}/pause", headers=ADMIN).status_code == 200
    job_id = enqueue(api, ttl=200)
    no_poller_left(api)
    time.sleep(0.3)

    assert api.client.post(f"/queues/{QUEUE}/resume", headers=ADMIN).status_code == 200

    assert seconds_until(api, job_id, "failed") < WITHIN_S
    failed = job(api, job_id)
    assert failed["error"]["message"].startswith("expired: ttl 200 ms ran out")
    assert failed["error"]["type"] == "ExpiredError"
    assert failed["failedAt"] is not None
    assert api.runs.of(job_id) == [], "an expired job never runs"
