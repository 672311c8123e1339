"""Builds the API app on a wiring's clients (``corral.wiring``): the process's in Lambda.

The local emulator calls ``build_app`` too, with its own wiring (an in-process poller
start instead of a Lambda invoke, its queues).
"""

from __future__ import annotations

from corral import pricing
from corral.events.eventbridge import parse_types
from corral.index_marker import IndexMarker
from corral.quotas import Quotas
from corral.schedules import ScheduleService, ScheduleStore, ServiceSink
from corral.service import JobService
from corral.settings import Settings
from corral.stats import StatsReader
from corral.wake import FlaggedWaker, NoWake, PollerWaker
from corral.webhooks.cache import RegistrationVersion
from corral.webhooks.dispatch import WEBHOOK_QUEUE
from corral.webhooks.store import WebhookStore
from corral.wiring import Wiring, current
from fastapi import FastAPI

from api.auth import Authenticator
from api.factory import create_app
from api.routes.webhooks import WebhookConfig
from api.signin import SignInLinks


def default_waker(wiring: Wiring) -> PollerWaker:
    """Wakes a queue's poller through the wiring's starter, unless it has none."""
    if wiring.starter is None:
        return NoWake()
    return FlaggedWaker(wiring.redis, wiring.starter, prefix=wiring.settings.key_prefix)


def quotas_of(settings: Settings) -> Quotas:
    """The tenants' quotas (``CORRAL_QUOTA_*``); read by the API only."""
    return Quotas(
        schedules=settings.quota_schedules,
        webhooks=settings.quota_webhooks,
        waiting_jobs=settings.quota_waiting_jobs,
        enqueue_rate=settings.quota_enqueue_rate,
        enqueue_burst=max(settings.quota_enqueue_burst, settings.quota_enqueue_rate),
    )


def build_app(wiring: Wiring | None = None) -> FastAPI:
    """The deployment's app: its queues, Redis, job table, DLQ, schedules and API keys,
    on the clients of ``wiring`` (default: the process's)."""
    w = wiring or current()
    settings, registry, redis = w.settings, w.registry, w.redis
    quotas = quotas_of(settings)
    waker = default_waker(w)
    events = w.events(waker.wake)
    service = JobService.build(
        registry,
        redis,
        w.store,
        prefix=settings.key_prefix,
        dlq=w.dlq,
        waker=waker,
        events=events.sink(redis) if events else None,
        marker=IndexMarker(w.reconcile),
    )
    schedules = None
    if settings.schedules_table:
        schedules = ScheduleService(
            ScheduleStore(w.aws.table(settings.schedules_table)),
            ServiceSink(service),
            registry,
            max_per_tenant=quotas.schedules,
        )
    tenant_table = settings.tenant_table
    webhooks = stats = None
    if tenant_table:
        if WEBHOOK_QUEUE in registry:
            secrets = WebhookStore(w.client("dynamodb"), tenant_table)
            version = RegistrationVersion(redis, settings.key_prefix)
            webhooks = WebhookConfig(secrets, settings.local, version=version)
        sent = parse_types(settings.event_types) if settings.event_bus else frozenset()
        stats = StatsReader(
            w.client("dynamodb"),
            tenant_table,
            event_types=frozenset(t.slug for t in sent),
            write_unit=pricing.job_table_write_unit(settings.job_table_provisioned),
        )
    return create_app(
        registry,
        service=service,
        authenticator=Authenticator.from_setting(settings.api_keys),
        schedules=schedules,
        max_body_bytes=settings.max_body_bytes,
        webhook_config=webhooks,
        stats_reader=stats,
        quotas=quotas,
        sign_in=SignInLinks(redis, settings.key_prefix),
    )
