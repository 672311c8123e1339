"""``generic-task`` runs only what its registry holds: every other name, however it is
spelled, fails the job at once (no retry) and has no side effect."""

from __future__ import annotations

import builtins
import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest
from corral.drain import Drainer
from corral.errors import NonRetryableError
from corral.job import JobState
from queues import _builtin_tasks, _tasks
from queues import generic_task as gt
from queues._tasks import tasks
from redis.asyncio import Redis

from tests.functions.queues.queue_helpers import TENANT, engine_queue, job_context

ESCAPES = [
    "__import__",
    "eval",
    "exec",
    "compile",
    "open",
    "getattr",
    "setattr",
    "globals",
    "breakpoint",
    "__builtins__",
    "__class__",
    "__dict__",
    "__globals__",
    "__init__",
    "__call__",
    "__getattribute__",
    "__subclasses__",
    "os.system",
    "os.popen",
    "subprocess.run",
    "builtins.eval",
    "importlib.import_module",
    "sys.modules",
    "shutil.rmtree",
    "pathlib.Path.write_text",
    "queues._tasks.tasks",
    "queues.generic_task.run",
    "calculateSum.__globals__",
    "calculateSum.__code__",
    "calculateSum.__class__.__base__.__subclasses__",
    "tasks.register",
    "register",
    "get",
    "call",
    "__import__('os').system('touch x')",
    "eval('1')",
    "lambda: 0",
    "calculateSum()",
    "calculatesum",
    "CALCULATESUM",
    " calculateSum",
    "calculateSum ",
    "calculateSum\n",
    "calculateSum\x00",
]
"""Dunder names, module paths, ``__import__``, ``eval``, attribute chains, near misses."""


def unregistered_module_names() -> list[str]:
    """Names the task modules define but do not register (helpers, imports)."""
    names = set(vars(_builtin_tasks)) | set(vars(_tasks)) | set(vars(gt))
    return sorted(names - set(tasks.tasks))


ALL = sorted({*ESCAPES, *dir(builtins), *unregistered_module_names()})


class Spy:
    """A client factory that records any AWS client a task asks for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, service: str) -> Any:
        self.asked.append(service)
        raise AssertionError(f"a task asked for a {service} client")


def payload(function: str, parameters: list[Any]) -> gt.TaskPayload:
    return gt.TaskPayload.model_validate(
        {
            "subAccountId": TENANT,
            "taskName": "escape",
            "functionName": function,
            "parameters": parameters,
        }
    )


async def test_no_name_outside_the_registry_runs(tmp_path: Path) -> None:
    assert len(ALL) > 200
    marker = tmp_path / "touched"
    spy = Spy()
    deps = gt.TaskDeps(tasks, spy, table="jobs", queues=("email",))
    modules = set(sys.modules)
    registered = dict(tasks.tasks)
    parameters: list[Any] = [f"touch {marker}", str(marker), "import os"]
    for name in ALL:
        if name in tasks.tasks or not 1 <= len(name) <= 128:
            continue
        with pytest.raises(NonRetryableError, match="unknown function"):
            await gt.run(payload(name, parameters), job_context(), deps)
    assert not marker.exists()
    assert spy.asked == []
    assert set(sys.modules) == modules, "a name made something get imported"
    assert tasks.tasks == registered


async def test_registered_names_cannot_be_reached_through_attributes() -> None:
    deps = gt.TaskDeps(tasks, Spy(), table="jobs")
    for registered in tasks.tasks:
        for suffix in (".__globals__", ".__code__", ".__call__", "()", "[0]", "/x"):
            with pytest.raises(NonRetryableError, match="unknown function"):
                await gt.run(payload(registered + suffix, []), job_context(), deps)


async def test_an_escape_attempt_fails_once_through_the_engine(
    single_redis: Redis, prefix: str
) -> None:
    ran: list[str] = []

    async def handler(data: gt.TaskPayload, job: Any) -> Any:
        ran.append(data.function_name)
        return await gt.run(data, job, gt.TaskDeps(tasks, Spy(), table="jobs"))

    definition = dataclasses.replace(gt.queue, attempts=5)
    queue = engine_queue(single_redis, prefix, definition, handler)
    added = await queue.add(payload("__import__", ["os"]))

    await Drainer(queue, concurrency=1, idle_wait_ms=50).run(until_empty=True)
    job = await queue.get_job(added.job_id)
    assert job is not None
    assert job.state is JobState.FAILED
    assert job.attempts_made == 1  # non-retryable: five attempts allowed, one made
    assert ran == ["__import__"]
    assert "unknown function" in str(job.error)
