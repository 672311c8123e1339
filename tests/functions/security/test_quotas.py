"""Per-tenant quotas over HTTP: past one, a tenant gets a JSON 429 with ``Retry-After``,
nothing is left behind, and other tenants are not affected."""

from __future__ import annotations

import pytest
from api.wiring import quotas_of
from corral.quotas import Quotas
from corral.settings import Settings

from tests.functions.security.secapp import ACME, ZETA, SecApp


def assert_429(reply_status: int, body: dict[str, str], retry_after: str | None) -> None:
    assert reply_status == 429, body
    assert body["error"] == "quota_exceeded" and "quota" in body["message"]
    assert retry_after is not None and int(retry_after) >= 1


def test_the_enqueue_rate_is_per_tenant(secapp: SecApp) -> None:
    secapp.app.state.quotas = Quotas(enqueue_rate=1, enqueue_burst=3)
    batch = {"jobs": [{"data": {"n": i}} for i in range(3)]}
    assert secapp.client.post("/jobs/email/batch", json=batch, headers=ACME).status_code == 202

    reply = secapp.client.post("/jobs/email", json={"data": {"n": 9}}, headers=ACME)
    assert_429(reply.status_code, reply.json(), reply.headers.get("retry-after"))
    too_big = {"jobs": [{"data": {"n": i}} for i in range(4)]}
    reply = secapp.client.post("/jobs/email/batch", json=too_big, headers=ZETA)
    assert reply.status_code == 429 and "burst" in reply.json()["message"]
    # Zeta's budget is its own.
    assert secapp.client.post("/jobs/email", json={"data": {"n": 1}}, headers=ZETA).status_code == (
        202
    )


def test_the_waiting_quota_refuses_and_leaves_no_record(secapp: SecApp) -> None:
    secapp.app.state.quotas = Quotas(waiting_jobs=2)
    for n in range(2):
        assert secapp.client.post(
            "/jobs/email", json={"data": {"n": n}}, headers=ACME
        ).status_code == (202)
    body = {"data": {"n": 3}, "options": {"jobId": "over-quota"}}
    reply = secapp.client.post("/jobs/email", json=body, headers=ACME)
    assert_429(reply.status_code, reply.json(), reply.headers.get("retry-after"))
    assert secapp.store.get("email", "over-quota") is None  # the record was taken back
    listed = secapp.client.get("/queues/email/jobs", headers=ACME).json()["jobs"]
    assert len(listed) == 2
    # A delayed job is not waiting; another tenant has its own count.
    delayed = {"data": {"n": 4}, "options": {"delay": 60_000}}
    assert secapp.client.post("/jobs/email", json=delayed, headers=ACME).status_code == 202
    assert secapp.client.post("/jobs/email", json={"data": {"n": 5}}, headers=ZETA).status_code == (
        202
    )


def test_schedules_and_webhooks_are_counted_per_tenant(secapp: SecApp) -> None:
    secapp.app.state.quotas = Quotas(webhooks=1)
    secapp.app.state.schedules.max_per_tenant = 2
    schedule = {"queue": "email", "every": 3_600_000, "startDate": 4_000_000_000_000}
    for _ in range(2):
        assert secapp.client.post("/schedules", json=schedule, headers=ACME).status_code == 201
    reply = secapp.client.post("/schedules", json=schedule, headers=ACME)
    assert_429(reply.status_code, reply.json(), reply.headers.get("retry-after"))
    assert len(secapp.client.get("/schedules", headers=ACME).json()["schedules"]) == 2
    assert secapp.client.post("/schedules", json=schedule, headers=ZETA).status_code == 201

    hook = {"queue": "email", "url": "https://hooks.example.com/in"}
    assert secapp.client.post("/webhooks", json=hook, headers=ACME).status_code == 201
    reply = secapp.client.post("/webhooks", json=hook, headers=ACME)
    assert_429(reply.status_code, reply.json(), reply.headers.get("retry-after"))
    assert secapp.client.post("/webhooks", json=hook, headers=ZETA).status_code == 201


def test_quotas_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_QUOTA_SCHEDULES", "7")
    monkeypatch.setenv("CORRAL_QUOTA_ENQUEUE_RATE", "0")
    quotas = quotas_of(Settings())
    assert (quotas.schedules, quotas.enqueue_rate) == (7, 0)
    assert quotas.webhooks == Quotas().webhooks
