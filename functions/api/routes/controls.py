"""Operator controls on one job: read its log, change it before it starts."""

from __future__ import annotations

from typing import Annotated, Any

from corral.controls import JobChange, JobControls
from fastapi import APIRouter, Depends, HTTPException, Query, Request

from api import audit
from api.control_models import JobChangeRequest, JobLogs
from api.deps import CallerDep, JobId
from api.errors import answers
from api.models import JobPublic
from api.routes.jobs import ERRORS, owner

router = APIRouter(prefix="/jobs", tags=["jobs"])


def get_controls(request: Request) -> JobControls:
    return JobControls(request.app.state.service)


Controls = Annotated[JobControls, Depends(get_controls)]


@router.get("/{queue}/{job_id}/logs", response_model=JobLogs, responses=ERRORS)
async def job_logs(
    queue: str,
    job_id: JobId,
    caller: CallerDep,
    controls: Controls,
    cursor: Annotated[str | None, Query(max_length=12)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The lines the job's handler logged (``ctx.log``), oldest first."""
    if cursor is not None and not cursor.isdigit():
        raise HTTPException(422, "invalid cursor")
    start = int(cursor) if cursor else 0
    return JobLogs.of(await controls.logs(queue, job_id, owner(caller), start, limit))


@router.patch(
    "/{queue}/{job_id}",
    response_model=JobPublic,
    responses={
        **ERRORS,
        **answers(
            400,
            409,
            413,
            422,
            e409="the job has started or finished",
            e422="invalid data, priority or delay",
        ),
    },
)
async def change_job(
    queue: str, job_id: JobId, body: JobChangeRequest, caller: CallerDep, controls: Controls
) -> Any:
    """Change the data, priority or delay of a job that has not started."""
    change = JobChange(body.data, body.priority, body.delay)
    await controls.update(queue, job_id, owner(caller), change)
    record = await controls.service.get(queue, job_id, owner(caller))
    audit.job_action(caller, "change", queue, job_id, record.tenant)
    return JobPublic.of(record, stack=caller.admin)
