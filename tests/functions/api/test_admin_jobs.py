"""An admin reads and touches any tenant's job, as it lists them; a tenant only its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api.auth import Authenticator

from tests.functions.apiapp import ACME, API_KEYS, ZETA, Api, start_api
from tests.support.awsmock import start_aws

ADMIN = {"Authorization": "Bearer k-ops"}
"""An admin of another tenant than the job's."""


@pytest.fixture
def api(prefix: str) -> Iterator[Api]:
    for stack in start_aws():
        for running in start_api(stack, prefix):
            keys = f"{API_KEYS},k-ops:ops:admin"
            running.app.state.authenticator = Authenticator.from_setting(keys)
            yield running


def enqueue(api: Api, **options: int) -> str:
    body = {"data": {"n": 1}, "options": options}
    reply = api.client.post("/jobs/email", json=body, headers=ACME)
    assert reply.status_code == 202, reply.text
    job_id: str = reply.json()["jobId"]
    return job_id


def test_an_admin_opens_another_tenants_job_that_it_lists(api: Api) -> None:
    job_id = enqueue(api)
    listed = api.client.get("/queues/email/jobs", headers=ADMIN).json()["jobs"]
    assert job_id in {j["jobId"] for j in listed}

    assert api.client.get(f"/jobs/email/{job_id}", headers=ZETA).status_code == 404
    reply = api.client.get(f"/jobs/email/{job_id}", headers=ADMIN)
    assert reply.status_code == 200
    assert reply.json()["data"]["subAccountId"] == "acme"


def test_an_admin_cancels_and_retries_another_tenants_job(api: Api) -> None:
    job_id = enqueue(api, delay=600_000)
    assert api.client.delete(f"/jobs/email/{job_id}", headers=ZETA).status_code == 404
    assert api.client.delete(f"/jobs/email/{job_id}", headers=ADMIN).status_code == 200
    assert api.client.post(f"/jobs/email/{job_id}/retry", headers=ZETA).status_code == 404
    retried = api.client.post(f"/jobs/email/{job_id}/retry", headers=ADMIN)
    assert retried.status_code == 202, retried.text
    # It stays the tenant's job.
    assert api.client.get(f"/jobs/email/{job_id}", headers=ACME).json()["status"] == "pending"
