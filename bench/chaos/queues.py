"""Test queues under the five real queue names, whose handlers count their side effects.

The emulator loads ``registry`` when ``CORRAL_LOCAL_REGISTRY`` names it (test runs only).
Each job says what it does (``kind``): finish at once, take a while, fail a few times
then succeed, hang past its timeout once then succeed, or always fail (poison).
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from corral.context import JobContext
from corral.definition import QueueDefinition, QueueRegistry, Retention
from corral.job import Backoff, BackoffType, CamelModel

from bench.chaos import ledger

QUEUE_NAMES = ("email", "sms", "data-export", "file-processing", "generic-task")
ATTEMPTS = 8
"""Enough for two planned failures plus the stalls the faults cause; poison jobs set 2."""
POISON_ATTEMPTS = 2
TIMEOUT_MS = 2000
RETENTION = Retention(completed_count=200, failed_count=200)

Kind = Literal["fast", "slow", "flaky", "hang", "poison"]


class Work(CamelModel):
    """What a chaos job does."""

    sub_account_id: str
    kind: Kind = "fast"
    sleep_ms: int = 0
    fail_times: int = 0


async def perform(payload: Work, job: JobContext) -> dict[str, object]:
    """Count the run, act out the kind, then count the side effect as applied."""
    started = time.perf_counter()
    key = ledger.job_key(job.queue, job.id)
    client = ledger.async_client()
    await client.hincrby(ledger.RUNS, key, 1)
    if payload.kind == "poison":
        raise RuntimeError("poison: this job always fails")
    if payload.kind == "hang" and job.attempt == 1:
        await asyncio.sleep(job.timeout_ms * 10 / 1000)  # the drain loop must time it out
    if payload.kind == "flaky" and job.attempt <= payload.fail_times:
        raise RuntimeError(f"flaky failure on attempt {job.attempt}")
    if payload.sleep_ms:
        await asyncio.sleep(payload.sleep_ms / 1000)
    await client.hincrby(ledger.EFFECTS, key, 1)
    elapsed_ms = (time.perf_counter() - started) * 1000
    await client.hincrbyfloat(ledger.UNITS, "handler.ms", elapsed_ms)
    await client.hincrby(ledger.UNITS, "handler.runs", 1)
    return {"attempt": job.attempt}


def definition(name: str) -> QueueDefinition:
    """One chaos queue: concurrency-limited, quick retries, bounded retention."""
    return QueueDefinition(
        name=name,
        payload=Work,
        handler=perform,
        concurrency=16,
        attempts=ATTEMPTS,
        backoff=Backoff(type=BackoffType.FIXED, delay=100, jitter=0),
        timeout_ms=TIMEOUT_MS,
        retention=RETENTION,
        max_stalls=ATTEMPTS,
        description=f"chaos jobs under the name {name}",
    )


registry = QueueRegistry(definition(name) for name in QUEUE_NAMES)
