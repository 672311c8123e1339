"""Which record a dead letter's redrive puts back: the job's own, reopened, or one rebuilt
from the letter when the record is gone."""

from __future__ import annotations

from collections.abc import Callable

from corral.dlq import DeadLetter
from corral.errors import JobNotFoundError
from corral.guards import aws
from corral.job import JobStatus
from corral.records import JobRecord
from corral.store import JobStore


async def record_to_requeue(
    store: JobStore, letter: DeadLetter, clock: Callable[[], int]
) -> JobRecord | None:
    """The pending record to requeue for ``letter``; None when its job completed since
    (a later run succeeded: nothing to move).

    Raises JobNotFoundError when neither a record nor the letter's data is left."""
    record = await aws("dynamodb", store.get, letter.queue, letter.job_id, resolve=False)
    if record is None:
        if letter.data_omitted:
            raise JobNotFoundError(f"job {letter.job_id}: no record and no data to rebuild")
        record = JobRecord(
            job_id=letter.job_id,
            queue=letter.queue,
            tenant=letter.tenant,
            status=JobStatus.PENDING,
            data=letter.data,
            options=letter.options,
            attempts=int(letter.options.get("attempts") or 1),
            attempts_made=0,
            created_at=clock(),
        )
        await aws("dynamodb", store.create, record)
    elif record.status in (JobStatus.FAILED, JobStatus.CANCELLED):
        record = await aws("dynamodb", store.reopen, letter.queue, letter.job_id)
    elif record.status is JobStatus.COMPLETED:
        return None
    return record
