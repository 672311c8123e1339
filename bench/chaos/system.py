"""``python -m bench.chaos.system``: the local emulator with the run's hooks installed.

It is ``python -m infra.local`` (same build, same API, pollers and reconciler) with:
AWS on the moto server ``AWS_ENDPOINT_URL`` names, the botocore fault and counting
hooks, a share of poller invocations given a deadline of a few seconds, invocations
counted and timed per function, and the scheduler ticking with duplicated and late ticks.
"""

from __future__ import annotations

import logging
import math
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]  # the Lambda code root, as infra.local

import boto3  # noqa: E402
from corral.settings import Settings, get_settings  # noqa: E402

from bench.chaos import aws, ledger  # noqa: E402
from bench.chaos.faults import Hooks  # noqa: E402
from bench.chaos.settings import ChaosSettings, get_chaos_settings  # noqa: E402

SHORT_DEADLINE_S = (3.0, 6.0)
"""A poller given a short deadline gets this many seconds (the template gives 300)."""


def served_aws(settings: Settings, host: str = "", port: int = 0) -> Any:
    """``infra.local.aws.start_aws`` for resources the driver made on the moto server
    (its ``AWS_ENDPOINT_URL`` reaches this process from the driver)."""
    from infra.local.aws import LocalAws

    return LocalAws(
        _NoMock(),
        "the chaos driver's moto server",
        aws.TABLE,
        aws.SCHEDULES_TABLE,
        settings.dlq_url,
        aws.BUCKET,
        aws.TENANT_TABLE,
        aws.EVENT_BUS,
        settings.email_sender,
        settings.notification_topic_arn,
    )


class _NoMock:
    def stop(self) -> None:
        """The moto server belongs to the driver."""


def patch_invoker(chaos: ChaosSettings) -> None:
    """Short deadlines for some pollers; every invocation counted and timed."""
    from infra.local import lambdas
    from infra.local.template import FunctionSize

    draw = random.Random(chaos.seed + 1)
    call = lambdas.Invoker._call

    def timed(handler: str, event: dict[str, Any], function_name: str, size: FunctionSize) -> Any:
        if handler.startswith("poller.") and draw.random() < chaos.short_deadline_rate:
            short = draw.uniform(*SHORT_DEADLINE_S)
            size = FunctionSize(short, size.memory_mb)  # type: ignore[arg-type]
            ledger.count(ledger.FAULTS, "poller short deadline")
        started = time.monotonic()
        try:
            return call(handler, event, function_name, size)
        finally:
            billed = math.ceil((time.monotonic() - started) * 1000)
            ledger.count(ledger.INVOCATIONS, function_name)
            ledger.count(ledger.DURATION_MS, function_name, billed)

    lambdas.Invoker._call = staticmethod(timed)  # type: ignore[method-assign]


def use_chaos_scheduler(settings: Settings) -> None:
    """The scheduler function, serving the chaos queues instead of the deployment's."""
    from corral.schedules import ScheduleStore
    from corral.store import JobStore
    from scheduler import app

    from bench.chaos.queues import registry

    deployment = app.Deployment(
        schedules=ScheduleStore(
            boto3.resource("dynamodb", region_name=settings.region).Table(settings.schedules_table)
        ),
        jobs=JobStore(boto3.client("dynamodb", region_name=settings.region), settings.table),
        registry=registry,
        declared=[],
        prefix=settings.key_prefix,
    )
    app.deployment = lambda: deployment  # type: ignore[assignment]


def tick_scheduler(emulator: Any, chaos: ChaosSettings) -> None:
    """EventBridge's scheduler rule, delivering some ticks twice and some late."""
    from infra.local.lambdas import scheduled_event
    from infra.local.template import FunctionSize

    draw = random.Random(chaos.seed + 2)
    while not emulator.invoker.closed:
        time.sleep(chaos.scheduler_s)
        copies = 2 if draw.random() < chaos.duplicate_tick_rate else 1
        if copies == 2:
            ledger.count(ledger.FAULTS, "scheduler tick duplicated")
        for _ in range(copies):
            if draw.random() < chaos.delayed_tick_rate:
                ledger.count(ledger.FAULTS, "scheduler tick delayed")
                time.sleep(draw.uniform(0.5, 2.0) * chaos.scheduler_s)
            event = scheduled_event("SchedulerTick")
            size = FunctionSize(timeout_s=60)
            emulator.invoker.invoke_async("scheduler.app.handler", event, "corral-scheduler", size)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    chaos = get_chaos_settings()
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    Hooks(chaos).install(boto3.DEFAULT_SESSION.events)

    from infra.local import emulator as local
    from infra.local.settings import LocalSettings

    local.start_aws = served_aws  # type: ignore[attr-defined]
    patch_invoker(chaos)
    settings = get_settings()
    emulator, notes = local.build(LocalSettings(), settings)
    if chaos.scheduler_s:
        use_chaos_scheduler(emulator.settings)
        threading.Thread(target=tick_scheduler, args=(emulator, chaos), daemon=True).start()
    print(local.banner(emulator, notes), flush=True)
    try:
        local.run(emulator.serve)
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
