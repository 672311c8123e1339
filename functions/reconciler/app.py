"""The reconciler function: on a schedule, and on demand (``{"queues": [...]}``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from corral.index_marker import LOST_SOURCE
from corral.invocation import FunctionContext, invocation, logger
from corral.reconciler import queues_of
from corral.tracing import traced
from corral.wiring import current

SERVICE = "corral"


@traced("corral")
def handler(event: dict[str, Any], context: FunctionContext) -> dict[str, Any]:
    with invocation(context, SERVICE) as metrics:
        metrics.add_metric(name="ReconcilerRuns", unit=MetricUnit.Count, value=1)
        # Started because Redis lost a queue: the next scheduled run is minutes away.
        lost = event.get("source") == LOST_SOURCE
        reports = current().reconciler.invoke(queues_of(event), lost=lost)
        restored = sum(len(r.restored) for r in reports.values())
        metrics.add_metric(name="JobsRestored", unit=MetricUnit.Count, value=restored)
        synced = sum(len(r.synced) for r in reports.values())
        metrics.add_metric(name="JobsSynced", unit=MetricUnit.Count, value=synced)
        busy = any(r.busy for r in reports.values())
        summary = {name: report.as_dict() for name, report in reports.items()}
        (logger.info if busy else logger.debug)("reconcile finished", extra={"queues": summary})
    return {"queues": summary}
