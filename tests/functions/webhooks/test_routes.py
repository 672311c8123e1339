"""``/webhooks`` and ``/stats`` over HTTP: tenancy, SSRF refusals (422), the signing secret,
and a stats report in the HTTP contract's camelCase."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from api.auth import Authenticator
from api.factory import create_app
from api.routes import stats, webhooks
from corral.definition import QueueDefinition, QueueRegistry
from corral.events.model import EventType, job_event
from corral.service import JobService
from corral.stats import CounterWriter, StatsReader, Tally
from corral.webhooks.store import WebhookStore
from fastapi import FastAPI
from fastapi.testclient import TestClient
from queues import webhook
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL, Payload, delete_prefix, noop
from tests.functions.events.conftest import TENANT_TABLE, EventStack

ACME = {"Authorization": "Bearer k-acme"}
ZETA = {"Authorization": "Bearer k-zeta"}
PUBLIC = "93.184.216.34"
NAMES = {"hooks.example.com": PUBLIC, "internal.example.com": "10.0.0.1"}


UNSAFE = [
    ("https://127.0.0.1/in", "loopback"),
    ("https://169.254.169.254/latest/meta-data/", "metadata"),
    ("https://10.0.0.1/in", "private"),
    ("https://internal.example.com/in", "private"),
    ("http://hooks.example.com/in", "https"),
    ("http://x]/hook", "malformed"),
    ("https://[::1/hook", "malformed"),
    ("https://[2002:7f00:1::]/in", "embeds an IPv4"),
    ("https://192.0.0.8/in", "not a public"),
    ("https://100.64.0.1/in", "not a public"),
]
"""Webhook URLs refused outside local mode, and a word of the reason."""


def resolve(host: str, port: int) -> list[str]:
    return [NAMES.get(host, host)]


def mount(app: FastAPI) -> None:
    """Add the routers unless the app's factory already does."""
    paths = {getattr(route, "path", "") for route in app.routes}
    for module, path in ((webhooks, "/webhooks"), (stats, "/stats")):
        if path not in paths:
            app.include_router(module.router)


@pytest.fixture
def api(aws: EventStack, prefix: str) -> Iterator[TestClient]:
    registry = QueueRegistry(
        [QueueDefinition(name="email", payload=Payload, handler=noop), webhook.queue]
    )
    redis = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    service = JobService.build(registry, redis, aws.store, prefix=prefix)
    app = create_app(
        registry,
        service=service,
        authenticator=Authenticator.from_setting("k-acme:acme,k-zeta:zeta"),
    )
    mount(app)
    app.state.webhooks = webhooks.WebhookConfig(
        WebhookStore(aws.dynamodb, TENANT_TABLE), local=False, resolve=resolve
    )
    app.state.stats = StatsReader(aws.dynamodb, TENANT_TABLE)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
        client.portal.call(delete_prefix, redis, prefix)  # type: ignore[union-attr]
        client.portal.call(redis.aclose)  # type: ignore[union-attr]


def test_a_tenant_registers_lists_and_deletes_its_webhooks(api: TestClient) -> None:
    body = {"queue": "email", "url": "https://hooks.example.com/in", "events": ["failed"]}
    created = api.post("/webhooks", json=body, headers=ACME)
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_") and hook["events"] == ["failed"]
    assert api.get("/webhooks/secret", headers=ACME).json()["secret"] == hook["secret"]
    assert api.get("/webhooks/secret", headers=ZETA).json()["secret"] != hook["secret"]

    listed = api.get("/webhooks", headers=ACME).json()["webhooks"]
    assert [(h["id"], h["url"]) for h in listed] == [(hook["id"], body["url"])]
    assert "secret" not in listed[0]
    assert api.get("/webhooks", headers=ZETA).json() == {"webhooks": []}
    assert api.delete(f"/webhooks/{hook['id']}", headers=ZETA).status_code == 404
    assert api.delete(f"/webhooks/{hook['id']}", headers=ACME).json()["deleted"] is True
    assert api.delete(f"/webhooks/{hook['id']}", headers=ACME).status_code == 404
    assert api.get("/webhooks").status_code == 401


@pytest.mark.parametrize(("url", "reason"), UNSAFE)
def test_unsafe_urls_are_refused(api: TestClient, url: str, reason: str) -> None:
    answer = api.post("/webhooks", json={"queue": "email", "url": url}, headers=ACME)
    assert answer.status_code == 422
    assert reason in answer.json()["message"]


@pytest.mark.parametrize(("url", "reason"), UNSAFE)
def test_a_job_with_an_unsafe_webhook_is_refused_and_not_enqueued(
    api: TestClient, aws: EventStack, url: str, reason: str
) -> None:
    job = {"data": {"n": 1}, "options": {"jobId": "hooked", "webhook": {"url": url}}}
    answer = api.post("/jobs/email", json=job, headers=ACME)
    assert answer.status_code == 422 and reason in answer.json()["message"]
    safe = {"data": {"n": 2}, "options": {"webhook": {"url": "https://hooks.example.com/in"}}}
    body = {"jobs": [safe, job], "atomic": True}
    batch = api.post("/jobs/email/batch", json=body, headers=ACME)
    assert batch.status_code == 422 and reason in batch.json()["message"]
    assert aws.store.get("email", "hooked") is None
    assert api.get("/jobs/email/hooked", headers=ACME).status_code == 404


def test_unknown_queues_and_the_delivery_queue_are_refused(api: TestClient) -> None:
    url = "https://hooks.example.com/in"
    assert (
        api.post("/webhooks", json={"queue": "nope", "url": url}, headers=ACME).status_code == 404
    )
    assert (
        api.post("/webhooks", json={"queue": "webhook", "url": url}, headers=ACME).status_code
        == 422
    )
    bad_event = {"queue": "email", "url": url, "events": ["exploded"]}
    assert api.post("/webhooks", json=bad_event, headers=ACME).status_code == 422


def test_stats_report_the_callers_history(api: TestClient, aws: EventStack) -> None:
    now = int(datetime.now(UTC).timestamp() * 1000)
    writer = CounterWriter(aws.dynamodb, TENANT_TABLE)
    events: list[Any] = []
    for i, (tenant, kind) in enumerate(
        [("acme", EventType.COMPLETED)] * 3
        + [("acme", EventType.FAILED), ("zeta", EventType.COMPLETED)]
    ):
        event = job_event(kind, queue="email", job_id=f"j{i}", tenant=tenant, status="x", now=now)
        event.duration_ms = 100 * (i + 1)
        if kind is EventType.FAILED:
            event.error = {"type": "SendError", "message": "mailbox 12 full"}
        events.append(event)
    writer.write(events)

    answer = api.get("/stats", params={"queue": "email"}, headers=ACME)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert len(report["days"]) == 30 and report["to"] == datetime.now(UTC).date().isoformat()
    assert report["totals"]["completed"] == 3 and report["totals"]["failed"] == 1
    assert report["successRate"] == 0.75
    assert report["durationMs"]["samples"] == 4 and report["durationMs"]["p50"] is not None
    assert report["topErrors"] == [{"error": "SendError: mailbox # full", "count": 1}]
    assert report["reads"] == {"queries": 1, "items": 1}
    cost = report["estimatedCost"]
    assert cost["usd"] == pytest.approx(sum(cost["byService"].values()))
    assert 0 < cost["usd"] < 1e-4, "a few dollars per million jobs"
    assert cost["byService"]["eventbridge"] == pytest.approx(2e-6), "the failure and its letter"
    everything = api.get("/stats", headers=ACME).json()
    assert everything["queues"] == ["email", "webhook"] and everything["reads"]["queries"] == 2
    assert api.get("/stats", headers=ZETA).json()["totals"]["completed"] == 1


def test_stats_add_the_counts_not_yet_flushed(api: TestClient) -> None:
    now = int(datetime.now(UTC).timestamp() * 1000)
    events = [
        job_event(EventType.QUEUED, queue="email", job_id=f"j{i}", tenant="acme", status="x",
                  now=now)
        for i in range(4)
    ]  # fmt: skip
    service = api.app.state.service  # type: ignore[attr-defined]
    queue = service.queue("email")
    tally = Tally(queue.redis, queue.keys.prefix)
    api.portal.call(tally.add, events)  # type: ignore[union-attr]

    report = api.get("/stats", params={"queue": "email"}, headers=ACME).json()
    assert report["totals"]["queued"] == 4
    zeta = api.get("/stats", params={"queue": "email"}, headers=ZETA).json()
    assert zeta["totals"]["queued"] == 0


def test_stats_ranges_and_queues_are_checked(api: TestClient) -> None:
    reversed_range = {"from": "2026-11-02", "to": "2026-11-01"}
    assert api.get("/stats", params=reversed_range, headers=ACME).status_code == 422
    too_long = {"from": "2025-01-01", "to": "2026-11-01"}
    assert api.get("/stats", params=too_long, headers=ACME).status_code == 422
    assert api.get("/stats", params={"queue": "nope"}, headers=ACME).status_code == 404
    assert api.get("/stats", params={"from": "yesterday"}, headers=ACME).status_code == 422
    assert api.get("/stats").status_code == 401


def test_without_a_tenant_table_the_routes_are_not_enabled(aws: EventStack) -> None:
    registry = QueueRegistry([QueueDefinition(name="email", payload=Payload, handler=noop)])
    keys = Authenticator.from_setting("k-acme:acme")
    app = create_app(
        registry, service=JobService.build(registry, None, aws.store), authenticator=keys
    )
    mount(app)
    with TestClient(app) as client:
        for path in ("/webhooks", "/webhooks/secret", "/stats"):
            answer = client.get(path, headers=ACME)
            assert answer.status_code == 404 and "not enabled" in answer.json()["message"]
        hooked = {"data": {"n": 1}, "options": {"webhook": {"url": "https://hooks.example.com"}}}
        answer = client.post("/jobs/email", json=hooked, headers=ACME)
        assert answer.status_code == 422 and "not enabled" in answer.json()["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"to": "0"},
        {"from": "0"},
        {"to": "2026-02-30"},
        {"to": "20260101"},
        {"from": "1999-12-31", "to": "2000-01-05"},
        {"to": "0001-01-05"},
        {"to": "2026-01-01T00:00:00"},
    ],
)
def test_stats_days_must_be_real_days_from_2000(api: TestClient, params: dict[str, str]) -> None:
    answer = api.get("/stats", params=params, headers=ACME)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "validation_error"


def test_a_range_starting_at_the_first_day_is_answered(api: TestClient) -> None:
    answer = api.get("/stats", params={"to": "2000-01-10"}, headers=ACME)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["from"], answer.json()["to"]) == ("2000-01-01", "2000-01-10")


def test_local_mode_accepts_loopback_only(api: TestClient) -> None:
    """Under ``make run`` (local mode) a receiver on this machine is allowed; a private
    address is refused as in production (checked before any connection)."""
    app: Any = api.app
    app.state.webhooks = dataclasses.replace(app.state.webhooks, local=True)
    for url in ("http://10.0.0.1/in", "http://192.168.1.1/in", "https://100.64.0.1/in"):
        answer = api.post("/webhooks", json={"queue": "email", "url": url}, headers=ACME)
        assert answer.status_code == 422, (url, answer.text)
    local = {"queue": "email", "url": "http://127.0.0.1:9/in"}
    assert api.post("/webhooks", json=local, headers=ACME).status_code == 201
