"""``create_app``: the FastAPI app, built from its parts so tests can bring their own."""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from corral.definition import QueueRegistry
from corral.dlq import DeadLetterQueue
from corral.keys import PREFIX
from corral.quotas import Quotas
from corral.service import JobService
from corral.store import JobStore
from corral.wake import PollerWaker
from fastapi import FastAPI, HTTPException, Request

from api import errors
from api.auth import Authenticator
from api.deps import TenantScope
from api.limits import BodyLimit
from api.routes import controls, dashboard, docs, flows, health, jobs, queues, stats, webhooks
from api.signin import SignInLinks

if TYPE_CHECKING:
    from corral.schedules import ScheduleService
    from corral.stats import StatsReader

DEFAULT_MAX_BODY = 262_144
PUBLIC_ROUTES = (
    ("GET", "/health"),
    ("GET", "/dashboard"),
    ("POST", "/dashboard/session"),
    ("GET", "/docs"),
    ("GET", "/docs/assets/{asset}"),
    ("GET", "/openapi.json"),
)
"""Routes that answer without a token; the template exempts them from its authorizer.
The page and its files load before the browser has a token; a sign-in link's code is
itself the credential of ``/dashboard/session``."""
SCHEDULES = "api.routes.schedules"


def default_registry() -> QueueRegistry:
    """The deployment's queues (``functions/queues``)."""
    registry: QueueRegistry = importlib.import_module("queues").registry
    return registry


def create_app(
    registry: QueueRegistry | None = None,
    *,
    service: JobService | None = None,
    redis: Any = None,
    store: JobStore | None = None,
    dlq: DeadLetterQueue | None = None,
    waker: PollerWaker | None = None,
    prefix: str = PREFIX,
    authenticator: Authenticator | None = None,
    schedules: ScheduleService | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    webhook_config: webhooks.WebhookConfig | None = None,
    stats_reader: StatsReader | None = None,
    quotas: Quotas | None = None,
    sign_in: SignInLinks | None = None,
) -> FastAPI:
    """The API app.

    Args:
        registry: the queues (the deployment's by default).
        service: a ready job service; otherwise one is built from ``redis`` and ``store``
            (with ``dlq``, ``waker`` and ``prefix``).
        authenticator: who may call (no API keys: only an API Gateway authorizer).
        schedules: the schedule service behind ``/schedules``.
        max_body_bytes: larger request bodies get a 413.
        webhook_config: what ``/webhooks`` uses (None: 503).
        stats_reader: what ``/stats`` reads (None: 503).
        quotas: the tenants' quotas (default: ``Quotas()``'s defaults).
        sign_in: the dashboard's one-time sign-in links (default: on ``redis``, if given).
    """
    if service is None and redis is not None and store is not None:
        registry = registry or default_registry()
        service = JobService.build(registry, redis, store, prefix=prefix, dlq=dlq, waker=waker)
    app = FastAPI(
        title="corral",
        version="0.1.0",
        description="A serverless job queue: enqueue typed jobs, follow them, manage queues.",
        docs_url=None,  # api.routes.docs serves the page with its own files, not a CDN's
        redoc_url=None,
    )
    app.state.service = service
    app.state.authenticator = authenticator or Authenticator()
    app.state.schedules = schedules
    app.state.webhooks = webhook_config
    app.state.stats = stats_reader
    app.state.quotas = quotas or Quotas()
    if sign_in is None and redis is not None:
        sign_in = SignInLinks(redis, prefix)
    app.state.sign_in = sign_in
    errors.install(app)
    for module in (jobs, flows, controls, queues, health, dashboard, docs, webhooks, stats):
        app.include_router(module.router)
    _include_schedules(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    return app


def _include_schedules(app: FastAPI) -> None:
    """Mount ``/schedules`` if this deployment has the router."""
    if importlib.util.find_spec(SCHEDULES) is None:
        return
    module = importlib.import_module(SCHEDULES)

    def tenant(scope: TenantScope) -> str:
        return scope  # the caller's tenant, or an admin's ?tenant=

    def schedule_service(request: Request) -> Any:
        if request.app.state.schedules is None:
            raise HTTPException(503, "schedules are not configured")
        return request.app.state.schedules

    app.dependency_overrides[module.get_tenant] = tenant
    app.dependency_overrides[module.get_schedule_service] = schedule_service
    app.include_router(module.router)
