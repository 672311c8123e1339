"""The scheduler function: each minute, enqueue the repeatable jobs due before the next run.

EventBridge invokes it with a scheduled event; the event only wakes it (the time used is
the function's own clock, so a late or repeated delivery cannot enqueue stale runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

import queues
from aws_lambda_powertools.metrics import MetricUnit
from corral.definition import QueueRegistry
from corral.events.deploy import DeploymentEvents
from corral.invocation import FunctionContext, invocation, logger
from corral.queue import now_ms
from corral.schedules import (
    Declared,
    ScheduleService,
    ScheduleStore,
    ServiceSink,
    declared_in,
    sync_declared,
)
from corral.service import JobService
from corral.store import JobStore
from corral.wiring import Wiring, current

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


def deployment() -> Deployment:
    """The deployment's tables, queues and code-declared schedules, built once from the
    process's wiring."""
    return current().part("scheduler", _build)


def _build(wiring: Wiring) -> Deployment:
    modules = [m for m in vars(queues).values() if isinstance(m, ModuleType)]
    return Deployment(
        schedules=ScheduleStore(wiring.aws.table(wiring.settings.schedules_table)),
        jobs=wiring.store,
        registry=wiring.registry,
        declared=declared_in(modules),
        prefix=wiring.settings.key_prefix,
        events=wiring.events(None),
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


def handler(event: dict[str, Any], context: FunctionContext) -> dict[str, int]:
    """EventBridge ``rate(1 minute)`` entry point."""
    with invocation(context, SERVICE, metrics_service="scheduler") as metrics:
        d = deployment()
        summary = current().loops.run(lambda redis: tick(d, redis))
        for name in ("enqueued", "duplicates", "skipped", "conflicts", "errors"):
            metrics.add_metric(
                name=f"Schedule{name.title()}", unit=MetricUnit.Count, value=summary[name]
            )
        # The number of schedules is there every minute; anything else is news.
        busy = any(value for key, value in summary.items() if key != "schedules")
        say = logger.info if busy else logger.debug
        say("scheduler tick", extra={"event_time": event.get("time"), "tick": summary})
    return summary
