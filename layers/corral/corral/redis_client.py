"""The Redis client every function uses, built from the settings.

One server or a cluster; TLS from a ``rediss://`` URL; no auth, a password (from the URL
or a Secrets Manager secret), or an ElastiCache IAM auth token that is re-signed for each
new connection. Transient errors are retried by redis-py's ``Retry`` policy.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.credentials import CredentialProvider
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from corral.scripts import RedisClient
from corral.settings import Settings, get_settings
from corral.wiring import aws_client

if TYPE_CHECKING:
    from botocore.credentials import ReadOnlyCredentials

TOKEN_LIFETIME_S = 900
"""ElastiCache accepts an IAM token for 15 minutes; it is only checked at connect time."""
TOKEN_REUSE_S = 600
SECRET_MAX_AGE_S = 300


def default_retry() -> Retry:
    """Three retries with jittered exponential backoff, on connection and timeout errors."""
    return Retry(
        ExponentialWithJitterBackoff(base=0.05, cap=1.0),
        retries=3,
        supported_errors=(RedisConnectionError, RedisTimeoutError),
    )


def iam_auth_token(
    cache_name: str,
    user: str,
    region: str,
    credentials: ReadOnlyCredentials,
    *,
    serverless: bool = True,
) -> str:
    """A SigV4-presigned ``connect`` request: the password of an IAM-enabled user."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest

    query = {"Action": "connect", "User": user}
    if serverless:
        query["ResourceType"] = "ServerlessCache"
    request = AWSRequest(method="GET", url=f"https://{cache_name}/?{urlencode(query)}")
    SigV4QueryAuth(credentials, "elasticache", region, expires=TOKEN_LIFETIME_S).add_auth(request)
    return str(request.url).removeprefix("https://")


class IamCredentialProvider(CredentialProvider):
    """Signs a fresh token when the cached one is older than ``TOKEN_REUSE_S``."""

    def __init__(self, cache_name: str, user: str, region: str) -> None:
        self.cache_name = cache_name
        self.user = user
        self.region = region
        self._token = ""
        self._signed_at = 0.0

    def get_credentials(self) -> tuple[str, str]:
        now = time.monotonic()
        if not self._token or now - self._signed_at > TOKEN_REUSE_S:
            import boto3

            credentials = boto3.Session().get_credentials()
            if credentials is None:
                raise RuntimeError("no AWS credentials to sign a Redis IAM token")
            frozen = credentials.get_frozen_credentials()
            self._token = iam_auth_token(self.cache_name, self.user, self.region, frozen)
            self._signed_at = now
        return self.user, self._token

    async def get_credentials_async(self) -> tuple[str, str]:
        # redis-py's default logs a warning on every new connection. Signing is local (in
        # Lambda the credentials are environment variables), so the sync path is fine.
        return self.get_credentials()


def secret_password(secret_id: str) -> str:
    """A password kept in Secrets Manager: the plain string, or ``{"password": ...}``.

    Read through Powertools Parameters (``secretsmanager:GetSecretValue``), which caches
    it for ``SECRET_MAX_AGE_S`` and never logs the value.
    """
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    provider = SecretsProvider(boto3_client=aws_client("secretsmanager"))
    raw = provider.get(secret_id, max_age=SECRET_MAX_AGE_S)
    value = raw.decode() if isinstance(raw, bytes) else str(raw)
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return str(parsed["password"]) if isinstance(parsed, dict) else value


def _auth_kwargs(settings: Settings) -> dict[str, Any]:
    if settings.redis_auth == "iam":
        provider = IamCredentialProvider(
            settings.redis_cache_name, settings.redis_user, settings.region
        )
        return {"credential_provider": provider}
    if settings.redis_auth == "password" and settings.redis_secret_arn:
        return {
            "username": settings.redis_user,
            "password": secret_password(settings.redis_secret_arn),
        }
    return {}


def create_redis(settings: Settings | None = None, **overrides: Any) -> RedisClient:
    """An async client for ``settings`` (the process's settings by default).

    ``overrides`` go to redis-py (timeouts in tests, for instance).
    """
    settings = settings or get_settings()
    kwargs: dict[str, Any] = {
        "decode_responses": True,
        "retry": default_retry(),
        "socket_connect_timeout": 5,
        "health_check_interval": 30,
        **_auth_kwargs(settings),
        **overrides,
    }
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **kwargs)
    return Redis.from_url(settings.redis_url, **kwargs)
