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
from contextvars import ContextVar
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
        reply = None
        token = INVOCATION.set(AwsWaits(function_name))
        try:
            reply = call(handler, event, function_name, size)
            return reply
        finally:
            INVOCATION.reset(token)
            billed = math.ceil((time.monotonic() - started) * 1000)
            ledger.count(ledger.INVOCATIONS, function_name)
            ledger.count(ledger.DURATION_MS, function_name, billed)
            if isinstance(reply, dict) and reply.get("idle_ms"):
                ledger.count(ledger.IDLE_MS, function_name, int(reply["idle_ms"]))

    lambdas.Invoker._call = staticmethod(timed)  # type: ignore[method-assign]


API_REQUEST: ContextVar[bool] = ContextVar("api_request", default=False)
"""Whether an enqueue request is being served (its wake-ups are the API's)."""


class AwsWaits:
    """One function invocation's time waiting on moto: the wall time while any of its AWS
    calls is under way, and the waves of them, which ``bench.cost`` swaps for AWS's own
    latency as it does the API's."""

    def __init__(self, function: str) -> None:
        self.function = function
        self.in_flight = 0
        self.since = 0.0
        self.lock = threading.Lock()

    def started(self) -> None:
        with self.lock:
            self.in_flight += 1
            if self.in_flight == 1:
                self.since = time.perf_counter()
                ledger.count(ledger.AWS_WAVES, self.function)

    def ended(self) -> None:
        with self.lock:
            self.in_flight -= 1
            waited_ms = (time.perf_counter() - self.since) * 1000 if not self.in_flight else 0.0
        if waited_ms:
            ledger.count(ledger.AWS_MS, self.function, waited_ms)


INVOCATION: ContextVar[AwsWaits | None] = ContextVar("invocation", default=None)
"""The function invocation (poller, reconciler, scheduler) this code runs for, if any:
its threads and tasks inherit it."""


class TimedApp:
    """The API app with each enqueue's time inside it counted: what the API function would
    bill, without the local HTTP server around it. The API's clients count their time
    waiting on moto (``time_api_clients``), which ``bench.cost`` swaps for DynamoDB's own
    latency."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        enqueue = scope["type"] == "http" and scope["method"] == "POST"
        if not (enqueue and scope["path"].startswith("/jobs/")):
            await self.app(scope, receive, send)
            return
        token = API_REQUEST.set(True)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            elapsed = time.perf_counter() - started
            API_REQUEST.reset(token)
            ledger.count(ledger.API_MS, "api", math.ceil(elapsed * 1000))
            ledger.count(ledger.API_MS, "requests")


def time_api_clients() -> None:
    """Time the API's own AWS calls (see ``TimedApp``): the wall time while any is under
    way, and the waves of them (a batch's parallel writes are one wave); and each other
    function invocation's likewise (``AwsWaits``)."""
    in_flight = [0, 0.0]  # calls under way, and since when some are
    lock = threading.Lock()

    def before(context: dict[str, Any], **_: Any) -> None:
        if not API_REQUEST.get():
            invocation = INVOCATION.get()  # a function's call: the process's clients serve all
            if invocation is not None:
                context["invocation"] = invocation
                invocation.started()
            return
        context["api_call"] = True
        with lock:
            in_flight[0] += 1
            if in_flight[0] == 1:
                in_flight[1] = time.perf_counter()
                ledger.count(ledger.API_MS, "aws waves")

    def after(context: dict[str, Any], **_: Any) -> None:
        invocation = context.pop("invocation", None)
        if invocation is not None:
            invocation.ended()
        if not context.pop("api_call", False):
            return
        ledger.count(ledger.API_MS, "aws calls")
        with lock:
            in_flight[0] -= 1
            waited_ms = (time.perf_counter() - in_flight[1]) * 1000 if not in_flight[0] else 0.0
        if waited_ms:
            ledger.count(ledger.API_MS, "aws", waited_ms)

    # Every client of the process comes from the default session (corral.wiring).
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-call", before)
    boto3.DEFAULT_SESSION.events.register("after-call", after)


def use_chaos_scheduler(settings: Settings) -> None:
    """The scheduler function, serving the chaos queues instead of the deployment's."""
    from corral.schedules import ScheduleStore
    from corral.wiring import current
    from scheduler import app

    from bench.chaos.queues import registry

    wiring = current()
    deployment = app.Deployment(
        schedules=ScheduleStore(wiring.aws.table(settings.schedules_table)),
        jobs=wiring.store,
        registry=registry,
        declared=[],
        prefix=settings.key_prefix,
    )
    app.deployment = lambda: deployment


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
    time_api_clients()

    from infra.local import emulator as local
    from infra.local.settings import LocalSettings

    local.start_aws = served_aws  # type: ignore[attr-defined]
    patch_invoker(chaos)
    settings = get_settings()
    emulator, notes = local.build(LocalSettings(), settings)
    start_poller = emulator.start_poller

    async def wake(queue: str) -> None:
        # In AWS an API's wake-up is a Lambda Invoke call; here it is a local call.
        if API_REQUEST.get():
            ledger.count(ledger.API_MS, "lambda invokes")
        await start_poller(queue)

    emulator.start_poller = wake  # type: ignore[method-assign]
    build_app = emulator.app
    emulator.app = lambda: TimedApp(build_app())  # type: ignore[method-assign]
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
