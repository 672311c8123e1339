"""``/jobs/{queue}``: enqueue, read, cancel and retry jobs (the caller's tenant only)."""

from __future__ import annotations

from typing import Any

from corral.controls import JobControls
from corral.flows.intake import FlowNode
from corral.flows.service import FlowService
from corral.intake import Accepted, InvalidPayloadError, Rejected, raise_rejection
from corral.service import JobService
from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api import audit
from api.auth import Caller
from api.control_models import Cancelling
from api.deps import CallerDep, JobId, QuotasDep, Service
from api.errors import answers
from api.models import (
    AcceptedJob,
    BatchAccepted,
    BatchItem,
    BatchRequest,
    BatchValid,
    Cancelled,
    EnqueueRequest,
    FlowChild,
    FlowParent,
    JobPublic,
)
from api.routes.webhooks import check_job_webhooks

router = APIRouter(prefix="/jobs", tags=["jobs"])


def owner(caller: Caller) -> str | None:
    """Whose jobs the caller may read and touch: its tenant's, or any for an admin
    (whose actions on another tenant's job are audited: ``api.audit``)."""
    return None if caller.admin else caller.tenant


async def owner_of(service: JobService, caller: Caller, queue: str, job_id: str) -> str:
    """Whose job an admin is about to act on (for its audit line); a tenant's own."""
    if not caller.admin:
        return caller.tenant
    return (await service.record(queue, job_id, None)).tenant


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


BATCH_STATUS = status.HTTP_207_MULTI_STATUS
"""Some items accepted, some rejected. 207 rather than 202 so that a client that only looks
at the status code cannot take a partly rejected batch for a fully accepted one; the body
has one answer per item, in order, so ``jobs[i]`` still answers item ``i``. A batch with
every item accepted keeps 202, and one with none accepted is a 422 (nothing was written)."""


@router.post(
    "/{queue}/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchAccepted,
    responses={
        207: {"model": BatchAccepted, "description": "some items accepted, some rejected"},
        **ENQUEUE_ERRORS,
        **answers(
            403,
            409,
            422,
            e403="an atomic batch names another tenant in data.subAccountId",
            e409="an atomic batch uses a jobId of another tenant",
            e422="no item is valid, or any item of an atomic batch is invalid",
        ),
    },
)
async def enqueue_batch(
    queue: str,
    body: BatchRequest,
    caller: CallerDep,
    service: Service,
    quotas: QuotasDep,
    request: Request,
) -> Any:
    """Enqueue many jobs, each accepted or rejected on its own (``atomic``: all or none).
    With ``onComplete``, a completion job runs once they all completed, with their results
    (a flow: then any bad item rejects the batch)."""
    if body.on_complete is not None:
        return await _batch_with_completion(request, queue, body, caller.tenant, service)
    service.queue(queue)  # an unknown queue is a 404 before any item is judged
    answers: dict[int, Accepted | Rejected] = {}
    good: list[tuple[int, EnqueueRequest]] = []
    for index, raw in enumerate(body.jobs):
        item = await _judge(request, index, raw, body.atomic)
        if isinstance(item, Rejected):
            answers[index] = item
        else:
            good.append((index, item))
    rejected = [a for a in answers.values() if isinstance(a, Rejected)]
    if body.atomic and rejected:
        raise_rejection(rejected)
    if good:
        jobs = [(job.data, job.options) for _, job in good]
        positions = [index for index, _ in good]
        taken = await service.enqueue_batch(
            queue, jobs, caller.tenant, atomic=body.atomic, positions=positions, quotas=quotas
        )
        answers.update(zip(positions, taken, strict=True))
    reply = BatchAccepted(
        jobs=[BatchItem.of(i, queue, answers[i]) for i in range(len(body.jobs))],
        accepted=sum(isinstance(a, Accepted) for a in answers.values()),
        rejected=sum(isinstance(a, Rejected) for a in answers.values()),
    )
    if reply.accepted == 0:
        raise_rejection([a for a in answers.values() if isinstance(a, Rejected)])
    if reply.rejected:
        return JSONResponse(reply.model_dump(mode="json", by_alias=True), status_code=BATCH_STATUS)
    return reply


async def _judge(
    request: Request, index: int, raw: dict[str, Any], atomic: bool
) -> EnqueueRequest | Rejected:
    """One batch item parsed on its own, its webhook checked; or why it is rejected.

    In an atomic batch a refused webhook is the whole answer, as for a single enqueue.
    """
    try:
        item = EnqueueRequest.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        located = [{**e, "loc": ["body", "jobs", index, *e["loc"]]} for e in errors]
        return Rejected(index, located)
    try:
        await check_job_webhooks(request, [item.options])
    except HTTPException as exc:
        if atomic:
            raise
        loc = ["body", "jobs", index, "options", "webhook", "url"]
        return Rejected(index, [{"loc": loc, "msg": str(exc.detail), "type": "refused"}])
    return item


async def _batch_with_completion(
    request: Request, queue: str, body: BatchRequest, tenant: str, service: JobService
) -> BatchAccepted:
    """A batch with ``onComplete``: a flow whose parent is the completion job."""
    done = body.on_complete
    assert done is not None
    items: list[EnqueueRequest] = []
    for index, raw in enumerate(body.jobs):
        item = await _judge(request, index, raw, atomic=True)
        if isinstance(item, Rejected):
            raise InvalidPayloadError(list(item.errors))
        items.append(item)
    children = [FlowNode(queue, item.data, item.options) for item in items]
    tree = await FlowService(service).add(
        FlowNode(done.queue, done.data, done.options, children=children), tenant
    )
    return BatchAccepted(
        jobs=[
            BatchItem(index=i, job_id=c.job_id, queue=c.queue, status=c.status.value)
            for i, c in enumerate(tree.children)
        ],
        accepted=len(tree.children),
        rejected=0,
        on_complete=AcceptedJob(job_id=tree.job_id, queue=tree.queue, status=tree.status),
    )


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
    service.queue(queue)
    found: list[dict[str, Any]] = []
    datas: list[Any] = []
    positions: list[int] = []
    for index, raw in enumerate(body.jobs):
        item = await _judge(request, index, raw, atomic=True)
        if isinstance(item, Rejected):
            found.extend(item.errors)
        else:
            datas.append(item.data)
            positions.append(index)
    found += service.problems(queue, datas, caller.tenant, positions)
    if found:
        raise InvalidPayloadError(found)
    return BatchValid(valid=len(body.jobs))


@router.get("/{queue}/{job_id}", response_model=JobPublic, responses=ERRORS)
async def get_job(queue: str, job_id: JobId, caller: CallerDep, service: Service) -> Any:
    """A job's status, progress, result or error, and attempts."""
    record = await service.get(queue, job_id, owner(caller))
    public = JobPublic.of(record, service.queue(queue).definition, stack=caller.admin)
    flow = await FlowService(service).view(record)
    if flow is None:
        return public
    # A flow's node: its links, and once its children are done what they left.
    return public.model_copy(
        update={
            "parent": flow.parent and FlowParent.model_validate(flow.parent),
            "children": [
                FlowChild(job_id=c.job_id, queue=c.queue, status=c.status) for c in flow.children
            ]
            if flow.children
            else None,
            "children_results": flow.results,
            "children_failures": flow.failures,
        }
    )


@router.delete(
    "/{queue}/{job_id}",
    response_model=Cancelled,
    responses={
        202: {"model": Cancelling, "description": "a running job was asked to stop"},
        **ERRORS,
        **answers(409, e409="the job already finished"),
    },
)
async def cancel_job(queue: str, job_id: JobId, caller: CallerDep, service: Service) -> Any:
    """Cancel a job: one that has not started at once, a running one as it stops (202); a
    flow's parent takes its unfinished children with it."""
    whose = await owner_of(service, caller, queue, job_id)
    answer = await FlowService(service).cancel(
        queue, job_id, owner(caller), JobControls(service).cancel
    )
    audit.job_action(caller, "cancel", queue, job_id, whose)
    if answer == "cancelling":
        body = Cancelling(job_id=job_id).model_dump(mode="json", by_alias=True)
        return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED)
    return Cancelled(job_id=job_id)


@router.post(
    "/{queue}/{job_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedJob,
    responses={**ERRORS, **answers(409, e409="the job is neither failed nor cancelled")},
)
async def retry_job(queue: str, job_id: JobId, caller: CallerDep, service: Service) -> Any:
    """Run a failed (or cancelled) job again, with a fresh attempt budget; a flow's parent
    that failed because of it waits for it again."""
    record = await FlowService(service).retry(queue, job_id, owner(caller))
    audit.job_action(caller, "retry", queue, job_id, record.tenant)
    return AcceptedJob(job_id=job_id, queue=queue, status=record.status)


@router.post(
    "/{queue}/{job_id}/promote",
    response_model=AcceptedJob,
    responses={**ERRORS, **answers(409, e409="the job is not delayed")},
)
async def promote_job(queue: str, job_id: JobId, caller: CallerDep, service: Service) -> Any:
    """Make a delayed job (or one waiting out a retry's backoff) due now, and start it."""
    record = await service.promote(queue, job_id, owner(caller))
    audit.job_action(caller, "promote", queue, job_id, record.tenant)
    return AcceptedJob(job_id=job_id, queue=queue, status=record.status)
