"""A queue's running jobs, as records: Redis holds them while they run (their records in
the job table still say pending until the outcome is written)."""

from __future__ import annotations

from corral.guards import redis_guard
from corral.job import JobState, JobStatus
from corral.queue import Queue
from corral.records import JobRecord
from corral.store_index import Page

RUNNING_SCAN = 1000
"""Running jobs read from Redis for a listing (a queue runs at most its concurrency)."""


async def running_page(q: Queue, tenant: str | None, limit: int) -> Page:
    """The running jobs of ``q`` (``tenant``'s, or all when None), newest first, one page."""
    with redis_guard():
        _, jobs = await q.list_jobs(JobState.ACTIVE, 0, RUNNING_SCAN)
    records = [
        JobRecord(
            job_id=job.id,
            queue=q.name,
            tenant=job.group,
            status=JobStatus.PROCESSING,
            data=job.data,
            options=job.options.as_dict(),
            attempts=job.options.attempts,
            created_at=job.created_at,
            attempts_made=job.attempts_made,
            progress=job.progress,
            started_at=job.processed_at,
        )
        for job in jobs
        if tenant is None or job.group == tenant
    ]
    records.sort(key=lambda r: (r.created_at, r.job_id), reverse=True)
    return Page(records[:limit], None)
