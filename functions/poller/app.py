"""The poller function: one handler for every queue (the queue comes from env or event)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from corral.invocation import FunctionContext, invocation, logger
from corral.lambda_support import queue_of
from corral.poller import PollerResult
from corral.settings import get_settings
from corral.tracing import traced
from corral.wiring import current

SERVICE = "corral"


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
        wiring = current()
        # Without a poller function in the settings, fan-out starts this very function.
        starter = None if wiring.starter else wiring.lambda_starter(context.function_name)
        result = wiring.poller.invoke(queue, context.get_remaining_time_in_millis, starter)
        publish(metrics, result)
        report = result.report.as_dict()
        # An idle tick every minute is not news; a run that did something is.
        say = logger.debug if result.report.idle else logger.info
        say("poller run finished", extra={"report": report})
    return {**report, "durable": vars(result.tally)}
