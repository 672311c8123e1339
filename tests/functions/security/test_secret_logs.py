"""No secret is ever logged: a run of the API, a poller and the scheduler, all reaching a
TLS Redis with a password from Secrets Manager, has its logs scanned for every secret and
token it used (API keys, a near-miss key, Redis passwords, an IAM token, AWS keys)."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import boto3
import pytest
import queues as deployed
from api.auth import Authenticator
from api.factory import create_app
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from corral.definition import QueueRegistry
from corral.dlq import DeadLetterQueue
from corral.lambda_support import ThreadLoops
from corral.poller import PollerRuntime, PollerSettings
from corral.redis_client import create_redis
from corral.schedules import ScheduleService, ScheduleStore, ServiceSink, create_table
from corral.service import JobService
from corral.settings import Settings, get_settings
from corral.store import JobStore
from corral.wiring import Wiring, install, reset
from fastapi.testclient import TestClient
from poller import app as poller
from redis.asyncio import Redis
from scheduler import app as scheduler

from tests.functions.security.secapp import ACME, ACME_KEY, ADMIN_KEY, API_KEYS, ZETA_KEY
from tests.functions.security.tlsredis import TlsRedis
from tests.support.awsmock import REGION, start_aws
from tests.support.lambda_env import FakeContext, load_event
from tests.support.testqueues import work

EVENTS = Path(__file__).resolve().parents[3] / "events"
LOGGERS = ("corral", "corral-scheduler", "api", "queues", "poller", "scheduler")
"""Loggers of the functions and the engine, captured at DEBUG (the rest at INFO)."""


class Capture:
    """Every log record, formatted as the functions' Powertools logger formats it."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(LambdaPowertoolsFormatter())
        self.handler.setLevel(logging.DEBUG)
        self._levels: dict[str, int] = {}

    def __enter__(self) -> Capture:
        for name in ("", *LOGGERS):
            log = logging.getLogger(name)
            self._levels[name] = log.level
            log.setLevel(logging.INFO if name == "" else logging.DEBUG)
            log.addHandler(self.handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, level in self._levels.items():
            log = logging.getLogger(name)
            log.removeHandler(self.handler)
            log.setLevel(level)

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def deployment(tls_redis: TlsRedis, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto, the TLS Redis, a Secrets Manager password, and the functions' environment."""
    user, password = f"app-{secrets.token_hex(4)}", f"pw-{secrets.token_urlsafe(24)}"
    tls_redis.add_user(user, password)
    prefix = f"t{uuid4().hex[:12]}"
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    for aws in start_aws():
        secret_value = json.dumps({"username": user, "password": password})
        sm = boto3.client("secretsmanager", region_name=REGION)
        arn = sm.create_secret(Name=f"redis-{user}", SecretString=secret_value)["ARN"]
        schedules = create_table(
            boto3.resource("dynamodb", region_name=REGION), f"schedules-{prefix}"
        )
        env = {
            "REDIS_URL": tls_redis.url(),
            "CORRAL_REDIS_AUTH": "password",
            "CORRAL_REDIS_USER": user,
            "CORRAL_REDIS_SECRET_ARN": arn,
            "CORRAL_KEY_PREFIX": prefix,
            "CORRAL_TABLE": aws.table,
            "CORRAL_SCHEDULES_TABLE": schedules.name,
            "CORRAL_DLQ_URL": aws.dlq_url,
            "CORRAL_QUEUE": "work",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            yield {"password": password, "secret": secret_value, "user": user, "arn": arn}
        finally:
            reset()  # the scheduler's loop and Redis client
            get_settings.cache_clear()
            install(None)
            admin = tls_redis.admin()
            for key in admin.scan_iter(match=f"{prefix}:*"):
                admin.delete(key)
            admin.close()


def run_api(registry: QueueRegistry) -> None:
    """Enqueue, read, refuse a near-miss key, schedule, and fail with a 503."""
    settings = get_settings()
    redis = create_redis(settings)
    store = JobStore(boto3.client("dynamodb", region_name=REGION), settings.table)
    service = JobService.build(registry, redis, store, prefix=settings.key_prefix)
    table = boto3.resource("dynamodb", region_name=REGION).Table(settings.schedules_table)
    schedules = ScheduleService(ScheduleStore(table), ServiceSink(service), registry)
    app = create_app(
        registry,
        service=service,
        authenticator=Authenticator.from_setting(API_KEYS),
        schedules=schedules,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        for action in ("ok", "fail"):
            reply = client.post("/jobs/work", json={"data": {"action": action}}, headers=ACME)
            assert reply.status_code == 202, reply.text
        assert client.get("/queues/work", headers=ACME).status_code == 200
        near_miss = {"Authorization": f"Bearer {ACME_KEY[:-1]}X"}
        assert client.get("/queues", headers=near_miss).status_code == 401
        body = {
            "queue": "email",
            "every": 60_000,
            "data": {"to": ["a@example.com"], "subject": "s", "template": "t"},
        }
        assert client.post("/schedules", json=body, headers=ACME).status_code == 201
        client.portal.call(redis.aclose)  # type: ignore[union-attr]
    store.close()


def run_api_with_a_wrong_password(tls_redis: TlsRedis, wrong: str) -> None:
    """A Redis that refuses the password: the API answers 503 and logs why."""
    redis = Redis.from_url(tls_redis.url(get_settings().redis_user, wrong), decode_responses=True)
    store = JobStore(boto3.client("dynamodb", region_name=REGION), get_settings().table)
    registry = QueueRegistry([work])
    service = JobService.build(registry, redis, store, prefix=get_settings().key_prefix)
    app = create_app(registry, service=service, authenticator=Authenticator.from_setting(API_KEYS))
    with TestClient(app, raise_server_exceptions=False) as client:
        reply = client.get("/queues/work", headers=ACME)
        assert reply.status_code == 503, reply.text
        assert wrong not in reply.text
        client.portal.call(redis.aclose)  # type: ignore[union-attr]
    store.close()


def run_poller() -> dict[str, Any]:
    settings = get_settings()
    store = JobStore(boto3.client("dynamodb", region_name=REGION), settings.table)
    dlq = DeadLetterQueue(boto3.client("sqs", region_name=REGION), settings.dlq_url, wait_s=0)
    loops = ThreadLoops(create_redis)
    runtime = PollerRuntime(
        QueueRegistry([work]),
        store,
        dlq,
        loops,
        prefix=settings.key_prefix,
        settings=PollerSettings(linger_ms=200, refresh_ms=500),
        starter=_no_fan_out,
    )
    install(Wiring(poller=runtime))
    try:
        reply: dict[str, Any] = poller.handler(load_event("poller_tick.json"), FakeContext(20_000))
    finally:
        install(None)
        loops.close()
        store.close()
    return reply


async def _no_fan_out(queue: str) -> None:
    """Fan-out would invoke another Lambda; one poller is enough here."""


def iam_token(tls_redis: TlsRedis) -> str:
    """Connect once with an ElastiCache IAM token (its user's password is the token)."""
    settings = Settings(
        redis_auth="iam",
        redis_user=f"iam-{secrets.token_hex(4)}",
        redis_cache_name="corral-cache",
    )
    settings = settings.model_copy(update={"redis_url": tls_redis.url()})
    redis = create_redis(settings)
    assert isinstance(redis, Redis)
    _, token = redis.connection_pool.connection_kwargs["credential_provider"].get_credentials()
    tls_redis.add_user(settings.redis_user, token)
    loops = ThreadLoops(lambda: redis)
    assert loops.run(_ping)
    loops.close()
    return str(token)


async def _ping(client: Any) -> bool:
    return bool(await client.ping())


def test_no_secret_or_token_reaches_the_logs(
    deployment: dict[str, str], tls_redis: TlsRedis, capfd: pytest.CaptureFixture[str]
) -> None:
    wrong = f"wrong-{secrets.token_urlsafe(16)}"
    with Capture() as capture:
        run_api(QueueRegistry([*deployed.registry, work]))
        run_api_with_a_wrong_password(tls_redis, wrong)
        report = run_poller()
        summary = scheduler.handler(load_event("scheduler_tick.json"), FakeContext(60_000))
        token = iam_token(tls_redis)
    out, err = capfd.readouterr()
    logs = "\n".join([capture.text, out, err])

    # The run did what it should, and its logs say so (so the scan below reads real logs).
    assert report["completed"] >= 1
    assert summary["errors"] == 0
    for expected in ("poller run finished", "scheduler tick", "unavailable", "HTTP Request"):
        assert expected in logs, expected

    aws = boto3.Session().get_credentials()
    assert aws is not None
    frozen = aws.get_frozen_credentials()
    secret_values = {
        "acme API key": ACME_KEY,
        "zeta API key": ZETA_KEY,
        "admin API key": ADMIN_KEY,
        "near-miss API key": f"{ACME_KEY[:-1]}X",
        "Redis password": deployment["password"],
        "Secrets Manager value": deployment["secret"],
        "wrong Redis password": wrong,
        "TLS admin password": tls_redis.admin_password,
        "IAM token": token,
        "IAM token signature": token.rsplit("X-Amz-Signature=", 1)[1],
        "AWS secret key": frozen.secret_key,
    }
    if frozen.token:
        secret_values["AWS session token"] = frozen.token
    found = [name for name, value in secret_values.items() if value and value in logs]
    assert found == []
    assert "backward compatibility" not in logs, "the IAM provider should be async-aware"
