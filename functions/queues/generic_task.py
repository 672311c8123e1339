"""The ``generic-task`` queue: run an allowlisted function by name with its parameters.

Register a function with ``@task("name")`` (from ``queues._tasks``); an unknown name fails
the job without retry. Nothing is ever imported or evaluated from the payload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from corral.context import JobContext
from corral.definition import QueueDefinition
from corral.errors import NonRetryableError
from corral.settings import get_settings
from pydantic import Field
from pydantic_core import PydanticSerializationError, to_json

from queues import _builtin_tasks  # noqa: F401  (registers the built-ins)
from queues._common import TenantPayload, aws_client
from queues._tasks import TaskContext, TaskRegistry, tasks


class TaskPayload(TenantPayload):
    """``taskName`` (a label), ``functionName`` (the registered name), ``parameters[]``."""

    task_name: str = Field(min_length=1, max_length=256)
    function_name: str = Field(min_length=1, max_length=128)
    parameters: list[Any] = Field(default_factory=list, max_length=100)
    context: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class TaskDeps:
    """The allowlist and what tasks may reach; tests pass their own."""

    registry: TaskRegistry
    clients: Callable[[str], Any]
    table: str = ""
    queues: tuple[str, ...] = ()
    topic_arn: str = ""


async def run(payload: TaskPayload, job: JobContext, deps: TaskDeps) -> Any:
    """Call the function; its return value is the job's result."""
    ctx = TaskContext(
        job,
        payload.sub_account_id,
        payload.task_name,
        payload.context,
        deps.clients,
        deps.table,
        deps.queues,
        deps.topic_arn,
    )
    job.log(f"calling {payload.function_name} ({payload.task_name})")
    result = await deps.registry.call(payload.function_name, payload.parameters, ctx)
    job.log(f"{payload.function_name} returned {type(result).__name__}")
    try:
        to_json(result)
    except PydanticSerializationError as exc:
        raise NonRetryableError(f"{payload.function_name} returned a non-JSON value") from exc
    return result


def default_deps() -> TaskDeps:
    from queues import registry

    settings = get_settings()
    return TaskDeps(
        tasks, aws_client, settings.table, tuple(registry.names()), settings.notification_topic_arn
    )


async def handle(payload: TaskPayload, job: JobContext) -> Any:
    """The queue's handler: whatever the function returns (``calculateSum([1,2,3])`` -> 6)."""
    return await run(payload, job, default_deps())


def task_name(data: Any) -> str | None:
    """``taskName (functionName)`` in job lists: the label, and what it runs."""
    if not isinstance(data, dict):
        return None
    label, function = data.get("taskName"), data.get("functionName")
    if label and function and label != function:
        return f"{label} ({function})"
    return label or function or None


queue = QueueDefinition(
    name="generic-task",
    payload=TaskPayload,
    handler=handle,
    grants=("notification-topic",),
    concurrency=8,
    attempts=3,
    timeout_ms=60_000,
    description="Runs a function from an allowlisted registry by name",
    task_name=task_name,
)
