"""Redis over TLS with ACL users, reached through ``corral.redis_client`` as the functions
reach it: a password in the URL, a password from Secrets Manager (Powertools Parameters,
moto), or an ElastiCache IAM auth token (SigV4-presigned ``connect``)."""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import secrets
import socket
from collections.abc import Iterator
from urllib.parse import parse_qsl, quote, urlsplit
from uuid import uuid4

import boto3
import pytest
from corral.definition import QueueDefinition
from corral.queue import Queue
from corral.redis_client import create_redis
from corral.settings import Settings, get_settings
from moto import mock_aws
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, ConnectionError, ResponseError

from infra.local.emulator import redis_problem
from tests.conftest import Payload, noop
from tests.functions.security.tlsredis import TlsRedis

REGION = "us-east-1"
FAST_FAIL = {"retry_on_timeout": False, "socket_timeout": 5}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """AWS credentials and region for moto; settings re-read per test."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    get_settings.cache_clear()
    with mock_aws():
        yield monkeypatch
    get_settings.cache_clear()


def settings_from(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Settings:
    """The settings a function would read with these environment variables."""
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return Settings()


def user() -> str:
    return f"app-{secrets.token_hex(4)}"


async def assert_usable(client: object) -> None:
    """The client runs the engine's Lua over the connection, not just PING."""
    queue = Queue(client, QueueDefinition(name="tls", payload=Payload, handler=noop), prefix="sec")  # type: ignore[arg-type]
    result = await queue.add({"n": 1})
    job = await queue.get_job(result.job_id)
    assert job is not None and job.data["n"] == 1
    await queue.clean(job.state, 0)


async def test_tls_with_a_password_in_the_url(tls_redis: TlsRedis, env: pytest.MonkeyPatch) -> None:
    name, password = user(), secrets.token_urlsafe(24)
    tls_redis.add_user(name, password)
    settings = settings_from(env, REDIS_URL=tls_redis.url(name, password))
    client = create_redis(settings)
    try:
        assert await client.ping()
        assert await client.acl_whoami() == name
        await assert_usable(client)
    finally:
        await client.aclose()


# redis-py can leave a refused connection's transport to the garbage collector; it is
# collected inside this test (below), where its ResourceWarning is not this test's subject.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("case", ["no password", "wrong password", "plaintext", "untrusted cert"])
async def test_what_the_server_refuses(
    tls_redis: TlsRedis, env: pytest.MonkeyPatch, case: str
) -> None:
    name, password = user(), secrets.token_urlsafe(24)
    tls_redis.add_user(name, password)
    urls = {
        "no password": tls_redis.url(),
        "wrong password": tls_redis.url(name, password + "x"),
        "plaintext": f"redis://{name}:{password}@127.0.0.1:{tls_redis.port}/0",
        "untrusted cert": tls_redis.url(name, password, ca=tls_redis.rogue_ca),
    }
    settings = settings_from(env, REDIS_URL=urls[case])
    client = create_redis(settings, **FAST_FAIL)
    try:
        with pytest.raises((AuthenticationError, ConnectionError, ResponseError)) as caught:
            await client.get("anything")
        if case == "no password":
            # The default user is off: nothing answers without a named user.
            assert "NOAUTH" in str(caught.value) or "auth" in str(caught.value).lower()
        if case == "untrusted cert":
            assert "certificate" in str(caught.value).lower()
    finally:
        await client.aclose()
        gc.collect()


@pytest.mark.parametrize("form", ["json", "plain"])
async def test_a_password_from_secrets_manager(
    tls_redis: TlsRedis, env: pytest.MonkeyPatch, form: str
) -> None:
    name, password = user(), secrets.token_urlsafe(24)
    tls_redis.add_user(name, password)
    value = json.dumps({"username": name, "password": password}) if form == "json" else password
    arn = boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
    settings = settings_from(
        env,
        REDIS_URL=tls_redis.url(),
        CORRAL_REDIS_AUTH="password",
        CORRAL_REDIS_USER=name,
        CORRAL_REDIS_SECRET_ARN=arn,
    )
    assert password not in repr(settings)
    client = create_redis(settings)
    try:
        assert await client.acl_whoami() == name
        await assert_usable(client)
    finally:
        await client.aclose()


def encode(value: str) -> str:
    return quote(value, safe="-_.~")  # RFC 3986: everything but the unreserved characters


def canonical_query(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(params))


def sigv4_signature(
    secret_key: str, host: str, params: list[tuple[str, str]], date: str, scope: str
) -> str:
    """The SigV4 signature of a presigned GET, computed here from the specification."""
    canonical = "\n".join(
        [
            "GET",
            "/",
            canonical_query(params),
            f"host:{host}\n",
            "host",
            hashlib.sha256(b"").hexdigest(),
        ]
    )
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{secret_key}".encode()
    for part in scope.split("/"):  # date, region, service, "aws4_request"
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


async def test_an_elasticache_iam_token_is_a_sigv4_presigned_connect(
    tls_redis: TlsRedis, env: pytest.MonkeyPatch
) -> None:
    name = user()
    settings = settings_from(
        env,
        REDIS_URL=tls_redis.url(),
        CORRAL_REDIS_AUTH="iam",
        CORRAL_REDIS_USER=name,
        CORRAL_REDIS_CACHE_NAME="corral-cache",
    )
    aws = boto3.Session().get_credentials()
    assert aws is not None
    credentials = aws.get_frozen_credentials()
    client = create_redis(settings)
    assert isinstance(client, Redis)
    assert credentials.secret_key is not None
    try:
        provider = client.connection_pool.connection_kwargs["credential_provider"]
        signed_user, token = provider.get_credentials()
        assert signed_user == name

        url = urlsplit(f"https://{token}")
        params = parse_qsl(url.query, keep_blank_values=True)
        fields = dict(params)
        assert url.hostname == "corral-cache" and url.path == "/"
        assert fields["Action"] == "connect" and fields["User"] == name
        assert fields["ResourceType"] == "ServerlessCache"
        assert fields["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        assert fields["X-Amz-Expires"] == "900"
        assert fields["X-Amz-SignedHeaders"] == "host"
        assert fields.get("X-Amz-Security-Token") == credentials.token
        access_key, date, region, service, terminator = fields["X-Amz-Credential"].split("/")
        assert (access_key, region, service, terminator) == (
            credentials.access_key,
            REGION,
            "elasticache",
            "aws4_request",
        )
        assert fields["X-Amz-Date"].startswith(date)
        unsigned = [(k, v) for k, v in params if k != "X-Amz-Signature"]
        scope = f"{date}/{region}/{service}/aws4_request"
        expected = sigv4_signature(
            credentials.secret_key, "corral-cache", unsigned, fields["X-Amz-Date"], scope
        )
        assert hmac.compare_digest(fields["X-Amz-Signature"], expected)
        assert credentials.secret_key not in token

        # The server's ACL user has the token as its password, as ElastiCache checks it.
        tls_redis.add_user(name, token)
        assert await client.acl_whoami() == name
        await assert_usable(client)
    finally:
        await client.aclose()


# -- the emulator's start check: says what failed, never the password ---------------------


def test_the_emulator_says_what_failed_and_never_prints_the_password(
    tls_redis: TlsRedis,
) -> None:
    name, password = f"emu{uuid4().hex[:6]}", secrets.token_urlsafe(18)
    tls_redis.add_user(name, password)
    assert redis_problem(tls_redis.url(name, password)) is None

    wrong = redis_problem(tls_redis.url(name, password + "x"))
    assert wrong and "refused the credentials" in wrong
    untrusted = redis_problem(tls_redis.url(name, password, ca=tls_redis.rogue_ca))
    assert untrusted and "TLS handshake" in untrusted
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    nobody = redis_problem(f"redis://{name}:{password}@127.0.0.1:{port}/0")
    assert nobody and f"No Redis answers at redis://{name}:***@127.0.0.1:{port}/0" in nobody
    for message in (wrong, untrusted, nobody):
        assert password not in message, message
