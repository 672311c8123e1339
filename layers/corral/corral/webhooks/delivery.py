"""Sending one webhook delivery: check the URL again, sign, POST to the checked address.

How the answer decides the delivery job's fate: 2xx completes it; 408, 425, 429 and 5xx,
a timeout or a refused connection raise ``WebhookDeliveryError`` (the engine retries with
backoff, then dead-letters it); a redirect or any other 4xx, or a URL that is no longer
safe, fail it for good (``NonRetryableError``). Redirects are never followed: they could
lead anywhere the check did not see.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from corral.errors import NonRetryableError
from corral.webhooks.signing import signature_headers
from corral.webhooks.urls import Resolver, Target, UnsafeUrlError, check_url, system_resolver

if TYPE_CHECKING:
    import httpx

RETRY_STATUSES = frozenset({408, 425, 429})
TIMEOUT_S = 10.0


def http_client() -> httpx.Client:
    """The delivery client: redirects are never followed.

    httpx is imported here, not with the module: the API imports the ``webhook`` queue for
    its payload model, and only the queue's poller sends anything.
    """
    import httpx

    return httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)


class WebhookDeliveryError(Exception):
    """The receiver could not take the delivery now; it is tried again later."""


@dataclass
class DeliverySettings:
    """What a delivery needs besides its payload.

    Attributes:
        secret_of: the tenant's signing secret.
        local: local mode (``http`` and local addresses allowed).
        http: the HTTP client (no redirects followed).
        resolve: DNS resolution (tests pass their own).
        registered: whether ``(tenant, webhook id)`` is still registered; a delivery for
            a deleted registration is skipped, retries included (None: not checked).
    """

    secret_of: Callable[[str], str]
    registered: Callable[[str, str], bool] | None = None
    local: bool = False
    http: httpx.Client = field(default_factory=http_client)
    resolve: Resolver = system_resolver
    clock: Callable[[], float] = time.time


def body_of(delivery_id: str, event: str, at_ms: int, detail: dict[str, Any]) -> bytes:
    """The JSON body: ``{id, type, time, detail}``."""
    envelope = {
        "id": delivery_id,
        "type": event,
        "time": datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat(),
        "detail": detail,
    }
    return json.dumps(envelope, separators=(",", ":"), default=str).encode()


def _pinned(target: Target) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """The URL with the checked address as host, and the headers that keep the name."""
    import httpx

    url = httpx.URL(target.url)
    default = 443 if target.scheme == "https" else 80
    host = target.host if target.port == default else f"{target.host}:{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return url.copy_with(host=target.address), {"Host": host}, extensions


def deliver(
    *,
    tenant: str,
    url: str,
    delivery_id: str,
    event: str,
    at_ms: int,
    detail: dict[str, Any],
    settings: DeliverySettings,
    webhook_id: str | None = None,
) -> dict[str, Any]:
    """POST one delivery; returns ``{status, deliveryId}`` (see the module for failures).

    A delivery for a registration (``webhook_id``) deleted since it was queued is not
    sent: it answers ``{skipped: "webhook deleted"}``.
    """
    import httpx

    if webhook_id and settings.registered and not settings.registered(tenant, webhook_id):
        return {"skipped": "webhook deleted", "deliveryId": delivery_id}

    try:
        target = check_url(url, local=settings.local, resolve=settings.resolve)
    except UnsafeUrlError as exc:
        raise NonRetryableError(f"webhook URL refused: {exc}") from None
    body = body_of(delivery_id, event, at_ms, detail)
    timestamp = int(settings.clock())
    headers = signature_headers(settings.secret_of(tenant), timestamp, body, delivery_id, event)
    address, host, extensions = _pinned(target)
    try:
        response = settings.http.post(
            address, content=body, headers={**headers, **host}, extensions=extensions
        )
    except httpx.TransportError as exc:
        raise WebhookDeliveryError(f"{type(exc).__name__}: {exc}") from None
    status = response.status_code
    if 200 <= status < 300:
        return {"status": status, "deliveryId": delivery_id}
    if status >= 500 or status in RETRY_STATUSES:
        raise WebhookDeliveryError(f"the receiver answered {status}")
    raise NonRetryableError(f"the receiver answered {status}; not retried")
