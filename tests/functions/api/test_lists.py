"""Job lists and counts: one status vocabulary, the newest jobs of a status first even
behind a burst of newer ones, and ``clean`` reaching the lists as well as the counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from corral.drain import Drainer
from corral.failures import FailureRecorder
from corral.poller.hooks import StoreHooks

from tests.functions.apiapp import ACME, ADMIN, Api, start_api
from tests.support.awsmock import start_aws


@pytest.fixture
def api(prefix: str) -> Iterator[Api]:
    for stack in start_aws():
        yield from start_api(stack, prefix)


def enqueue_many(api: Api, count: int, **options: Any) -> list[str]:
    jobs = [{"data": {"n": i}, "options": options} for i in range(count)]
    ids: list[str] = []
    for start in range(0, count, 100):
        reply = api.client.post(
            "/jobs/email/batch", json={"jobs": jobs[start : start + 100]}, headers=ACME
        )
        assert reply.status_code == 202, reply.text
        ids += [job["jobId"] for job in reply.json()["jobs"]]
    return ids


def drain(api: Api) -> None:
    """Run every waiting job of ``email`` to its end, its outcomes in the job table."""

    async def run() -> None:
        queue = api.service.queue("email")
        hooks = StoreHooks(queue, api.store, FailureRecorder(api.store, None))
        await Drainer(queue, concurrency=4, hooks=hooks).run(until_empty=True)

    api.run(run)


def listed(api: Api, headers: dict[str, str] = ACME, **params: Any) -> dict[str, Any]:
    reply = api.client.get("/queues/email/jobs", params=params, headers=headers)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_the_newest_completed_jobs_come_first_behind_a_burst(api: Api) -> None:
    done = enqueue_many(api, 30)
    drain(api)
    enqueue_many(api, 200)  # newer, and not completed

    async def claim() -> None:
        await api.service.queue("email").claim("burst", 200)

    api.run(claim)

    for headers in (ACME, ADMIN):
        page = listed(api, headers, status="completed", limit=20)
        ids = [job["jobId"] for job in page["jobs"]]
        assert ids == sorted(done, reverse=True)[:20], "the 20 newest completed"
        assert {job["status"] for job in page["jobs"]} == {"completed"}
        rest = listed(api, headers, status="completed", limit=20, cursor=page["nextCursor"])
        assert [job["jobId"] for job in rest["jobs"]] == sorted(done, reverse=True)[20:]


def test_counts_and_lists_speak_the_job_statuses(api: Api) -> None:
    enqueue_many(api, 2)
    enqueue_many(api, 1, delay=600_000)

    counts = api.client.get("/queues/email", headers=ACME).json()
    assert {k: counts[k] for k in ("pending", "waiting", "delayed", "processing")} == {
        "pending": 3,
        "waiting": 2,
        "delayed": 1,
        "processing": 0,
    }
    assert "active" not in counts
    pending = listed(api, status="pending")["jobs"]
    assert len(pending) == 3
    # The engine's words are accepted as aliases in filters.
    assert listed(api, status="waiting")["jobs"] == pending
    assert listed(api, status="delayed")["jobs"] == pending
    assert listed(api, status="active")["jobs"] == listed(api, status="processing")["jobs"] == []
    bad = api.client.get("/queues/email/jobs", params={"status": "running"}, headers=ACME)
    assert bad.status_code == 422


def test_clean_pending_cancels_waiting_and_delayed_jobs(api: Api) -> None:
    ids = enqueue_many(api, 2) + enqueue_many(api, 1, delay=600_000)

    reply = api.client.post("/queues/email/clean", json={"status": "pending"}, headers=ADMIN)

    assert reply.status_code == 200, reply.text
    assert sorted(reply.json()["removed"]) == sorted(ids)
    assert listed(api, status="pending")["jobs"] == []
    assert len(listed(api, status="cancelled")["jobs"]) == 3
    assert api.client.get("/queues/email", headers=ACME).json()["pending"] == 0


def test_clean_removes_finished_jobs_from_the_lists_as_from_the_counts(api: Api) -> None:
    done = enqueue_many(api, 5)
    drain(api)
    assert len(listed(api, status="completed")["jobs"]) == 5

    reply = api.client.post("/queues/email/clean", json={"status": "completed"}, headers=ADMIN)

    assert sorted(reply.json()["removed"]) == sorted(done)
    assert api.client.get("/queues/email", headers=ACME).json()["completed"] == 0
    assert listed(api, status="completed")["jobs"] == []
    assert listed(api, headers=ADMIN)["jobs"] == []
    assert api.client.get(f"/jobs/email/{done[0]}", headers=ACME).status_code == 404


def test_clean_also_removes_records_redis_retention_already_dropped(api: Api) -> None:
    done = enqueue_many(api, 3)
    drain(api)
    # Redis forgot one (its retention), the job table still lists it.
    api.run(
        api.service.queue("email").redis.zrem,
        api.service.queue("email").keys.base + "completed",
        done[0],
    )

    removed = api.client.post("/queues/email/clean", json={"status": "completed"}, headers=ADMIN)

    assert sorted(removed.json()["removed"]) == sorted(done)
    assert listed(api, status="completed")["jobs"] == []
