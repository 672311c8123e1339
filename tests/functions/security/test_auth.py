"""Auth: keys kept hashed and compared in constant time, no default credential outside
``make run``, and a cross-tenant matrix over every route of the app."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from api.auth import Authenticator, Caller, parse_api_keys
from api.deps import get_admin
from api.factory import PUBLIC_ROUTES, create_app
from authorizer import app as authorizer
from corral.job import JobStatus
from corral.queue import now_ms
from corral.records import OutcomeRecord
from corral.settings import Settings, get_settings
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from moto import mock_aws

from infra.local.emulator import DEFAULT_KEYS
from tests.functions.security.secapp import (
    ACME,
    ACME_KEY,
    ADMIN,
    ADMIN_KEY,
    API_KEYS,
    ZETA,
    ZETA_KEY,
    SecApp,
    enqueue,
    fail_the_job,
    registry,
)

ROOT = Path(__file__).resolve().parents[3]
PUBLIC = set(PUBLIC_ROUTES)
"""Routes anyone may call: liveness, the static pages (the dashboard asks for a token) and
the dashboard's sign-in (its one-time code is the credential)."""
DOCS = {"/openapi.json"}


# -- keys -------------------------------------------------------------------------------


def strings_in(value: Any) -> Iterator[str | bytes]:
    """Every str and bytes reachable from ``value`` (objects, containers)."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, str | bytes):
            yield item
        elif isinstance(item, dict):
            stack.extend([*item.keys(), *item.values()])
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())


def test_api_keys_are_kept_only_as_sha256_digests() -> None:
    authenticator = Authenticator.from_setting(API_KEYS)
    kept = list(strings_in(authenticator))
    assert kept, "the authenticator keeps nothing we can inspect"
    for key in (ACME_KEY, ZETA_KEY, ADMIN_KEY):
        assert not any(key in (s if isinstance(s, str) else s.decode("latin-1")) for s in kept)
        assert hashlib.sha256(key.encode()).digest() in kept
    assert authenticator.authenticate(f"Bearer {ZETA_KEY}") == Caller("zeta")


def test_hashed_entries_need_a_full_digest_and_the_digest_is_not_a_key() -> None:
    digest = hashlib.sha256(b"s3cret").hexdigest()
    assert parse_api_keys(f"sha256:{digest}:acme:admin") == {
        f"sha256:{digest}": Caller("acme", admin=True)
    }
    for bad in (f"sha256:{digest[:-1]}:acme", f"sha256:{digest.upper()}:acme", "sha256::acme"):
        with pytest.raises(ValueError, match="CORRAL_API_KEYS"):
            parse_api_keys(bad)
    authenticator = Authenticator.from_setting(f"sha256:{digest}:acme")
    assert authenticator.authenticate("Bearer s3cret") == Caller("acme")
    for wrong in (f"Bearer sha256:{digest}", f"Bearer {digest}", "Bearer s3cre", "Bearer s3cret0"):
        assert authenticator.authenticate(wrong) is None


def test_every_key_is_compared_in_constant_time_and_none_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    authenticator = Authenticator.from_setting(API_KEYS)
    for token, expected in ((ACME_KEY, Caller("acme")), ("nope", None), (ADMIN_KEY, None)):
        calls.clear()
        caller = authenticator.authenticate(f"Bearer {token}")
        if expected is not None:
            assert caller == expected
        # Three keys, three comparisons, whichever matched: no early exit to time.
        assert len(calls) == 3
        assert all(len(a) == len(b) == 32 for a, b in calls)


# -- no default credential ---------------------------------------------------------------


def default_tokens() -> list[str]:
    return [entry.split(":")[0] for entry in DEFAULT_KEYS.split(",")]


def test_settings_and_the_app_have_no_default_key() -> None:
    assert Settings.model_fields["api_keys"].default == ""
    assert Settings.model_fields["api_keys_source"].default == ""
    app = create_app(registry())  # the factory's default: only an API Gateway authorizer
    with TestClient(app, raise_server_exceptions=False) as client:
        for token in [*default_tokens(), "", "admin", "test", "changeme"]:
            reply = client.get("/me", headers={"Authorization": f"Bearer {token}"})
            assert reply.status_code == 401, token


def test_the_authorizer_has_no_default_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        keys = "k-only-this-one:acme"
        boto3.client("ssm").put_parameter(Name="/corral/keys", Value=keys, Type="SecureString")
        monkeypatch.setenv("CORRAL_API_KEYS_SOURCE", "/corral/keys")
        get_settings.cache_clear()
        authorizer._cache.clear()
        try:
            for token in default_tokens():
                event = {"headers": {"authorization": f"Bearer {token}"}}
                assert authorizer.handler(event, None) == {"isAuthorized": False}
        finally:
            authorizer._cache.clear()
            get_settings.cache_clear()


def test_the_local_default_keys_live_only_in_the_local_emulator() -> None:
    shipped = [ROOT / "template.yaml", ROOT / "samconfig.toml"]
    for folder in ("functions", "layers/corral/corral", "infra/deploy"):
        shipped += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".yaml", ".json")]
    for path in shipped:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for token in default_tokens():
            assert token not in text, f"{token} in {path.relative_to(ROOT)}"


# -- the cross-tenant matrix ---------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    route: APIRoute

    @property
    def params(self) -> set[str]:
        return set(re.findall(r"{(\w+)}", self.path))

    @property
    def admin(self) -> bool:
        stack = list(self.route.dependant.dependencies)
        while stack:
            dependency = stack.pop()
            if dependency.call is get_admin:
                return True
            stack.extend(dependency.dependencies)
        return False


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every route of the app, as FastAPI would match it (included routers flattened)."""
    found: list[Endpoint] = []
    for route in app.routes:
        contexts: list[Any] = (
            list(route.effective_route_contexts())
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for context in contexts:
            original = getattr(context, "original_route", context)
            if not isinstance(original, APIRoute):
                assert context.path in DOCS, f"unexpected non-API route {context.path}"
                continue
            for method in sorted(context.methods or ()):
                found.append(Endpoint(method, str(context.path), original))
    return found


def test_the_route_list_matches_the_openapi_document(secapp: SecApp) -> None:
    listed = {(e.method, e.path) for e in endpoints(secapp.app)}
    documented = {
        (method.upper(), path)
        for path, item in secapp.app.openapi()["paths"].items()
        for method in item
    }
    assert documented <= listed
    assert len(listed) >= 20


@dataclass
class Owned:
    """What the owner tenant has: jobs (pending, failed), a schedule, a webhook, a secret."""

    tenant: str
    job: str
    failed_job: str
    schedule: str
    webhook: str
    signing_secret: str


def own(app: SecApp, tenant: str, headers: dict[str, str]) -> Owned:
    job = enqueue(app, headers)
    failed = enqueue(app, headers)
    outcome = OutcomeRecord("email", failed, tenant, JobStatus.FAILED, 1, now_ms(), '"boom"')
    assert app.store.record_outcome(outcome)
    body = {"queue": "email", "every": 3_600_000, "startDate": 4_000_000_000_000}
    reply = app.client.post("/schedules", json=body, headers=headers)
    assert reply.status_code == 201, reply.text
    hook = {"queue": "email", "url": f"https://hooks.example.com/{tenant}"}
    webhook = app.client.post("/webhooks", json=hook, headers=headers)
    assert webhook.status_code == 201, webhook.text
    created = webhook.json()
    return Owned(tenant, job, failed, reply.json()["id"], created["id"], created["secret"])


def request_for(endpoint: Endpoint, owned: Owned, job: str) -> tuple[str, dict[str, Any] | None]:
    """The endpoint's URL aimed at the owner's things, and a body naming the owner."""
    values = {
        "queue": "email",
        "job_id": job,
        "schedule_id": owned.schedule,
        "webhook_id": owned.webhook,
        "asset": "swagger-ui.css",
        "group": "k1",
    }
    path = endpoint.path.format(**{name: values[name] for name in endpoint.params})
    data = {"n": 1, "subAccountId": owned.tenant}
    bodies: dict[str, dict[str, Any]] = {
        "/jobs/{queue}": {"data": data},
        "/jobs/{queue}/batch": {"jobs": [{"data": data}]},
        "/jobs/{queue}/validate": {"jobs": [{"data": data}]},
        "/schedules": {"queue": "email", "every": 60_000, "data": data},
        "/jobs/{queue}/{job_id}": {"priority": 1},
        "/queues/{queue}": {"concurrency": 1},
        "/flows": {"queue": "email", "data": data},
    }
    if endpoint.method not in ("POST", "PATCH"):
        return path, None
    return path, bodies.get(endpoint.path, OWN_BODIES.get(endpoint.path, {}))


OWN_BODIES: dict[str, dict[str, Any]] = {
    "/webhooks": {"queue": "email", "url": "https://hooks.example.com/mine"},
}
"""Bodies that name nothing of the owner's: the caller acts on its own things."""


def leaks(reply_text: str, owned: Owned, sent: str) -> list[str]:
    """The owner's ids and secret in a reply, other than an id the caller sent itself."""
    ids = (owned.job, owned.failed_job, owned.schedule, owned.webhook, owned.signing_secret)
    return [v for v in ids if v in reply_text and v not in sent]


@pytest.mark.parametrize(
    ("owner", "other"), [(("acme", ACME), ("zeta", ZETA)), (("zeta", ZETA), ("acme", ACME))]
)
def test_another_tenants_token_reaches_nothing_on_any_route(
    secapp: SecApp, owner: tuple[str, dict[str, str]], other: tuple[str, dict[str, str]]
) -> None:
    owned = own(secapp, *owner)
    checked = 0
    for endpoint in endpoints(secapp.app):
        if (endpoint.method, endpoint.path) in PUBLIC:
            continue
        for job in (owned.job, owned.failed_job):
            path, body = request_for(endpoint, owned, job)
            reply = secapp.client.request(endpoint.method, path, json=body, headers=other[1])
            where = (endpoint.method, path, reply.status_code, reply.text)
            assert reply.status_code < 500, where
            names_owner = bool(endpoint.params - {"queue"}) or body not in (
                None,
                {},
                OWN_BODIES.get(endpoint.path),
            )
            if endpoint.admin or names_owner:
                assert reply.status_code in (403, 404), where
            else:
                # Caller-scoped: its own jobs, schedules, webhooks, stats, identity, counts.
                assert 200 <= reply.status_code < 300, where
            assert leaks(reply.text, owned, path) == [], where
            checked += 1
    assert checked >= 40
    # Nothing the other tenant sent changed the owner's things.
    assert secapp.client.get(f"/jobs/email/{owned.job}", headers=owner[1]).json()["status"] == (
        "pending"
    )
    assert secapp.client.get(f"/jobs/email/{owned.failed_job}", headers=owner[1]).json()[
        "status"
    ] == ("failed")
    schedule = secapp.client.get(f"/schedules/{owned.schedule}", headers=owner[1])
    assert schedule.status_code == 200 and schedule.json()["paused"] is False
    assert secapp.client.get("/queues/email", headers=ADMIN).json()["paused"] is False


def test_admin_routes_refuse_a_tenant_token_and_accept_an_admin(secapp: SecApp) -> None:
    admin_routes = [e for e in endpoints(secapp.app) if e.admin]
    assert {e.path for e in admin_routes} >= {
        "/queues/{queue}/pause",
        "/queues/{queue}/resume",
        "/queues/{queue}/clean",
        "/queues/{queue}/redrive",
    }
    # A runtime limit set back to the deployed one: a change that changes nothing.
    bodies = {"/queues/{queue}": {"concurrency": None}}
    for endpoint in admin_routes:
        path = endpoint.path.format(queue="email", group="k1")
        body = bodies.get(endpoint.path, {})
        for headers in (ACME, ZETA):
            reply = secapp.client.request(endpoint.method, path, json=body, headers=headers)
            assert reply.status_code == 403, (path, reply.text)
        reply = secapp.client.request(endpoint.method, path, json=body, headers=ADMIN)
        assert reply.status_code == 200, (path, reply.text)
    secapp.client.post("/queues/email/resume", headers=ADMIN)


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.audit for r in caplog.records if r.name == "corral.audit" and hasattr(r, "audit")]


def test_an_admin_acts_on_any_tenants_job_and_each_action_is_audited(
    secapp: SecApp, caplog: pytest.LogCaptureFixture
) -> None:
    """The admin scope covers every tenant's jobs (read, cancel, retry, promote, redrive), as it
    covers queue-wide operations; every action on another tenant's job leaves a line."""
    zeta = own(secapp, "zeta", ZETA)
    dead = enqueue(secapp, ZETA, attempts=1)
    fail_the_job(secapp, dead)
    who = {
        "tenant": "acme",
        "keyId": "sha256:" + hashlib.sha256(ADMIN_KEY.encode()).hexdigest()[:12],
    }
    caplog.set_level(logging.WARNING, logger="corral.audit")

    assert secapp.client.get(f"/jobs/email/{zeta.job}", headers=ADMIN).status_code == 200
    assert secapp.client.delete(f"/jobs/email/{zeta.job}", headers=ADMIN).status_code == 200
    retried = secapp.client.post(f"/jobs/email/{zeta.failed_job}/retry", headers=ADMIN)
    assert retried.status_code == 202 and retried.json()["status"] == "pending"
    redriven = secapp.client.post("/queues/email/redrive", json={}, headers=ADMIN)
    assert redriven.status_code == 200 and redriven.json()["moved"] == [dead]
    later = enqueue(secapp, ZETA, delay=600_000)
    promoted = secapp.client.post(f"/jobs/email/{later}/promote", headers=ADMIN)
    assert promoted.status_code == 200, promoted.text
    # An admin's action on its own tenant's job is no cross-tenant action: no line.
    mine = enqueue(secapp, ACME)
    assert secapp.client.delete(f"/jobs/email/{mine}", headers=ADMIN).status_code == 200

    assert audit_lines(caplog) == [
        {"who": who, "owner": "zeta", "action": action, "queue": "email", "jobId": job}
        for action, job in (
            ("cancel", zeta.job),
            ("retry", zeta.failed_job),
            ("redrive", dead),
            ("promote", later),
        )
    ]
    text = caplog.text
    assert ADMIN_KEY not in text
    assert f"did cancel on job {zeta.job} of tenant zeta in queue email" in text
    # It stays the tenant's job, in the tenant's view.
    assert secapp.client.get(f"/jobs/email/{dead}", headers=ZETA).json()["status"] == "pending"


def test_queue_wide_admin_actions_are_audited(
    secapp: SecApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="corral.audit")
    for action in ("pause", "resume", "clean"):
        assert secapp.client.post(f"/queues/email/{action}", headers=ADMIN).status_code == 200
    assert [(a["action"], a["queue"]) for a in audit_lines(caplog)] == [
        ("pause", "email"),
        ("resume", "email"),
        ("clean", "email"),
    ]


def test_every_route_but_the_public_ones_needs_a_token(secapp: SecApp) -> None:
    owned = own(secapp, "acme", ACME)
    for endpoint in endpoints(secapp.app):
        path, body = request_for(endpoint, owned, owned.job)
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ACME_KEY}):
            reply = secapp.client.request(endpoint.method, path, json=body, headers=headers)
            if (endpoint.method, endpoint.path) == ("POST", "/dashboard/session"):
                assert reply.status_code == 422, (path, reply.text)  # no code: no session
            elif (endpoint.method, endpoint.path) in PUBLIC:
                assert reply.status_code in (200, 503), (path, reply.text)
            else:
                assert reply.status_code == 401, (endpoint.method, path, reply.text)


def test_dedup_ids_and_chosen_job_ids_do_not_cross_tenants(secapp: SecApp) -> None:
    mine = enqueue(secapp, ACME, deduplication={"id": "daily-report"}, jobId="report-1")
    body = {"data": {"n": 1}, "options": {"deduplication": {"id": "daily-report"}}}
    theirs = secapp.client.post("/jobs/email", json=body, headers=ZETA)
    assert theirs.status_code == 202, theirs.text
    assert theirs.json()["jobId"] != mine and theirs.json()["deduplicated"] is False
    taken = {"data": {"n": 1}, "options": {"jobId": "report-1"}}
    reply = secapp.client.post("/jobs/email", json=taken, headers=ZETA)
    assert reply.status_code == 409, reply.text
    assert secapp.client.get("/jobs/email/report-1", headers=ZETA).status_code == 404
