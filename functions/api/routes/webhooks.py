"""``/webhooks``: a tenant's webhook registrations (per queue) and its signing secret.

The app puts a ``WebhookConfig`` in ``app.state.webhooks``; without one these routes
answer 404 (not enabled). URLs, registered here or carried by a job's ``options.webhook``,
are checked against SSRF when they arrive (after DNS) and again at each delivery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from corral.job import CamelModel, JobOptions, WebhookEvent
from corral.keys import valid_identifier
from corral.webhooks.cache import RegistrationVersion
from corral.webhooks.dispatch import WEBHOOK_QUEUE
from corral.webhooks.store import Registration, WebhookStore
from corral.webhooks.urls import Resolver, UnsafeUrlError, check_url, system_resolver
from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import Field

from api.deps import CallerDep, QuotasDep, Service, optional_part
from api.errors import answers

UNPROCESSABLE = 422
ERRORS = answers(401, 404, 503, e404="webhooks are not enabled")


@dataclass(frozen=True)
class WebhookConfig:
    """What the routes use: the store, local mode (http allowed), DNS resolution, and the
    version every change bumps (so dispatchers drop their cached registrations)."""

    store: WebhookStore
    local: bool = False
    resolve: Resolver = system_resolver
    version: RegistrationVersion | None = None

    async def changed(self) -> None:
        if self.version is not None:
            await self.version.bump()


NEEDS = f"CORRAL_TENANT_TABLE and the {WEBHOOK_QUEUE!r} queue"
get_config = optional_part("webhooks", "webhooks", NEEDS)


Config = Annotated[WebhookConfig, Depends(get_config)]


async def refuse_unsafe(config: WebhookConfig, url: str) -> None:
    """A 422 unless ``url`` may receive webhooks (DNS is resolved off the event loop)."""
    try:
        await asyncio.to_thread(check_url, url, local=config.local, resolve=config.resolve)
    except UnsafeUrlError as exc:
        raise HTTPException(UNPROCESSABLE, f"webhook URL refused: {exc}") from None


async def check_job_webhooks(request: Request, options: Iterable[JobOptions | None]) -> None:
    """A 422 for any job whose ``options.webhook`` may not be delivered to.

    Without the tenant table (where signing secrets live) or the delivery queue, a
    webhook could never be sent, so it is refused now rather than lost later.
    """
    urls = dict.fromkeys(o.webhook.url for o in options if o is not None and o.webhook)
    if not urls:
        return
    config: WebhookConfig | None = getattr(request.app.state, "webhooks", None)
    if config is None:
        raise HTTPException(UNPROCESSABLE, f"webhooks are not enabled: they need {NEEDS}")
    for url in urls:
        await refuse_unsafe(config, url)


class WebhookCreate(CamelModel):
    """Deliver ``queue``'s ``events`` of the caller's jobs to ``url``."""

    queue: str = Field(max_length=64)
    url: str = Field(min_length=10, max_length=2048)
    events: list[WebhookEvent] | None = Field(
        default=None, min_length=1, max_length=8, description="default: completed, dead-lettered"
    )


class WebhookPublic(CamelModel):
    id: str
    queue: str
    url: str
    events: list[str]
    created_at: int

    @classmethod
    def of(cls, registration: Registration) -> WebhookPublic:
        return cls(
            id=registration.id,
            queue=registration.queue,
            url=registration.url,
            events=list(registration.events),
            created_at=registration.created_at,
        )


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="the tenant's signing secret (the same for every webhook)")


class WebhookList(CamelModel):
    webhooks: list[WebhookPublic]


class SigningSecret(CamelModel):
    secret: str


class Deleted(CamelModel):
    id: str
    deleted: bool = True


router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses={
        **ERRORS,
        **answers(
            400,
            404,
            413,
            422,
            429,
            e404="unknown queue, or webhooks are not enabled",
            e422="invalid body, or a refused URL",
            e429="the tenant has as many webhooks as its quota allows",
        ),
    },
)
async def create_webhook(
    body: WebhookCreate, caller: CallerDep, service: Service, config: Config, quotas: QuotasDep
) -> Any:
    """Register a webhook; the answer carries the signing secret to verify deliveries with."""
    service.queue(body.queue)  # 404 for an unknown queue
    if body.queue == WEBHOOK_QUEUE:
        raise HTTPException(UNPROCESSABLE, "deliveries raise no webhooks")
    await refuse_unsafe(config, body.url)
    store = config.store
    limit = quotas.webhooks
    created = await asyncio.to_thread(
        store.create, caller.tenant, body.queue, body.url, body.events, limit
    )
    await config.changed()
    secret = await asyncio.to_thread(store.secret, caller.tenant)
    return WebhookCreated(**WebhookPublic.of(created).model_dump(), secret=secret)


@router.get("", response_model=WebhookList, responses=ERRORS)
async def list_webhooks(caller: CallerDep, config: Config) -> Any:
    """The caller's webhooks, oldest first."""
    found = await asyncio.to_thread(config.store.of_tenant, caller.tenant)
    return WebhookList(webhooks=[WebhookPublic.of(r) for r in found])


@router.get("/secret", response_model=SigningSecret, responses=ERRORS)
async def signing_secret(caller: CallerDep, config: Config) -> Any:
    """The caller's signing secret (made on first use)."""
    return SigningSecret(secret=await asyncio.to_thread(config.store.secret, caller.tenant))


@router.delete(
    "/{webhook_id}",
    response_model=Deleted,
    responses={
        **ERRORS,
        **answers(404, 422, e404="no such webhook, or webhooks are not enabled"),
    },
)
async def delete_webhook(webhook_id: str, caller: CallerDep, config: Config) -> Any:
    """Remove one of the caller's webhooks (another tenant's is 'not found')."""
    found = valid_identifier(webhook_id) and await asyncio.to_thread(
        config.store.delete, caller.tenant, webhook_id
    )
    if not found:
        raise HTTPException(404, f"webhook {webhook_id} not found")
    await config.changed()
    return Deleted(id=webhook_id)
