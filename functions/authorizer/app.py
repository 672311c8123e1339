"""HTTP API Lambda authorizer: bearer API keys kept in Secrets Manager or SSM.

The keys are one string, ``token:tenant[:admin],...`` (the ``CORRAL_API_KEYS`` format),
stored in the secret or SecureString parameter ``CORRAL_API_KEYS_SOURCE`` names: an ARN of
a secret, or a parameter name starting with ``/``. They are read at most every
``REFRESH_S`` seconds, so a rotated key takes effect within that time (plus API
Gateway's own authorizer cache). The answer is a simple response whose context carries
``tenant`` and ``admin``, which the API reads as it reads JWT claims.
"""

from __future__ import annotations

import time
from typing import Any

from api.auth import Authenticator
from corral.aws_clients import AwsClients
from corral.settings import Settings, get_settings

REFRESH_S = 300.0

_cache: dict[str, tuple[float, Authenticator]] = {}
_aws: tuple[Settings, AwsClients] | None = None


def aws_client(service: str) -> Any:
    """The authorizer's client of ``service``: built once, again if the settings are re-read.

    Not the full wiring (``corral.wiring``): the authorizer needs no Redis, table or
    runtime, and so neither their imports nor their permissions."""
    global _aws
    settings = get_settings()
    if _aws is None or _aws[0] is not settings:
        _aws = (settings, AwsClients(settings.region))
    return _aws[1].client(service)


def read_keys(source: str, client: Any = None) -> str:
    """The keys string from SSM (``/name``) or Secrets Manager (ARN or name)."""
    if source.startswith("/"):
        ssm = client or aws_client("ssm")
        value: str = ssm.get_parameter(Name=source, WithDecryption=True)["Parameter"]["Value"]
        return value
    secrets = client or aws_client("secretsmanager")
    secret: str = secrets.get_secret_value(SecretId=source)["SecretString"]
    return secret


def authenticator(now: float | None = None) -> Authenticator:
    """The current keys, re-read once ``REFRESH_S`` has passed."""
    now = time.monotonic() if now is None else now
    source = get_settings().api_keys_source
    cached = _cache.get(source)
    if cached is None or now - cached[0] > REFRESH_S:
        cached = (now, Authenticator.from_setting(read_keys(source)))
        _cache[source] = cached
    return cached[1]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Payload format 2.0, simple response: authorized, with the caller as context."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    caller = authenticator().from_token(headers.get("authorization"))
    if caller is None:
        return {"isAuthorized": False}
    return {
        "isAuthorized": True,
        "context": {
            "tenant": caller.tenant,
            "admin": "true" if caller.admin else "false",
            "principalId": caller.key_id,  # the key's digest prefix, for audit lines
        },
    }
