"""The allowlist behind the generic-task queue: functions registered by name with one
decorator. Only registered functions can run; nothing is ever imported or evaluated by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from corral.context import JobContext
from corral.errors import NonRetryableError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class TaskContext:
    """What a task that asks for it (a first parameter named ``ctx``) receives.

    Attributes:
        job: the running job (id, attempt, ``progress()``).
        tenant: the caller's tenant; tasks must only touch its data.
        task_name: the payload's ``taskName`` (a label for logs and results).
        context: the payload's free-form ``context``.
        clients: a factory of AWS clients by service name (tests pass moto ones).
        table: the job table; queues: the deployment's queue names.
        topic_arn: where ``sendNotification`` publishes.
    """

    job: JobContext
    tenant: str
    task_name: str
    context: dict[str, Any]
    clients: Callable[[str], Any]
    table: str = ""
    queues: Sequence[str] = ()
    topic_arn: str = ""


@dataclass(frozen=True)
class Task:
    name: str
    function: Callable[..., Any]
    wants_context: bool
    signature: inspect.Signature

    def bind(self, parameters: list[Any]) -> list[Any]:
        """Check the parameters against the function's signature before anything runs."""
        try:
            self.signature.bind(*parameters)
        except TypeError as exc:
            raise NonRetryableError(f"bad parameters for {self.name}: {exc}") from None
        return parameters


@dataclass
class TaskRegistry:
    """Functions a generic-task job may call, by name."""

    tasks: dict[str, Task] = field(default_factory=dict)

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator: ``@tasks.register("calculateSum")`` makes a function callable by name."""

        def decorate(function: F) -> F:
            if name in self.tasks:
                raise ValueError(f"task {name!r} is registered twice")
            signature = inspect.signature(function)
            params = list(signature.parameters.values())
            wants_context = bool(params) and params[0].name == "ctx"
            if wants_context:
                signature = signature.replace(parameters=params[1:])
            self.tasks[name] = Task(name, function, wants_context, signature)
            return function

        return decorate

    def get(self, name: str) -> Task:
        task = self.tasks.get(name)
        if task is None:
            raise NonRetryableError(f"unknown function {name!r}; known: {sorted(self.tasks)}")
        return task

    async def call(self, name: str, parameters: list[Any], ctx: TaskContext) -> Any:
        """Run a registered function (sync ones in a thread) and return its value."""
        import asyncio

        task = self.get(name)
        args = task.bind(parameters)
        if task.wants_context:
            args = [ctx, *args]
        if inspect.iscoroutinefunction(task.function):
            return await task.function(*args)
        return await asyncio.to_thread(task.function, *args)


tasks = TaskRegistry()
"""The deployment's allowlist; ``@tasks.register(name)`` adds to it."""
task = tasks.register
