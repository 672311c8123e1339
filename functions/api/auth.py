"""Who is calling: the tenant and admin scope, from the authorizer in AWS or API keys locally.

In AWS, API Gateway has already checked the token; its authorizer's claims (JWT) or
context (Lambda authorizer) name the tenant. Locally, ``CORRAL_API_KEYS`` maps bearer
tokens to tenants: ``token:tenant`` or ``token:tenant:admin``, comma-separated. An entry
may give the key's SHA-256 instead of the key, ``sha256:<64 hex>:tenant[:admin]``, so no
plaintext key needs to be configured anywhere. Either way only digests are kept in memory.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from corral.keys import valid_identifier

TENANT_CLAIMS = ("subAccountId", "custom:subAccountId", "tenant", "custom:tenant")
ADMIN_SCOPES = frozenset({"admin", "corral/admin", "corral:admin"})
TRUE = frozenset({True, "true", "True", "1"})
HASHED = "sha256:"
HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Caller:
    """An authenticated caller.

    ``key_id`` names the credential for audit lines, never the secret itself: an API
    key's ``sha256:`` digest prefix, or the authorizer's principal (``sub``).
    """

    tenant: str
    admin: bool = False
    key_id: str = field(default="", compare=False)


def parse_api_keys(value: str) -> dict[str, Caller]:
    """``token:tenant[:admin],...`` to callers by token (raises ValueError if malformed).

    A hashed entry, ``sha256:<hex>:tenant[:admin]``, is keyed ``sha256:<hex>``.
    """
    keys: dict[str, Caller] = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        if entry.startswith(HASHED):
            digest, _, rest = entry.removeprefix(HASHED).partition(":")
            if not HEX_DIGEST.fullmatch(digest):
                raise ValueError("CORRAL_API_KEYS sha256 entries need 64 lower-case hex digits")
            token = HASHED + digest
        else:
            token, _, rest = entry.partition(":")
        tenant, _, scope = rest.partition(":")
        if not token or not valid_identifier(tenant) or scope not in ("", "admin"):
            raise ValueError("CORRAL_API_KEYS entries are token:tenant or token:tenant:admin")
        keys[token] = Caller(tenant, scope == "admin")
    return keys


KEY_ID_HEX = 12
"""Hex digits of a key's SHA-256 shown in audit lines: enough to tell keys apart, and a
digest prefix reveals nothing of the key."""


def key_digest(token: str) -> bytes:
    """The SHA-256 of an API key: what is kept, and what a presented token is hashed to."""
    return hashlib.sha256(token.encode()).digest()


def _digest_of_entry(key: str) -> bytes:
    if key.startswith(HASHED):
        return bytes.fromhex(key.removeprefix(HASHED))
    return key_digest(key)


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
    principal = next(
        (str(claims[c]) for c in ("sub", "principalId", "client_id") if claims.get(c)), ""
    )
    return Caller(tenant, admin, principal[:128])


class Authenticator:
    """Finds the caller of a request.

    Args:
        api_keys: bearer tokens (or ``sha256:<hex>`` digests of them) and their callers;
            only the digests are kept.
    """

    def __init__(self, api_keys: Mapping[str, Caller] | None = None) -> None:
        self._digests = [
            (digest, Caller(c.tenant, c.admin, f"sha256:{digest.hex()[:KEY_ID_HEX]}"))
            for digest, c in ((_digest_of_entry(k), c) for k, c in (api_keys or {}).items())
        ]

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
        """The caller an API key names.

        The token's digest is compared with every stored digest in constant time, and
        the loop never stops early, so timing tells nothing about which key was close.
        """
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        presented = key_digest(token.strip())
        found = None
        for digest, caller in self._digests:
            if hmac.compare_digest(digest, presented):
                found = caller
        return found

    def knows(self, token: str) -> bool:
        """Whether ``token`` is one of the keys (for tests and key rotation checks)."""
        return self.from_token(f"Bearer {token}") is not None

    def authenticate(
        self, authorization: str | None, event: Mapping[str, Any] | None = None
    ) -> Caller | None:
        """The caller, or None (a 401)."""
        if event is not None:
            caller = self.from_event(event)
            if caller is not None:
                return caller
        return self.from_token(authorization)
