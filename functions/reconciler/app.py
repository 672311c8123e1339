"""The reconciler function: on a schedule, and on demand (``{"queues": [...]}``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from corral.index_marker import LOST_SOURCE
from corral.invocation import FunctionContext, invocation, logger
from corral.lambda_support import ThreadLoops, aws_client, build_dlq, build_store
from corral.reconcile_runtime import ReconcilerRuntime
from corral.redis_client import create_redis
from corral.settings import get_settings
from corral.snapshot import after_restore
from corral.tracing import traced
from corral.wake import function_name_for, lambda_starter

SERVICE = "corral"
QUIET_COUNTS = ("checked", "waitingOut")
"""What a reconcile finds every time; a run that found only these did nothing."""

_runtime: ReconcilerRuntime | None = None


def use(runtime: ReconcilerRuntime | None) -> None:
    """Install the runtime invocations use (tests and the local emulator build their own)."""
    global _runtime
    _runtime = runtime


def runtime() -> ReconcilerRuntime:
    """The process's runtime, built from the settings on first use."""
    if _runtime is None:
        from queues import registry

        settings = get_settings()
        starter = None
        if settings.poller_function:
            starter = lambda_starter(
                aws_client("lambda"), function_name_for(settings.poller_function)
            )
        loops = ThreadLoops(create_redis)
        use(
            ReconcilerRuntime(
                registry,
                build_store(),
                build_dlq(),
                loops,
                starter=starter,
                prefix=settings.key_prefix,
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


def queues_of(event: dict[str, Any]) -> list[str] | None:
    """On-demand runs name queues in ``queues`` or ``detail.queues``; None means all."""
    detail = event.get("detail")
    names = event.get("queues") or (detail.get("queues") if isinstance(detail, dict) else None)
    return [str(n) for n in names] if names else None


@traced("corral")
def handler(event: dict[str, Any], context: FunctionContext) -> dict[str, Any]:
    with invocation(context, SERVICE) as metrics:
        metrics.add_metric(name="ReconcilerRuns", unit=MetricUnit.Count, value=1)
        # Started because Redis lost a queue: records too young to judge were lost too.
        lost = event.get("source") == LOST_SOURCE
        reports = runtime().invoke(queues_of(event), settle_young=lost)
        restored = sum(len(r.restored) for r in reports.values())
        metrics.add_metric(name="JobsRestored", unit=MetricUnit.Count, value=restored)
        synced = sum(len(r.synced) for r in reports.values())
        metrics.add_metric(name="JobsSynced", unit=MetricUnit.Count, value=synced)
        summary = {name: report.as_dict() for name, report in reports.items()}
        busy = any(
            value for counts in summary.values() for key, value in counts.items()
            if key not in QUIET_COUNTS
        )  # fmt: skip
        (logger.info if busy else logger.debug)("reconcile finished", extra={"queues": summary})
    return {"queues": summary}
