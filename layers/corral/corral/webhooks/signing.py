"""Webhook signatures: HMAC-SHA256 over ``"{timestamp}.{body}"`` with the tenant's secret.

A delivery carries three headers: ``Corral-Timestamp`` (Unix seconds when it was sent),
``Corral-Signature`` (``v1=<hex digest>``) and ``Corral-Delivery-Id`` (the same on every
retry of one delivery: the receiver's idempotency key). A receiver checks the signature
with ``verify`` and rejects timestamps older than its tolerance, so a captured request
cannot be replayed later. This module needs only the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

TIMESTAMP_HEADER = "Corral-Timestamp"
SIGNATURE_HEADER = "Corral-Signature"
DELIVERY_HEADER = "Corral-Delivery-Id"
EVENT_HEADER = "Corral-Event"
VERSION = "v1"
TOLERANCE_S = 300


class WebhookSignatureError(Exception):
    """The signature does not match, or the timestamp is missing or too old."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex>``: the signature of ``body`` sent at ``timestamp``."""
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def signature_headers(
    secret: str, timestamp: int, body: bytes, delivery_id: str, event: str
) -> dict[str, str]:
    """The headers a delivery is sent with."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event,
        "Content-Type": "application/json",
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def verify(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance_s: int = TOLERANCE_S,
    now: float | None = None,
) -> int:
    """Check a delivery as received; returns its timestamp.

    Args:
        secret: the tenant's signing secret (``GET /webhooks/secret``).
        body: the raw request body, exactly as received.
        headers: the request headers (any case).
        tolerance_s: the oldest (or most future) timestamp accepted, in seconds.
        now: the current Unix time (default: the clock).

    Raises:
        WebhookSignatureError: a header is missing, the signature does not match, or the
            timestamp is outside the tolerance (a replay).
    """
    raw_ts = _header(headers, TIMESTAMP_HEADER)
    given = _header(headers, SIGNATURE_HEADER)
    if not raw_ts or not given:
        raise WebhookSignatureError("missing signature headers")
    try:
        timestamp = int(raw_ts)
    except ValueError:
        raise WebhookSignatureError("malformed timestamp") from None
    # Several signatures may be sent while a secret is rotated: any one may match.
    expected = sign(secret, timestamp, body)
    candidates = [part.strip() for part in given.split(",")]
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise WebhookSignatureError("signature does not match")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookSignatureError("timestamp outside the tolerance: a stale or replayed request")
    return timestamp
