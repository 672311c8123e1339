"""Powertools logs and metrics of one function invocation, kept apart from any other's.

Lambda runs one invocation at a time per process, where Powertools' shared Logger keys and
shared Metrics store are safe. The local emulator runs every function in one process, on
threads: keys appended to the shared logger leaked between invocations (a file-processing
poller's report was logged as ``corral-reconciler`` / ``webhook``) and one EMF line mixed
several runs' metrics. So the keys of an invocation live in its context (contextvars, which
asyncio tasks and worker threads started with ``asyncio.to_thread`` inherit), and each
invocation flushes a metrics object of its own. In Lambda both behave as before.

Every function logs through the one ``corral`` logger, so the engine's ``corral.*`` lines
carry the same keys: the service, the function and, for a poller, the queue.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics

NAMESPACE = "corral"
logger = Logger(service="corral")
"""The logger of every function (the engine's loggers are its children)."""

_warm: set[str] = set()


class FunctionContext(Protocol):
    """What the handlers read of Lambda's context (the emulator and tests pass their own)."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


def lambda_keys(context: FunctionContext) -> dict[str, Any]:
    """The keys Powertools' ``inject_lambda_context`` adds, from a Lambda context."""
    name = context.function_name
    cold = name not in _warm
    _warm.add(name)
    return {
        "cold_start": cold,
        "function_name": name,
        "function_memory_size": context.memory_limit_in_mb,
        "function_arn": context.invoked_function_arn,
        "function_request_id": context.aws_request_id,
    }


def append_keys(**keys: Any) -> None:
    """Add keys to this invocation's log lines only (a poller's queue, say)."""
    logger.thread_safe_append_keys(**keys)


@contextmanager
def invocation(
    context: FunctionContext, service: str, *, metrics_service: str | None = None, **keys: Any
) -> Iterator[EphemeralMetrics]:
    """Log this invocation's lines with its function and ``service`` (and ``keys``); yield
    the metrics it publishes (``metrics_service`` their dimension), flushed as one EMF
    line when it ends."""
    before = dict(logger.thread_safe_get_current_keys())
    logger.thread_safe_append_keys(service=service, **lambda_keys(context), **keys)
    metrics = EphemeralMetrics(namespace=NAMESPACE, service=metrics_service or service)
    try:
        yield metrics
    finally:
        try:
            if metrics.metric_set:
                metrics.flush_metrics()
        finally:
            logger.thread_safe_clear_keys()
            logger.thread_safe_append_keys(**before)
