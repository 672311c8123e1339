"""Builds the API app from the settings: clients made once, per process.

The local emulator calls ``build_app`` too, passing its own waker (an in-process poller
start instead of a Lambda invoke) and, if it likes, its own clients.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from corral.definition import QueueRegistry
from corral.dlq import DeadLetterQueue
from corral.events.deploy import DeploymentEvents
from corral.lazy_client import lazy
from corral.quotas import Quotas
from corral.redis_client import create_redis
from corral.results import ResultStore
from corral.schedules import ScheduleService, ScheduleStore, ServiceSink
from corral.service import JobService
from corral.settings import Settings, get_settings
from corral.stats import StatsReader
from corral.store import JobStore
from corral.wake import FlaggedWaker, NoWake, PollerWaker, function_name_for, lambda_starter
from corral.webhooks.cache import RegistrationVersion
from corral.webhooks.dispatch import WEBHOOK_QUEUE
from corral.webhooks.store import WebhookStore
from fastapi import FastAPI

from api.auth import Authenticator
from api.factory import create_app, default_registry
from api.routes.webhooks import WebhookConfig
from api.signin import SignInLinks

ClientFactory = Callable[[str], Any]


def _boto3(settings: Settings, kind: str, service: str) -> Any:
    # boto3 is imported on first use: a cold start whose request calls no AWS skips it.
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard"})
    return getattr(boto3, kind)(service, region_name=settings.region, config=config)


def client_factory(settings: Settings) -> ClientFactory:
    """boto3 clients in the settings' region, with standard retries, built on first use."""

    def make(service: str) -> Any:
        return lazy(lambda: _boto3(settings, "client", service))

    return make


def default_waker(settings: Settings, redis: Any, client: ClientFactory) -> PollerWaker:
    """An async Lambda invoke of the queue's poller, unless no poller function is set."""
    if not settings.poller_function:
        return NoWake()
    start = lambda_starter(client("lambda"), function_name_for(settings.poller_function))
    return FlaggedWaker(redis, start, prefix=settings.key_prefix)


def quotas_of(settings: Settings) -> Quotas:
    """The tenants' quotas (``CORRAL_QUOTA_*``); read by the API only."""
    return Quotas(
        schedules=settings.quota_schedules,
        webhooks=settings.quota_webhooks,
        waiting_jobs=settings.quota_waiting_jobs,
        enqueue_rate=settings.quota_enqueue_rate,
        enqueue_burst=max(settings.quota_enqueue_burst, settings.quota_enqueue_rate),
    )


def build_app(
    settings: Settings | None = None,
    *,
    registry: QueueRegistry | None = None,
    redis: Any = None,
    waker: PollerWaker | None = None,
    client: ClientFactory | None = None,
) -> FastAPI:
    """The deployment's app: its queues, Redis, job table, DLQ, schedules and API keys."""
    settings = settings or get_settings()
    registry = registry or default_registry()
    quotas = quotas_of(settings)
    client = client or client_factory(settings)
    redis = redis if redis is not None else create_redis(settings)
    results = ResultStore(client("s3"), settings.bucket)
    store = JobStore(client("dynamodb"), settings.table, results=results)
    dlq = DeadLetterQueue(client("sqs"), settings.dlq_url) if settings.dlq_url else None
    waker = waker or default_waker(settings, redis, client)
    events = DeploymentEvents.from_settings(settings, client, registry, store, waker.wake)
    service = JobService.build(
        registry,
        redis,
        store,
        prefix=settings.key_prefix,
        dlq=dlq,
        waker=waker,
        events=events.sink(redis) if events else None,
    )
    schedules = None
    if settings.schedules_table:
        name = settings.schedules_table
        table = lazy(lambda: _boto3(settings, "resource", "dynamodb").Table(name))
        schedules = ScheduleService(
            ScheduleStore(table), ServiceSink(service), registry, max_per_tenant=quotas.schedules
        )
    tenant_table = settings.tenant_table
    webhooks = stats = None
    if tenant_table:
        if WEBHOOK_QUEUE in registry:
            secrets = WebhookStore(client("dynamodb"), tenant_table)
            version = RegistrationVersion(redis, settings.key_prefix)
            webhooks = WebhookConfig(secrets, settings.local, version=version)
        stats = StatsReader(client("dynamodb"), tenant_table)
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
