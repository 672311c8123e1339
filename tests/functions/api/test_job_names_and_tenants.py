"""Job lists name each job and its tenant; an admin may read any tenant's schedules and
history (``?tenant=``), a tenant only its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from queues import generic_task

from tests.functions.apiapp import ACME, ADMIN, ZETA, Api, start_api
from tests.support.awsmock import AwsStack, start_aws


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


@pytest.fixture
def api(aws: AwsStack, prefix: str) -> Iterator[Api]:
    yield from start_api(aws, prefix, schedules=True)


def test_a_job_list_names_each_job_and_its_tenant(api: Api) -> None:
    for headers in (ACME, ZETA):
        reply = api.client.post("/jobs/email", json={"data": {"n": 1}}, headers=headers)
        assert reply.status_code == 202, reply.text
    listed = api.client.get("/queues/email/jobs", headers=ADMIN).json()["jobs"]
    assert sorted((j["tenant"], j["name"]) for j in listed) == [
        ("acme", "email"),
        ("zeta", "email"),
    ]
    job_id = listed[0]["jobId"]
    one = api.client.get(f"/jobs/email/{job_id}", headers=ADMIN).json()
    assert (one["tenant"], one["name"]) == (listed[0]["tenant"], "email")


def test_generic_task_jobs_are_named_by_their_task() -> None:
    name = generic_task.queue.name_of
    assert name({"taskName": "nightly", "functionName": "add"}) == "nightly (add)"
    assert name({"taskName": "add", "functionName": "add"}) == "add"
    assert name({"functionName": "add"}) == "add"
    assert name({}) == name(None) == "generic-task"


def test_an_admin_reads_another_tenants_schedules_and_a_tenant_cannot(api: Api) -> None:
    body = {"queue": "email", "every": 60_000, "data": {"n": 1}}
    created = api.client.post("/schedules", json=body, headers=ZETA)
    assert created.status_code == 201, created.text

    def ids(reply: Any) -> list[str]:
        return [s["id"] for s in reply.json()["schedules"]]

    assert ids(api.client.get("/schedules", headers=ADMIN)) == []  # the admin's own tenant
    assert ids(api.client.get("/schedules?tenant=zeta", headers=ADMIN)) == [created.json()["id"]]
    for path in ("/schedules?tenant=zeta", "/stats?tenant=zeta"):
        refused = api.client.get(path, headers=ACME)
        assert refused.status_code == 403 and "admin" in refused.json()["message"], path
    assert api.client.get("/schedules?tenant=acme", headers=ACME).status_code == 200
    bad = api.client.get("/schedules?tenant=../x", headers=ADMIN)
    assert bad.status_code == 422
