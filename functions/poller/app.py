"""The poller function: one handler for every queue (the queue comes from env or event)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from corral.events.deploy import DeploymentEvents
from corral.index_marker import lambda_reconcile
from corral.invocation import FunctionContext, invocation, logger
from corral.lambda_support import ThreadLoops, aws_client, build_dlq, build_store, queue_of
from corral.poller import PollerResult, PollerRuntime, PollerSettings, Starter
from corral.redis_client import create_redis
from corral.settings import get_settings
from corral.snapshot import after_restore
from corral.tracing import traced
from corral.wake import function_name_for, lambda_starter

SERVICE = "corral"

_runtime: PollerRuntime | None = None


def use(runtime: PollerRuntime | None) -> None:
    """Install the runtime invocations use (tests and the local emulator build their own)."""
    global _runtime
    _runtime = runtime


def runtime() -> PollerRuntime:
    """The process's runtime, built from the settings on first use."""
    if _runtime is None:
        from queues import registry

        settings = get_settings()
        loops = ThreadLoops(create_redis)
        store = build_store()
        # Webhook deliveries wake their queue's poller like an enqueue through the API does.
        wake = lambda_starter(aws_client("lambda"), function_name_for(settings.poller_function))
        events = DeploymentEvents.from_settings(settings, aws_client, registry, store, wake)
        reconcile = None
        if settings.reconciler_function:
            reconcile = lambda_reconcile(aws_client("lambda"), settings.reconciler_function)
        use(
            PollerRuntime(
                registry,
                store,
                build_dlq(),
                loops,
                prefix=settings.key_prefix,
                events=events,
                reconcile=reconcile,
                settings=PollerSettings.from_settings(settings),
            )
        )
    assert _runtime is not None
    return _runtime


@after_restore
def forget_runtime() -> None:
    """Close the runtime's Redis clients and event loops (their sockets did not survive a
    restore from a snapshot); the next invocation builds a new runtime."""
    stale = _runtime
    use(None)
    if stale is not None:
        stale.loops.close()


def _fan_out_starter(context: FunctionContext) -> Starter:
    name = get_settings().poller_function or context.function_name
    return lambda_starter(aws_client("lambda"), function_name_for(name))


def publish(metrics: EphemeralMetrics, result: PollerResult) -> None:
    """EMF metrics of one run (the queue is their dimension)."""
    tally, report = result.tally, result.report
    metrics.add_metric(name="JobsCompleted", unit=MetricUnit.Count, value=tally.completed)
    metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=tally.failed)
    metrics.add_metric(name="JobsRetried", unit=MetricUnit.Count, value=tally.retried)
    metrics.add_metric(name="JobsCancelled", unit=MetricUnit.Count, value=tally.cancelled)
    average = tally.duration_ms_total / tally.finished if tally.finished else 0
    metrics.add_metric(name="JobDuration", unit=MetricUnit.Milliseconds, value=average)
    metrics.add_metric(
        name="JobDurationMax", unit=MetricUnit.Milliseconds, value=tally.duration_ms_max
    )
    metrics.add_metric(name="QueueDepth", unit=MetricUnit.Count, value=report.depth)
    metrics.add_metric(name="OldestJobAge", unit=MetricUnit.Milliseconds, value=tally.oldest_age_ms)
    # Jobs that wait because their timeout cannot fit in a poller run (logged as warnings).
    metrics.add_metric(name="JobsTooLong", unit=MetricUnit.Count, value=report.too_long)


@traced("corral")
def handler(event: dict[str, Any], context: FunctionContext) -> dict[str, Any]:
    queue = queue_of(event, get_settings().queue)
    with invocation(context, SERVICE, queue=queue) as metrics:
        metrics.add_dimension(name="queue", value=queue)
        metrics.add_metric(name="PollerRuns", unit=MetricUnit.Count, value=1)
        rt = runtime()
        starter = None if rt.starter else _fan_out_starter(context)
        result = rt.invoke(queue, context.get_remaining_time_in_millis, starter)
        publish(metrics, result)
        report = result.report.as_dict()
        # An idle tick every minute is not news; a run that did something is.
        say = logger.debug if result.report.idle else logger.info
        say("poller run finished", extra={"report": report})
    return {**report, "durable": vars(result.tally)}
