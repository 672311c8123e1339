"""The ledger: counters kept in a Redis of their own, which no fault touches.

Handlers count each run and each applied side effect per job; the AWS hooks count
requests, recorded completions and capacity units; the emulator counts invocations.
Every process of a run writes here, so the driver reads one place at the end.
"""

from __future__ import annotations

import asyncio
import threading
from functools import cache
from typing import Any

import redis
from redis.asyncio import Redis as AsyncRedis

from bench.chaos.settings import get_chaos_settings

RUNS = "runs"
"""job key -> handler starts."""
EFFECTS = "effects"
"""job key -> side effects applied (the handler reached its end)."""
RECORDED = "recorded"
"""job key -> writes that recorded the job completed in the job table."""
CALLS = "calls"
"""``service.Operation`` -> AWS requests sent (each retry is a request)."""
FAULTS = "faults"
"""fault kind -> faults injected."""
INVOCATIONS = "lambda:count"
"""function -> invocations."""
DURATION_MS = "lambda:ms"
"""function -> total billed duration (ms, rounded up per invocation)."""
IDLE_MS = "lambda:idle_ms"
"""function -> the part of that duration a poller spent waiting with nothing to run."""
AWS_MS = "lambda:aws_ms"
"""function -> the part of that duration spent waiting on moto (some AWS call under way)."""
AWS_WAVES = "lambda:aws_waves"
"""function -> stretches of such waiting (parallel calls overlap into one)."""
API_MS = "api:ms"
"""``api`` -> time inside the API app per request (ms, rounded up), without the HTTP server."""
UNITS = "units"
"""``service.kind`` -> DynamoDB write / read units, SQS 64 KB chunks."""


def job_key(queue: str, job_id: str) -> str:
    """The ledger's name of a job, as the job table's key."""
    return f"{queue}#{job_id}"


@cache
def sync_client() -> redis.Redis:
    """A thread-safe client (a connection pool) for hooks and threads."""
    return redis.Redis.from_url(get_chaos_settings().ledger_url, decode_responses=True)


_async_clients: dict[int, AsyncRedis] = {}
_lock = threading.Lock()


def async_client() -> AsyncRedis:
    """A client of the running event loop (async clients belong to one loop)."""
    loop = asyncio.get_running_loop()
    with _lock:
        client = _async_clients.get(id(loop))
        if client is None:
            client = AsyncRedis.from_url(get_chaos_settings().ledger_url, decode_responses=True)
            _async_clients[id(loop)] = client
    return client


def count(name: str, field: str, amount: float = 1) -> None:
    """Add ``amount`` to one counter (from any thread)."""
    if isinstance(amount, int):
        sync_client().hincrby(name, field, amount)
    else:
        sync_client().hincrbyfloat(name, field, amount)


def read(client: redis.Redis, name: str) -> dict[str, float]:
    """One counter hash as numbers."""
    raw: Any = client.hgetall(name)
    return {k: float(v) for k, v in raw.items()}
