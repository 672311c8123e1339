"""The scheduler function: each minute, enqueue the repeatable jobs due before the next run.

EventBridge invokes it with a scheduled event; the event only wakes it (the time used is
the function's own clock, so a late or repeated delivery cannot enqueue stale runs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from types import ModuleType
from typing import Any

import boto3
import queues
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config
from corral.definition import QueueRegistry
from corral.events.deploy import DeploymentEvents
from corral.invocation import FunctionContext, invocation, logger
from corral.queue import now_ms
from corral.redis_client import create_redis
from corral.schedules import (
    Declared,
    ScheduleService,
    ScheduleStore,
    ServiceSink,
    declared_in,
    sync_declared,
)
from corral.service import JobService
from corral.settings import get_settings
from corral.store import JobStore

SERVICE = "corral-scheduler"


@dataclass(frozen=True)
class Deployment:
    """What every tick works with, built once per Lambda instance."""

    schedules: ScheduleStore
    jobs: JobStore
    registry: QueueRegistry
    declared: list[Declared]
    prefix: str
    events: DeploymentEvents | None = None


@cache
def deployment() -> Deployment:
    """The deployment's tables, queues and code-declared schedules."""
    settings = get_settings()
    config = Config(retries={"mode": "standard"})
    dynamodb = boto3.resource("dynamodb", region_name=settings.region, config=config)
    client = boto3.client("dynamodb", region_name=settings.region, config=config)
    modules = [m for m in vars(queues).values() if isinstance(m, ModuleType)]
    jobs = JobStore(client, settings.table)

    def clients(service: str) -> Any:
        return boto3.client(service, region_name=settings.region, config=config)  # type: ignore[call-overload]

    return Deployment(
        schedules=ScheduleStore(dynamodb.Table(settings.schedules_table)),
        # A plain client: the resource's own one would re-serialize the store's items.
        jobs=jobs,
        registry=queues.registry,
        declared=declared_in(modules),
        prefix=settings.key_prefix,
        events=DeploymentEvents.from_settings(settings, clients, queues.registry, jobs),
    )


async def tick(d: Deployment, redis: Any, clock: Callable[[], int] = now_ms) -> dict[str, int]:
    """Sync the code-declared schedules, then apply every due schedule."""
    events = d.events.sink(redis) if d.events else None
    jobs = JobService.build(d.registry, redis, d.jobs, prefix=d.prefix, clock=clock, events=events)
    service = ScheduleService(d.schedules, ServiceSink(jobs), d.registry, clock=clock)
    try:
        synced = asdict(await sync_declared(service, d.declared))
    except Exception:
        # A bad declaration must not stop the schedules that are fine.
        logger.exception("syncing the declared schedules failed")
        synced = {"sync_errors": 1}
    report = asdict(await service.tick())
    del report["now"]
    return {**synced, **report}


async def _invoke(d: Deployment) -> dict[str, int]:
    redis = create_redis()
    try:
        return await tick(d, redis)
    finally:
        await redis.aclose()


def handler(event: dict[str, Any], context: FunctionContext) -> dict[str, int]:
    """EventBridge ``rate(1 minute)`` entry point."""
    with invocation(context, SERVICE, metrics_service="scheduler") as metrics:
        summary = asyncio.run(_invoke(deployment()))
        for name in ("enqueued", "duplicates", "skipped", "conflicts", "errors"):
            metrics.add_metric(
                name=f"Schedule{name.title()}", unit=MetricUnit.Count, value=summary[name]
            )
        # The number of schedules is there every minute; anything else is news.
        busy = any(value for key, value in summary.items() if key != "schedules")
        say = logger.info if busy else logger.debug
        say("scheduler tick", extra={"event_time": event.get("time"), "tick": summary})
    return summary
