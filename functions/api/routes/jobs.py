"""``/jobs/{queue}``: enqueue, read, cancel and retry jobs (the caller's tenant only)."""

from __future__ import annotations

from typing import Any

from corral.intake import InvalidPayloadError
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from api import audit
from api.auth import Caller
from api.deps import CallerDep, JobId, QuotasDep, Service
from api.errors import answers
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
    """Whose jobs the caller may read and touch: its tenant's, or any for an admin
    (whose actions on another tenant's job are audited: ``api.audit``)."""
    return None if caller.admin else caller.tenant


ERRORS = answers(401, 404, 422, 503, e404="unknown queue or job")
ENQUEUE_ERRORS = {
    **ERRORS,
    **answers(
        400,
        403,
        409,
        413,
        422,
        429,
        e403="data.subAccountId names another tenant",
        e409="the chosen jobId belongs to another tenant",
        e422="invalid data or options, or a refused options.webhook URL",
        e429="over the tenant's enqueue rate or waiting-jobs quota",
    ),
}


@router.post(
    "/{queue}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedJob,
    responses={
        200: {"model": AcceptedJob, "description": "a duplicate: the existing job"},
        **ENQUEUE_ERRORS,
    },
)
async def enqueue(
    queue: str,
    body: EnqueueRequest,
    caller: CallerDep,
    service: Service,
    quotas: QuotasDep,
    request: Request,
) -> Any:
    """Enqueue a job; 202 once it is durable, 200 with the existing job for a duplicate."""
    await check_job_webhooks(request, [body.options])
    accepted = await service.enqueue(queue, body.data, body.options, caller.tenant, quotas)
    reply = AcceptedJob.of(accepted)
    if accepted.deduplicated:
        return JSONResponse(reply.model_dump(mode="json", by_alias=True), status_code=200)
    return reply


@router.post(
    "/{queue}/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchAccepted,
    responses=ENQUEUE_ERRORS,
)
async def enqueue_batch(
    queue: str,
    body: BatchRequest,
    caller: CallerDep,
    service: Service,
    quotas: QuotasDep,
    request: Request,
) -> Any:
    """Enqueue many jobs at once: all are validated before any is written."""
    await check_job_webhooks(request, [job.options for job in body.jobs])
    jobs = [(job.data, job.options) for job in body.jobs]
    accepted = await service.enqueue_many(queue, jobs, caller.tenant, quotas)
    return BatchAccepted(jobs=[AcceptedJob.of(a) for a in accepted])


@router.post(
    "/{queue}/validate",
    response_model=BatchValid,
    responses={
        **ERRORS,
        **answers(
            400,
            403,
            413,
            422,
            e403="data.subAccountId names another tenant",
            e422="every invalid job's field errors, located by its index",
        ),
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
    return JobPublic.of(record, service.queue(queue).definition, stack=caller.admin)


@router.delete(
    "/{queue}/{job_id}",
    response_model=Cancelled,
    responses={**ERRORS, **answers(409, e409="the job is running or finished")},
)
async def cancel_job(queue: str, job_id: JobId, caller: CallerDep, service: Service) -> Any:
    """Cancel a job that has not started."""
    record = await service.cancel(queue, job_id, owner(caller))
    audit.job_action(caller, "cancel", queue, job_id, record.tenant)
    return Cancelled(job_id=job_id)


@router.post(
    "/{queue}/{job_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedJob,
    responses={**ERRORS, **answers(409, e409="the job is neither failed nor cancelled")},
)
async def retry_job(queue: str, job_id: JobId, caller: CallerDep, service: Service) -> Any:
    """Run a failed (or cancelled) job again, with a fresh attempt budget."""
    record = await service.retry(queue, job_id, owner(caller))
    audit.job_action(caller, "retry", queue, job_id, record.tenant)
    return AcceptedJob(job_id=job_id, queue=queue, status=record.status)
