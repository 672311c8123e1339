"""The API through FastAPI's TestClient: every route, every error code, tenancy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api.factory import PUBLIC_ROUTES
from corral.dlq import DeadLetter
from corral.job import JobStatus
from corral.queue import Outcome
from corral.records import OutcomeRecord

from tests.functions.apiapp import ACME, ADMIN, MAX_BODY, ZETA, Api
from tests.support.awsmock import AwsStack


def enqueue(api: Api, data: Any = None, headers: dict[str, str] = ACME, **body: Any) -> Any:
    reply = api.client.post("/jobs/email", json={"data": data or {"n": 1}, **body}, headers=headers)
    assert reply.status_code in (200, 202), reply.text
    return reply.json()


def assert_error(reply: Any, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()
    assert body["error"] == code and body["message"]
    return body


def test_enqueue_then_read(api: Api) -> None:
    reply = api.client.post(
        "/jobs/email", json={"data": {"n": 4}, "options": {"priority": 2}}, headers=ACME
    )
    assert reply.status_code == 202
    body = reply.json()
    assert body == {
        "jobId": body["jobId"],
        "queue": "email",
        "status": "pending",
        "deduplicated": False,
    }
    assert api.wakes.queues == ["email"]
    job = api.client.get(f"/jobs/email/{body['jobId']}", headers=ACME).json()
    assert job["status"] == "pending" and job["data"] == {"n": 4, "subAccountId": "acme"}
    assert set(job) >= {
        "jobId", "queue", "status", "progress", "result", "error", "attempts",
        "attemptsMade", "createdAt", "startedAt", "completedAt",
    }  # fmt: skip


def test_processing_and_progress_come_from_redis(api: Api) -> None:
    job_id = enqueue(api)["jobId"]
    queue = api.service.queue("email")
    claimed = api.run(queue.claim, "w1", 1).jobs[0]
    api.run(queue.progress, job_id, claimed.token, 50)
    job = api.client.get(f"/jobs/email/{job_id}", headers=ACME).json()
    assert (job["status"], job["progress"], job["attemptsMade"]) == ("processing", 50, 1)
    assert job["startedAt"] is not None, "from Redis: a start is not written to the table"
    record = api.service.store.get("email", job_id)
    assert record is not None and record.status == "pending"
    listed = api.client.get("/queues/email/jobs?status=processing", headers=ACME).json()
    assert [j["jobId"] for j in listed["jobs"]] == [job_id]
    assert listed["jobs"][0]["status"] == "processing"


def test_a_duplicate_answers_200_with_the_existing_job(api: Api) -> None:
    options = {"deduplication": {"id": "welcome-42"}}
    first = enqueue(api, options=options)
    reply = api.client.post(
        "/jobs/email", json={"data": {"n": 2}, "options": options}, headers=ACME
    )
    assert reply.status_code == 200
    assert reply.json()["jobId"] == first["jobId"] and reply.json()["deduplicated"] is True


def test_batch(api: Api) -> None:
    body = {"jobs": [{"data": {"n": i}} for i in range(3)]}
    reply = api.client.post("/jobs/email/batch", json=body, headers=ACME)
    assert reply.status_code == 202
    jobs = reply.json()["jobs"]
    assert [j["status"] for j in jobs] == ["pending"] * 3
    assert len({j["jobId"] for j in jobs}) == 3


def test_401_without_a_valid_token(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic k-acme"}):
        reply = api.client.post("/jobs/email", json={"data": {}}, headers=headers)
        assert_error(reply, 401, "unauthorized")
        assert reply.headers["www-authenticate"] == "Bearer"
    assert_error(api.client.get("/queues"), 401, "unauthorized")


def test_403_for_another_tenant_in_the_payload(api: Api) -> None:
    reply = api.client.post("/jobs/email", json={"data": {"subAccountId": "zeta"}}, headers=ACME)
    assert_error(reply, 403, "forbidden")
    assert api.store.list_jobs("email", tenant="acme").records == []


@pytest.mark.parametrize("action", ["pause", "resume", "clean", "redrive"])
def test_403_for_admin_routes_without_admin(api: Api, action: str) -> None:
    assert_error(api.client.post(f"/queues/email/{action}", headers=ACME), 403, "forbidden")
    assert_error(api.client.post(f"/queues/email/{action}"), 401, "unauthorized")


def test_404s(api: Api) -> None:
    job_id = enqueue(api)["jobId"]
    assert_error(api.client.post("/jobs/nope", json={"data": {}}, headers=ACME), 404, "not_found")
    assert_error(api.client.get("/jobs/nope/x", headers=ACME), 404, "not_found")
    assert_error(api.client.get("/jobs/email/missing", headers=ACME), 404, "not_found")
    assert_error(api.client.get("/jobs/email/bad%20id!", headers=ACME), 404, "not_found")
    assert_error(api.client.get("/queues/nope", headers=ACME), 404, "not_found")
    assert_error(api.client.get("/queues/nope/jobs", headers=ACME), 404, "not_found")
    assert_error(api.client.get("/no/such/route", headers=ACME), 404, "not_found")
    # Another tenant's job does not exist for the caller, whatever it asks.
    other = api.client.get(f"/jobs/email/{job_id}", headers=ZETA)
    missing = api.client.get("/jobs/email/missing", headers=ZETA)
    assert assert_error(other, 404, "not_found")["message"].replace(job_id, "ID") == assert_error(
        missing, 404, "not_found"
    )["message"].replace("missing", "ID")
    assert_error(api.client.delete(f"/jobs/email/{job_id}", headers=ZETA), 404, "not_found")
    assert_error(api.client.post(f"/jobs/email/{job_id}/retry", headers=ZETA), 404, "not_found")
    assert api.client.get(f"/jobs/email/{job_id}", headers=ACME).json()["status"] == "pending"


def test_405_is_json(api: Api) -> None:
    assert_error(api.client.put("/jobs/email", headers=ACME), 405, "method_not_allowed")


def test_cancel_then_409_and_a_running_job_is_cancelling(api: Api) -> None:
    job_id = enqueue(api)["jobId"]
    reply = api.client.delete(f"/jobs/email/{job_id}", headers=ACME)
    assert reply.status_code == 200 and reply.json() == {"jobId": job_id, "status": "cancelled"}
    assert_error(api.client.delete(f"/jobs/email/{job_id}", headers=ACME), 409, "conflict")
    running = enqueue(api)["jobId"]
    api.run(api.service.queue("email").claim, "w1", 1)
    reply = api.client.delete(f"/jobs/email/{running}", headers=ACME)
    assert reply.status_code == 202 and reply.json()["status"] == "cancelling"


def test_retry_a_failed_job_and_409_otherwise(api: Api) -> None:
    job_id = enqueue(api)["jobId"]
    assert_error(api.client.post(f"/jobs/email/{job_id}/retry", headers=ACME), 409, "conflict")
    queue = api.service.queue("email")
    claimed = api.run(queue.claim, "w1", 1).jobs[0]
    api.store.record_outcome(
        OutcomeRecord("email", job_id, "acme", JobStatus.FAILED, 1, claimed.created_at, '"x"')
    )
    reply = api.client.post(f"/jobs/email/{job_id}/retry", headers=ACME)
    assert_error(reply, 409, "conflict")  # recorded, but Redis has not settled it yet
    api.run(queue.settle, "w1", [Outcome(claimed, "f", '"x"')])
    reply = api.client.post(f"/jobs/email/{job_id}/retry", headers=ACME)
    assert reply.status_code == 202 and reply.json()["status"] == "pending"
    assert api.client.get(f"/jobs/email/{job_id}", headers=ACME).json()["attemptsMade"] == 0


def test_413_for_oversized_bodies(api: Api) -> None:
    big = {"data": {"n": 1, "pad": "x" * MAX_BODY}}
    assert_error(api.client.post("/jobs/email", json=big, headers=ACME), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:
        yield b'{"data": {"n": 1, "pad": "'
        yield b"x" * MAX_BODY
        yield b'"}}'

    headers = {**ACME, "Content-Type": "application/json"}
    reply = api.client.post("/jobs/email", content=chunks(), headers=headers)
    assert_error(reply, 413, "payload_too_large")
    assert api.store.list_jobs("email", tenant="acme").records == []


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/jobs/email", {"data": {"n": "many"}}, ["body", "data", "n"]),
        ("/jobs/strict", {"data": {"to": "ab"}}, ["body", "data", "to"]),
        ("/jobs/strict", {"data": {"to": "abc", "extra": 1}}, ["body", "data", "extra"]),
        ("/jobs/email", {"data": {}, "options": {"priority": -1}}, ["body", "options", "priority"]),
        ("/jobs/email", {"data": {}, "options": {"nope": 1}}, ["body", "options", "nope"]),
        ("/jobs/email", {"data": {}, "options": {"jobId": "a b"}}, ["body", "options", "jobId"]),
        ("/jobs/email", {"data": [1, 2]}, ["body", "data"]),
        ("/jobs/email", {}, ["body", "data"]),
        ("/jobs/email/batch", {"jobs": []}, ["body", "jobs"]),
        ("/jobs/email/batch", {"jobs": [{"data": {"n": "x"}}]}, ["body", "jobs", 0, "data"]),
        (
            "/jobs/email/batch",
            {"jobs": [{"data": {}}, {"data": {"n": "x"}}], "atomic": True},
            ["body", "jobs", 1],
        ),
    ],
)
def test_422_with_field_errors(api: Api, path: str, body: Any, where: list[Any]) -> None:
    reply = api.client.post(path, json=body, headers=ACME)
    details = assert_error(reply, 422, "validation_error")["details"]
    assert any(d["loc"][: len(where)] == where for d in details), details
    assert api.store.list_jobs("email", tenant="acme").records == []


def test_422_for_malformed_json_and_query(api: Api) -> None:
    headers = {**ACME, "Content-Type": "application/json"}
    reply = api.client.post("/jobs/email", content=b'{"data": ', headers=headers)
    assert_error(reply, 422, "validation_error")
    for query in ("status=nope", "limit=0", "limit=1000", "cursor=abc"):
        reply = api.client.get(f"/queues/email/jobs?{query}", headers=ACME)
        assert_error(reply, 422, "validation_error")


def test_listing_is_per_tenant_newest_first_with_a_cursor(api: Api) -> None:
    mine = [enqueue(api, {"n": i})["jobId"] for i in range(3)]
    theirs = enqueue(api, {"n": 9}, headers=ZETA)["jobId"]
    first = api.client.get("/queues/email/jobs?limit=2", headers=ACME).json()
    assert [j["jobId"] for j in first["jobs"]] == [mine[2], mine[1]]
    rest = api.client.get(
        "/queues/email/jobs", params={"limit": 2, "cursor": first["nextCursor"]}, headers=ACME
    ).json()
    assert [j["jobId"] for j in rest["jobs"]] == [mine[0]] and rest["nextCursor"] is None
    everyone = api.client.get("/queues/email/jobs?status=pending", headers=ADMIN).json()
    assert {j["jobId"] for j in everyone["jobs"]} == {*mine, theirs}
    none = api.client.get("/queues/email/jobs?status=completed", headers=ACME).json()
    assert none == {"jobs": [], "nextCursor": None}


def test_queue_counts_and_admin_operations(api: Api) -> None:
    enqueue(api)
    queues = api.client.get("/queues", headers=ACME).json()["queues"]
    assert [q["name"] for q in queues] == ["email", "strict"]
    email = api.client.get("/queues/email", headers=ACME).json()
    assert (email["waiting"], email["paused"], email["deadLetter"]) == (1, False, 0)
    assert api.client.post("/queues/email/pause", headers=ADMIN).json()["paused"] is True
    assert api.client.get("/queues/email", headers=ACME).json()["paused"] is True
    assert api.client.post("/queues/email/resume", headers=ADMIN).json()["paused"] is False
    reply = api.client.post("/queues/email/clean", json={"status": "waiting"}, headers=ADMIN)
    assert reply.status_code == 200 and len(reply.json()["removed"]) == 1
    reply = api.client.post("/queues/email/clean", json={"status": "active"}, headers=ADMIN)
    assert_error(reply, 422, "validation_error")


def test_redrive(api: Api, aws: AwsStack) -> None:
    assert api.service.dlq is not None
    api.service.dlq.send(DeadLetter("email", "lost-1", "acme", "boom", 3, 1, {"n": 5}))
    reply = api.client.post("/queues/email/redrive", json={"limit": 10}, headers=ADMIN)
    assert reply.status_code == 200
    assert reply.json() == {
        "queue": "email", "moved": ["lost-1"], "failed": [], "skipped": 0, "more": False
    }  # fmt: skip
    job = api.client.get("/jobs/email/lost-1", headers=ACME).json()
    assert (job["status"], job["data"]["n"]) == ("pending", 5)


def test_health_docs_and_dashboard(api: Api) -> None:
    reply = api.client.get("/health")
    assert reply.status_code == 200
    assert reply.json() == {
        "status": "ok",
        "checks": {"redis": True, "dynamodb": True, "sqs": True},
    }
    assert api.client.get("/docs").status_code == 200
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {"/jobs/{queue}", "/queues/{queue}/redrive", "/schedules"} <= set(paths)
    page = api.client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for method, path in PUBLIC_ROUTES:
        if method == "GET":
            path = path.format(asset="swagger-ui.css")
            assert api.client.get(path).status_code == 200, path


def test_schedules_need_a_token_and_a_service(api: Api) -> None:
    assert_error(api.client.get("/schedules"), 401, "unauthorized")
    assert_error(api.client.get("/schedules", headers=ACME), 503, "unavailable")
