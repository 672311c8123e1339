"""``/jobs/{queue}``: enqueue, read, cancel and retry jobs (the caller's tenant only)."""

from __future__ import annotations

from typing import Any

from corral.intake import InvalidPayloadError
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from api.auth import Caller
from api.deps import CallerDep, JobId, Service
from api.models import (
    AcceptedJob,
    BatchAccepted,
    BatchRequest,
    BatchValid,
    Cancelled,
    EnqueueRequest,
    JobPublic,
)
from api.routes.webhooks import check_job_webhooks

router = APIRouter(prefix="/jobs", tags=["jobs"])


def owner(caller: Caller) -> str | None:
    """Whose jobs the caller may read and touch: its tenant's, or any for an admin."""
    return None if caller.admin else caller.tenant


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no or invalid token"},
    404: {"description": "unknown queue or job"},
}


@router.post(
    "/{queue}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedJob,
    responses={
        200: {"model": AcceptedJob, "description": "a duplicate: the existing job"},
        403: {"description": "data.subAccountId names another tenant"},
        409: {"description": "the chosen jobId belongs to another tenant"},
        413: {"description": "the body is too large"},
        422: {"description": "invalid data or options, or a refused options.webhook URL"},
        **ERRORS,
    },
)
async def enqueue(
    queue: str, body: EnqueueRequest, caller: CallerDep, service: Service, request: Request
) -> Any:
    """Enqueue a job; 202 once it is durable, 200 with the existing job for a duplicate."""
    await check_job_webhooks(request, [body.options])
    accepted = await service.enqueue(queue, body.data, body.options, caller.tenant)
    reply = AcceptedJob.of(accepted)
    if accepted.deduplicated:
        return JSONResponse(reply.model_dump(mode="json", by_alias=True), status_code=200)
    return reply


@router.post(
    "/{queue}/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchAccepted,
    responses=ERRORS,
)
async def enqueue_batch(
    queue: str, body: BatchRequest, caller: CallerDep, service: Service, request: Request
) -> Any:
    """Enqueue many jobs at once: all are validated before any is written."""
    await check_job_webhooks(request, [job.options for job in body.jobs])
    jobs = [(job.data, job.options) for job in body.jobs]
    accepted = await service.enqueue_many(queue, jobs, caller.tenant)
    return BatchAccepted(jobs=[AcceptedJob.of(a) for a in accepted])


@router.post(
    "/{queue}/validate",
    response_model=BatchValid,
    responses={
        422: {"description": "every invalid job's field errors, located by its index"},
        **ERRORS,
    },
)
async def validate_batch(
    queue: str, body: BatchRequest, caller: CallerDep, service: Service, request: Request
) -> Any:
    """Check a batch as ``/batch`` would, writing nothing: 200, or 422 naming every bad job
    (``loc``: ``body.jobs.<index>...``), not only the first."""
    await check_job_webhooks(request, [job.options for job in body.jobs])
    problems = service.problems(queue, [job.data for job in body.jobs], caller.tenant)
    if problems:
        raise InvalidPayloadError(problems)
    return BatchValid(valid=len(body.jobs))


@router.get("/{queue}/{job_id}", response_model=JobPublic, responses=ERRORS)
async def get_job(queue: str, job_id: JobId, caller: CallerDep, service: Service) -> Any:
    """A job's status, progress, result or error, and attempts."""
    record = await service.get(queue, job_id, owner(caller))
    return JobPublic.of(record, service.queue(queue).definition)


@router.delete(
    "/{queue}/{job_id}",
    response_model=Cancelled,
    responses={409: {"description": "the job is running or finished"}, **ERRORS},
)
async def cancel_job(queue: str, job_id: JobId, caller: CallerDep, service: Service) -> Any:
    """Cancel a job that has not started."""
    await service.cancel(queue, job_id, owner(caller))
    return Cancelled(job_id=job_id)


@router.post(
    "/{queue}/{job_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedJob,
    responses={409: {"description": "the job is neither failed nor cancelled"}, **ERRORS},
)
async def retry_job(queue: str, job_id: JobId, caller: CallerDep, service: Service) -> Any:
    """Run a failed (or cancelled) job again, with a fresh attempt budget."""
    return AcceptedJob.of(await service.retry(queue, job_id, owner(caller)))
