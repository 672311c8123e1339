"""``/schedules`` inside the real API app: its auth, its error format, the job service."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import uuid4

import boto3
import pytest
from api.auth import Authenticator
from api.factory import create_app
from corral.definition import QueueRegistry
from corral.records import table_definition
from corral.schedules import ScheduleService, ScheduleStore, ServiceSink, create_table
from corral.schedules.occurrences import job_id
from corral.service import JobService
from corral.store import JobStore
from fastapi.testclient import TestClient
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from tests.functions.schedules.conftest import QUEUE, REDIS_URL, Clock

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource

ACME = {"Authorization": "Bearer token-a"}


@dataclass
class Api:
    client: TestClient
    schedules: ScheduleStore
    jobs: JobStore


@pytest.fixture
def api(
    dynamodb: DynamoDBServiceResource, registry: QueueRegistry, prefix: str, clock: Clock
) -> Iterator[Api]:
    suffix = uuid4().hex[:8]
    table = create_table(dynamodb, f"schedules-{suffix}")
    jobs_table = dynamodb.create_table(**table_definition(f"jobs-{suffix}"))
    jobs = JobStore(boto3.client("dynamodb", region_name="us-east-1"), jobs_table.name)
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    service = JobService.build(registry, redis, jobs, prefix=prefix, clock=clock)
    schedules = ScheduleService(ScheduleStore(table), ServiceSink(service), registry, clock=clock)
    app = create_app(
        registry,
        service=service,
        authenticator=Authenticator.from_setting("token-a:acme,token-b:globex"),
        schedules=schedules,
    )
    try:
        with TestClient(app) as client:
            yield Api(client, schedules.store, jobs)
            client.portal.call(redis.aclose)  # type: ignore[union-attr]
    finally:
        jobs.close()
        table.delete()
        jobs_table.delete()
        cleanup = SyncRedis.from_url(REDIS_URL, decode_responses=True)
        for key in cleanup.scan_iter(match=f"{prefix}:*", count=1000):
            cleanup.delete(key)
        cleanup.close()


def test_a_created_schedule_first_run_has_a_job_record(api: Api, clock: Clock) -> None:
    body = {"queue": QUEUE, "id": "now", "every": 3_600_000, "data": {"kind": "hourly"}}
    reply = api.client.post("/schedules", json=body, headers=ACME)
    assert reply.status_code == 201, reply.text
    schedule = api.schedules.get("acme", "now")
    assert schedule is not None
    record = api.jobs.get(QUEUE, job_id(schedule, clock.now))
    assert record is not None
    assert (record.tenant, record.data) == ("acme", {"subAccountId": "acme", "kind": "hourly"})


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"queue": QUEUE, "every": 10}, 422, "validation_error"),
        ({"queue": QUEUE, "every": 10_000, "data": {"kind": 1}}, 422, "validation_error"),
        ({"queue": "nope", "every": 10_000}, 404, "not_found"),
        ({"queue": QUEUE, "every": 10_000, "data": {"subAccountId": "x"}}, 403, "forbidden"),
    ],
)
def test_errors_speak_the_api_format(
    api: Api, body: dict[str, object], status: int, code: str
) -> None:
    reply = api.client.post("/schedules", json=body, headers=ACME)
    assert reply.status_code == status, reply.text
    assert reply.json()["error"] == code


def test_another_tenant_cannot_see_or_touch_a_schedule(api: Api) -> None:
    body = {"queue": QUEUE, "id": "mine", "every": 60_000}
    assert api.client.post("/schedules", json=body, headers=ACME).status_code == 201
    globex = {"Authorization": "Bearer token-b"}
    assert api.client.get("/schedules", headers=globex).json()["schedules"] == []
    for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/resume")):
        reply = api.client.request(method, f"/schedules/mine{path}", headers=globex)
        assert reply.status_code == 404, (method, path)
    assert api.client.get("/schedules/mine", headers=ACME).status_code == 200
