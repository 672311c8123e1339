"""Queues for tests: handlers that succeed, fail, fail a few times, sleep or hang.

The emulator loads this registry when ``CORRAL_LOCAL_REGISTRY`` names it (tests only).
A job whose payload names a ``runLog`` file appends one line per run to it, so tests in
other processes can count how often each job ran; one naming ``failUnless`` fails until
that file exists.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

from corral.context import JobContext
from corral.definition import QueueDefinition, QueueRegistry
from corral.job import Backoff, BackoffType, CamelModel
from queues import webhook


class Work(CamelModel):
    """What a test job does."""

    sub_account_id: str
    action: Literal["ok", "fail", "flaky", "sleep"] = "ok"
    value: Any = None
    sleep_ms: int = 0
    fail_times: int = 0
    run_log: str | None = None
    fail_unless: str | None = None


async def perform(payload: Work, job: JobContext) -> Any:
    """Do what the payload says; the result echoes the value and the attempt."""
    job.log(f"attempt {job.attempt}: {payload.action}")
    if payload.run_log:
        with Path(payload.run_log).open("a", encoding="utf-8") as log:
            log.write(f"{job.id} {job.attempt}\n")
    if payload.sleep_ms:
        job.progress(50)
        await asyncio.sleep(payload.sleep_ms / 1000)
    if payload.fail_unless and not Path(payload.fail_unless).exists():
        raise RuntimeError(f"{payload.fail_unless} does not exist yet")
    if payload.action == "fail":
        raise RuntimeError(f"failing on purpose (attempt {job.attempt})")
    if payload.action == "flaky" and job.attempt <= payload.fail_times:
        raise RuntimeError(f"flaky failure on attempt {job.attempt}")
    return {"value": payload.value, "attempt": job.attempt}


FAST_RETRY = Backoff(type=BackoffType.FIXED, delay=200, jitter=0)

work = QueueDefinition(
    name="work",
    payload=Work,
    handler=perform,
    concurrency=4,
    attempts=3,
    backoff=FAST_RETRY,
    timeout_ms=3000,
    description="test jobs",
)

slow = QueueDefinition(
    name="slow",
    payload=Work,
    handler=perform,
    concurrency=2,
    attempts=2,
    backoff=FAST_RETRY,
    timeout_ms=1000,
    description="test jobs with a short timeout",
)

# The real delivery queue, so jobs' webhooks are delivered as in a deployment.
registry = QueueRegistry([work, slow, webhook.queue])
