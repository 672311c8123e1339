"""``/schedules`` through FastAPI's TestClient: the router in a tiny app, moto, real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api.routes.schedules import get_schedule_service, get_tenant, router
from corral.definition import QueueRegistry
from corral.schedules import QueueSink, ScheduleService, ScheduleStore
from corral.schedules.occurrences import job_id
from fastapi import FastAPI, Header, HTTPException
from fastapi.testclient import TestClient
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from tests.functions.schedules.conftest import QUEUE, REDIS_URL, Clock, ms

TOKENS = {"token-a": "acme", "token-b": "globex"}


def bearer_tenant(authorization: str = Header(default="")) -> str:
    tenant = TOKENS.get(authorization.removeprefix("Bearer "))
    if tenant is None:
        raise HTTPException(401, "unauthorized")
    return tenant


@pytest.fixture
def client(
    store: ScheduleStore, registry: QueueRegistry, prefix: str, clock: Clock
) -> Iterator[TestClient]:
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    service = ScheduleService(
        store, QueueSink(redis, registry, prefix=prefix, clock=clock), registry, clock=clock
    )
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_tenant] = bearer_tenant
    app.dependency_overrides[get_schedule_service] = lambda: service
    try:
        # One client context: one event loop, which the async Redis client binds to.
        with TestClient(app) as test_client:
            yield test_client
            test_client.portal.call(redis.aclose)  # type: ignore[union-attr]
    finally:
        cleanup = SyncRedis.from_url(REDIS_URL, decode_responses=True)
        for key in cleanup.scan_iter(match=f"{prefix}:*", count=1000):
            cleanup.delete(key)
        cleanup.close()


def auth(token: str = "token-a") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create(client: TestClient, body: dict[str, Any], token: str = "token-a") -> Any:
    return client.post("/schedules", json={"queue": QUEUE, **body}, headers=auth(token))


def test_create_answers_201_and_enqueues_the_first_run(
    client: TestClient, clock: Clock, prefix: str
) -> None:
    clock.set(ms("2026-06-01T12:04:30"))
    reply = create(client, {"id": "five", "cron": "*/5 * * * *", "tz": "Europe/Paris"})
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["id"] == "five"
    assert body["nextRun"] == ms("2026-06-01T12:10")
    assert body["count"] == 1
    assert body["data"] == {"subAccountId": "acme"}
    assert "tenant" not in body and "version" not in body
    redis = SyncRedis.from_url(REDIS_URL, decode_responses=True)
    try:
        delayed: list[tuple[str, float]] = redis.zrange(  # type: ignore[assignment]
            f"{prefix}:{{{QUEUE}}}:delayed", 0, -1, withscores=True
        )
    finally:
        redis.close()
    assert [int(score) for _, score in delayed] == [ms("2026-06-01T12:05")]


def test_list_shows_only_the_callers_schedules_a_page_at_a_time(client: TestClient) -> None:
    for schedule_id in ("a1", "a2", "a3"):
        assert create(client, {"id": schedule_id, "every": 60_000}).status_code == 201
    assert create(client, {"id": "b1", "every": 60_000}, "token-b").status_code == 201
    first = client.get("/schedules", params={"limit": 2}, headers=auth()).json()
    assert [s["id"] for s in first["schedules"]] == ["a1", "a2"]
    rest = client.get(
        "/schedules", params={"limit": 2, "cursor": first["nextCursor"]}, headers=auth()
    ).json()
    assert [s["id"] for s in rest["schedules"]] == ["a3"]
    theirs = client.get("/schedules", headers=auth("token-b")).json()
    assert [s["id"] for s in theirs["schedules"]] == ["b1"]
    assert client.get("/schedules/b1", headers=auth()).status_code == 404
    assert client.delete("/schedules/b1", headers=auth()).status_code == 404
    assert client.get("/schedules").status_code == 401


def test_pause_resume_delete(client: TestClient) -> None:
    assert create(client, {"id": "p", "every": 10_000}).status_code == 201
    paused = client.post("/schedules/p/pause", headers=auth())
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert client.get("/schedules/p", headers=auth()).json()["paused"] is True
    resumed = client.post("/schedules/p/resume", headers=auth())
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    deleted = client.delete("/schedules/p", headers=auth())
    assert deleted.status_code == 200
    assert deleted.json() == {"id": "p", "deleted": True}
    assert client.get("/schedules/p", headers=auth()).status_code == 404
    assert client.post("/schedules/p/pause", headers=auth()).status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"every": 10_000, "queue": "nope"}, 404),
        ({"every": 10_000, "data": {"kind": 5}}, 422),
        ({"every": 10_000, "data": {"subAccountId": "globex"}}, 403),
        ({"every": 10_000, "cron": "* * * * *"}, 422),
        ({"cron": "not cron"}, 422),
        ({"cron": "* * * * * *"}, 422),  # seconds: not read, refused
        ({"cron": "*/5 * * * * *"}, 422),
        ({"cron": "0 9 * *"}, 422),
        ({"cron": "0 9 * * *", "tz": "Nowhere/Land"}, 422),
        ({"every": 10_000, "id": "-bad"}, 422),
        ({"every": 10_000, "id": "x" * 129}, 422),
    ],
)
def test_bad_requests(client: TestClient, body: dict[str, Any], status: int) -> None:
    reply = create(client, body)
    assert reply.status_code == status, reply.text


def test_a_six_field_cron_is_refused_with_a_message_that_says_why(client: TestClient) -> None:
    reply = create(client, {"cron": "* * * * * *"})
    assert reply.status_code == 422
    assert "5 fields" in reply.text and "no seconds" in reply.text


def test_ids_are_validated_and_unique_per_tenant(client: TestClient) -> None:
    assert create(client, {"id": "same", "every": 60_000}).status_code == 201
    assert create(client, {"id": "same", "every": 60_000}).status_code == 409
    # Another tenant may use the same id; their jobs do not collide.
    other = create(client, {"id": "same", "every": 60_000}, "token-b")
    assert other.status_code == 201
    assert client.get("/schedules/bad%20id", headers=auth()).status_code == 422
    assert client.get("/schedules", params={"cursor": "a b"}, headers=auth()).status_code == 422


def test_job_ids_of_two_tenants_never_collide(store: ScheduleStore, client: TestClient) -> None:
    create(client, {"id": "same", "every": 60_000})
    create(client, {"id": "same", "every": 60_000}, "token-b")
    a, b = store.get("acme", "same"), store.get("globex", "same")
    assert a is not None and b is not None
    assert job_id(a, a.created_at) != job_id(b, b.created_at)
