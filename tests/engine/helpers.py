"""Small helpers the functional tests share."""

from __future__ import annotations

import json
from typing import Any

from corral.job import JobState
from corral.queue import ClaimedJob, Outcome, Queue


async def state_of(queue: Queue, job_id: str) -> JobState | None:
    """The job's state, or None once it is gone from Redis."""
    job = await queue.get_job(job_id)
    return None if job is None else job.state


async def claim_ids(queue: Queue, worker: str = "w1", n: int = 10) -> list[str]:
    """Claim up to ``n`` jobs and return their ids in claim order."""
    return [job.id for job in (await queue.claim(worker, n)).jobs]


async def settle_one(
    queue: Queue, job: ClaimedJob, kind: str, payload: Any = None, retry_at: int = 0
) -> int:
    """Settle one claimed job (``c``, ``r`` or ``f``) and return its code."""
    outcome = Outcome(job, kind, json.dumps(payload), retry_at)
    codes, _ = await queue.settle(job.token.rsplit(":", 1)[0], [outcome])
    return codes[0]


def raw(queue: Queue) -> Any:
    """The queue's Redis client, for tests that look at keys directly."""
    return queue.redis
