"""Who is calling: the tenant and admin scope, from the authorizer in AWS or API keys locally.

In AWS, API Gateway has already checked the token; its authorizer's claims (JWT) or
context (Lambda authorizer) name the tenant. Locally, ``CORRAL_API_KEYS`` maps bearer
tokens to tenants: ``token:tenant`` or ``token:tenant:admin``, comma-separated.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from corral.keys import valid_identifier

TENANT_CLAIMS = ("subAccountId", "custom:subAccountId", "tenant", "custom:tenant")
ADMIN_SCOPES = frozenset({"admin", "corral/admin", "corral:admin"})
TRUE = frozenset({True, "true", "True", "1"})


@dataclass(frozen=True)
class Caller:
    """An authenticated caller."""

    tenant: str
    admin: bool = False


def parse_api_keys(value: str) -> dict[str, Caller]:
    """``token:tenant[:admin],...`` to callers by token (raises ValueError if malformed)."""
    keys: dict[str, Caller] = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        token, _, rest = entry.partition(":")
        tenant, _, scope = rest.partition(":")
        if not token or not valid_identifier(tenant) or scope not in ("", "admin"):
            raise ValueError("CORRAL_API_KEYS entries are token:tenant or token:tenant:admin")
        keys[token] = Caller(tenant, scope == "admin")
    return keys


def _words(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(value.replace(",", " ").split())
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return set()


def caller_from_claims(claims: Mapping[str, Any], scopes: Any = None) -> Caller | None:
    """The caller an authorizer vouched for, or None if it names no usable tenant."""
    tenant = next((claims[c] for c in TENANT_CLAIMS if claims.get(c)), None)
    if not isinstance(tenant, str) or not valid_identifier(tenant):
        return None
    granted = _words(scopes) | _words(claims.get("scope")) | _words(claims.get("scp"))
    groups = _words(claims.get("cognito:groups")) | _words(claims.get("groups"))
    admin = bool(granted & ADMIN_SCOPES) or "admin" in groups or claims.get("admin") in TRUE
    return Caller(tenant, admin)


class Authenticator:
    """Finds the caller of a request.

    Args:
        api_keys: bearer tokens and their callers (local use and tests).
    """

    def __init__(self, api_keys: Mapping[str, Caller] | None = None) -> None:
        self.api_keys = dict(api_keys or {})

    @classmethod
    def from_setting(cls, value: str) -> Authenticator:
        return cls(parse_api_keys(value))

    def from_event(self, event: Mapping[str, Any]) -> Caller | None:
        """The caller named by an API Gateway HTTP API event's authorizer, if it has one."""
        authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
        jwt = authorizer.get("jwt")
        if isinstance(jwt, Mapping):
            return caller_from_claims(jwt.get("claims") or {}, jwt.get("scopes"))
        context = authorizer.get("lambda")
        if isinstance(context, Mapping):
            return caller_from_claims(context)
        return None

    def from_token(self, authorization: str | None) -> Caller | None:
        """The caller an API key names (compared in constant time)."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        found = None
        for key, caller in self.api_keys.items():
            if hmac.compare_digest(key.encode(), token.strip().encode()):
                found = caller
        return found

    def authenticate(
        self, authorization: str | None, event: Mapping[str, Any] | None = None
    ) -> Caller | None:
        """The caller, or None (a 401)."""
        if event is not None:
            caller = self.from_event(event)
            if caller is not None:
                return caller
        return self.from_token(authorization)
