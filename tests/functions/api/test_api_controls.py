"""The operator controls over HTTP: a job's log, cancelling a running job (202), and
changing a waiting job (PATCH), each checked for tenancy and bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from corral.context import log_entry
from corral.failures import FailureRecorder
from corral.job_logs import append_logs
from corral.reconciler import Reconciler

from tests.functions.apiapp import ACME, ADMIN, ZETA, Api, delete_prefix_sync, start_api
from tests.support.awsmock import start_aws


@pytest.fixture
def api(prefix: str) -> Iterator[Api]:
    for stack in start_aws():
        yield from start_api(stack, prefix)


def enqueue(
    api: Api, queue: str = "email", data: dict[str, Any] | None = None, **options: int
) -> str:
    body = {"data": data or {"n": 1}, "options": options}
    reply = api.client.post(f"/jobs/{queue}", json=body, headers=ACME)
    assert reply.status_code == 202, reply.text
    job_id: str = reply.json()["jobId"]
    return job_id


def claim(api: Api, queue: str = "email") -> None:
    async def go() -> None:
        assert len((await api.service.queue(queue).claim("w", 1)).jobs) == 1

    api.run(go)


def test_a_jobs_log_is_read_in_pages_by_its_tenant(api: Api) -> None:
    job_id = enqueue(api)
    lines = [log_entry(f"step {i}", 1_000 + i) for i in range(5)]
    api.run(append_logs, api.service.queue("email"), {job_id: lines})

    first = api.client.get(f"/jobs/email/{job_id}/logs?limit=3", headers=ACME)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["logs"][0] == {"ts": 1000, "message": "step 0"}
    assert (len(body["logs"]), body["nextCursor"]) == (3, "3")
    rest = api.client.get(f"/jobs/email/{job_id}/logs?cursor=3", headers=ACME).json()
    assert [line["message"] for line in rest["logs"]] == ["step 3", "step 4"]
    assert rest["nextCursor"] is None

    assert api.client.get(f"/jobs/email/{job_id}/logs", headers=ZETA).status_code == 404
    assert api.client.get(f"/jobs/email/{job_id}/logs", headers=ADMIN).status_code == 200
    assert api.client.get(f"/jobs/email/{job_id}/logs?cursor=x", headers=ACME).status_code == 422
    assert api.client.get(f"/jobs/email/{job_id}/logs?limit=0", headers=ACME).status_code == 422
    assert api.client.get("/jobs/email/nope/logs", headers=ACME).status_code == 404
    assert api.client.get(f"/jobs/nope/{job_id}/logs", headers=ACME).status_code == 404


def test_deleting_a_running_job_answers_cancelling(api: Api) -> None:
    job_id = enqueue(api)
    claim(api)
    assert api.client.delete(f"/jobs/email/{job_id}", headers=ZETA).status_code == 404
    reply = api.client.delete(f"/jobs/email/{job_id}", headers=ACME)
    assert reply.status_code == 202, reply.text
    assert reply.json() == {"jobId": job_id, "status": "cancelling"}
    # Asking again is harmless; the job runs on until its worker sees the request.
    assert api.client.delete(f"/jobs/email/{job_id}", headers=ACME).status_code == 202
    assert api.client.get(f"/jobs/email/{job_id}", headers=ACME).json()["status"] == "processing"


def test_deleting_a_waiting_job_still_cancels_it_at_once(api: Api) -> None:
    job_id = enqueue(api)
    reply = api.client.delete(f"/jobs/email/{job_id}", headers=ACME)
    assert (reply.status_code, reply.json()["status"]) == (200, "cancelled")
    assert api.client.delete(f"/jobs/email/{job_id}", headers=ACME).status_code == 409


def test_patch_changes_a_waiting_job_durably(api: Api) -> None:
    job_id = enqueue(api, "strict", {"to": "old@example.com"}, delay=600_000)
    change = {"data": {"to": "new@example.com", "count": 3}, "priority": 7, "delay": 0}
    woken = len(api.wakes.queues)
    reply = api.client.patch(f"/jobs/strict/{job_id}", json=change, headers=ACME)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["data"] == {"subAccountId": "acme", "to": "new@example.com", "count": 3}
    assert body["options"]["priority"] == 7

    # Redis lost: the restore from the job table brings the job back as changed.
    delete_prefix_sync(api.service.queue("strict").keys.prefix)
    store, service = api.store, api.service
    reconciler = Reconciler(service.queues, store, FailureRecorder(store, None), grace_ms=0)
    api.run(reconciler.run)

    async def restored() -> tuple[str, str | None, float | None]:
        q = service.queue("strict")
        job = await q.get_job(job_id)
        assert job is not None
        delayed = await q.redis.zscore(q.keys.base + "delayed", job_id)
        return json.dumps(job.data), str(job.priority), delayed

    assert api.wakes.queues[woken:] == ["strict"]  # due now: its poller is woken
    data, priority, delayed = api.run(restored)
    assert json.loads(data)["to"] == "new@example.com"
    assert (priority, delayed) == ("7", None)


def test_patch_refuses_bad_input_other_tenants_and_started_jobs(api: Api) -> None:
    job_id = enqueue(api, "strict", {"to": "old@example.com"})
    url = f"/jobs/strict/{job_id}"
    assert api.client.patch(url, json={"data": {"to": "x"}}, headers=ACME).status_code == 422
    assert api.client.patch(url, json={"priority": -1}, headers=ACME).status_code == 422
    assert api.client.patch(url, json={}, headers=ACME).status_code == 422
    assert api.client.patch(url, json={"priority": 1}, headers=ZETA).status_code == 404
    claim(api, "strict")
    reply = api.client.patch(url, json={"priority": 1}, headers=ACME)
    assert reply.status_code == 409, reply.text


def test_queue_limits_change_at_runtime_for_admins_only(api: Api) -> None:
    before = api.client.get("/queues/email", headers=ACME).json()["settings"]
    assert before == {"concurrency": 0, "rateLimit": None, "groupConcurrency": 0, "runtime": []}

    change = {"concurrency": 2, "rateLimit": {"max": 30, "durationMs": 60_000}}
    assert api.client.patch("/queues/email", json=change, headers=ACME).status_code == 403
    reply = api.client.patch("/queues/email", json=change, headers=ADMIN)
    assert reply.status_code == 200, reply.text
    settings = reply.json()["settings"]
    assert settings["concurrency"] == 2
    assert settings["rateLimit"] == {"max": 30, "durationMs": 60_000}
    assert settings["runtime"] == ["concurrency", "rateMax", "rateMs"]

    # Redis lost the mirror: the next read seeds it again from the job table.
    delete_prefix_sync(api.service.queue("email").keys.prefix)
    listed = api.client.get("/queues", headers=ACME).json()["queues"]
    assert {q["name"]: q["settings"]["concurrency"] for q in listed}["email"] == 2

    back = api.client.patch("/queues/email", json={"concurrency": None}, headers=ADMIN).json()
    assert back["settings"]["concurrency"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"concurrency": -1},
        {"concurrency": "many"},
        {"rateLimit": {"max": 5, "durationMs": 0}},
        {"groupConcurrency": 1_000_000},
        {"unknown": 1},
    ],
)
def test_invalid_limits_are_422(api: Api, body: dict[str, Any]) -> None:
    reply = api.client.patch("/queues/email", json=body, headers=ADMIN)
    assert reply.status_code == 422, reply.text
    assert (
        api.client.patch("/queues/nope", json={"concurrency": 1}, headers=ADMIN).status_code == 404
    )
