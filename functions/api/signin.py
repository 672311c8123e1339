"""One-time sign-in links for the dashboard (``corral dashboard`` prints one).

A link carries a code, never the token: ``/dashboard#signin=<code>``. The code is an id and
a key, both random. Redis keeps, under the digest of the id and for ``ttl_s`` seconds, the
caller's bearer token encrypted with the key (XOR with a SHAKE-256 keystream; each key
encrypts one token, once). The page posts the code to ``POST /dashboard/session``, which
takes the entry with GETDEL, so a code works once, and hands the token back; the page then
keeps it for the browser session exactly as if it had been typed. Neither Redis nor the
link alone holds the token, and a URL fragment is never sent in a request, so the code
stays out of access logs.

The page gets the caller's own token, not a new one, because that is what works behind
every authorizer: a JWT that API Gateway checks as well as an API key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from typing import Any

from corral.keys import PREFIX, sign_in_link

ID_BYTES = 16
KEY_BYTES = 32
DEFAULT_TTL_S = 60
MAX_TTL_S = 600
MAX_TOKEN_BYTES = 8192


class SignInError(Exception):
    """The code is malformed, unknown, expired or already used (one answer for all)."""


def _keystream(key: bytes, size: int) -> bytes:
    return hashlib.shake_256(b"corral sign-in\0" + key).digest(size)


def _xor(data: bytes, key: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, _keystream(key, len(data)), strict=True))


def _split(code: str) -> tuple[bytes, bytes]:
    try:
        raw = base64.urlsafe_b64decode(code + "=" * (-len(code) % 4))
    except (binascii.Error, ValueError):
        raise SignInError("invalid sign-in code") from None
    if len(raw) != ID_BYTES + KEY_BYTES:
        raise SignInError("invalid sign-in code")
    return raw[:ID_BYTES], raw[ID_BYTES:]


class SignInLinks:
    """Makes and redeems sign-in codes.

    Args:
        redis: an asyncio Redis client.
        prefix: the deployment's key prefix.
    """

    def __init__(self, redis: Any, prefix: str = PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, ident: bytes) -> str:
        return sign_in_link(hashlib.sha256(ident).hexdigest(), self.prefix)

    async def create(self, token: str, ttl_s: int = DEFAULT_TTL_S) -> str:
        """A code that hands ``token`` over once, within ``ttl_s`` seconds."""
        secret = token.encode()
        if not secret or len(secret) > MAX_TOKEN_BYTES:
            raise SignInError("the token cannot be handed over")
        ident, key = secrets.token_bytes(ID_BYTES), secrets.token_bytes(KEY_BYTES)
        # Text, not bytes: the deployment's Redis client may decode every answer.
        sealed = base64.b64encode(_xor(secret, key)).decode()
        await self.redis.set(self._key(ident), sealed, ex=ttl_s, nx=True)
        return base64.urlsafe_b64encode(ident + key).decode().rstrip("=")

    async def redeem(self, code: str) -> str:
        """The token the code hands over; the code is spent (raises SignInError)."""
        ident, key = _split(code)
        sealed = await self.redis.getdel(self._key(ident))
        if sealed is None:
            raise SignInError("this sign-in link is unknown, expired or already used")
        try:
            return _xor(base64.b64decode(sealed), key).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise SignInError("invalid sign-in code") from None
