"""Helpers for the typed-queue tests: a job context that records progress, moto clients,
simulated AWS errors, and running jobs through the real engine on the shared Redis."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError
from corral.context import JobContext
from corral.definition import Handler, QueueDefinition
from corral.drain import Drainer
from corral.job import Job
from corral.job_logs import read_logs
from corral.queue import Queue

REGION = "us-east-1"
TENANT = "tenant-a"


class RecordingContext(JobContext):
    """A ``JobContext`` that keeps every progress value it is given."""

    seen: list[Any]

    def progress(self, value: Any) -> None:
        self.seen.append(value)


def job_context(
    job_id: str = "01JOBTEST", attempt: int = 1, timeout_ms: int = 30_000
) -> RecordingContext:
    ctx = RecordingContext(job_id, "test", attempt, 3, TENANT, 0, timeout_ms)
    ctx.seen = []
    return ctx


def client(service: str) -> Any:
    """A boto3 client; inside the ``aws`` fixture it talks to moto."""
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def client_error(code: str, operation: str = "SendEmail") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"simulated {code}"}}, operation)


def engine_queue(
    redis: Any,
    prefix: str,
    definition: QueueDefinition,
    handler: Handler,
    clock: Callable[[], int] | None = None,
) -> Queue:
    """The queue as defined, its handler swapped for one bound to test clients."""
    bound = dataclasses.replace(definition, handler=handler)
    if clock is None:
        return Queue(redis, bound, prefix=prefix)
    return Queue(redis, bound, prefix=prefix, clock=clock)


async def drain(queue: Queue) -> None:
    """Run every ready job the way a poller does, until the queue is empty."""
    stats = await Drainer(queue, concurrency=2, idle_wait_ms=50).run(until_empty=True)
    assert stats.claimed >= 1


async def logged(queue: Queue, job_id: str) -> list[str]:
    """The messages the job's handler logged, as ``GET /jobs/{queue}/{id}/logs`` reads them."""
    return [line["message"] for line in (await read_logs(queue, job_id, 0, 1000)).lines]


async def stored(queue: Queue, job_id: str) -> Job:
    """The job as Redis holds it after the drain."""
    job = await queue.get_job(job_id)
    assert job is not None
    return job
