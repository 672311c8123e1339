"""``/queues``: counts, listings, and the admin operations (pause, resume, clean, redrive)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from corral.controls import JobControls
from corral.job import CLEANED_STATES, StatusWord, status_named
from corral.key_groups import KeyGroupLimits
from corral.limits import LimitsChange
from corral.service import JobService
from fastapi import APIRouter, Body, HTTPException, Query

from api import audit
from api.control_models import KeyGroupList, KeyGroupPublic, QueueLimits, QueueSettings
from api.deps import Admin, CallerDep, Service
from api.errors import answers
from api.models import (
    Cleaned,
    CleanRequest,
    JobPage,
    JobPublic,
    Paused,
    QueueList,
    QueuePublic,
    Redriven,
    RedriveRequest,
)

router = APIRouter(prefix="/queues", tags=["queues"])

CURSOR = re.compile(r"^\d{13}#[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
ERRORS = answers(401, 404, 422, 503, e404="unknown queue")
ADMIN_ERRORS = {**ERRORS, **answers(400, 403, 413, e403="the token is not admin")}


async def _queue(service: JobService, name: str) -> QueuePublic:
    settings = QueueSettings.of(await JobControls(service).limits(name))
    return QueuePublic.of(await service.stats(name), settings)


@router.get("", response_model=QueueList, responses=answers(401, 503))
async def list_queues(caller: CallerDep, service: Service) -> Any:
    """Every queue with its counts and the limits in force."""
    return QueueList(queues=[await _queue(service, name) for name in service.queues])


@router.get("/{queue}", response_model=QueuePublic, responses=ERRORS)
async def get_queue(queue: str, caller: CallerDep, service: Service) -> Any:
    """One queue's counts and the limits in force (``settings``)."""
    return await _queue(service, queue)


@router.patch(
    "/{queue}",
    response_model=QueueLimits,
    responses={
        **ADMIN_ERRORS,
        **answers(
            409, 422, e409="another change landed meanwhile; try again", e422="an invalid limit"
        ),
    },
)
async def change_limits(queue: str, body: LimitsChange, admin: Admin, service: Service) -> Any:
    """Set concurrency, rateLimit or groupConcurrency at runtime (null: back to deployed).

    In force at the next claim of every poller; the change is kept in the job table and
    audit-logged (who, old, new).
    """
    limits = await JobControls(service).change_limits(queue, body, f"tenant {admin.tenant}")
    return QueueLimits(queue=queue, settings=QueueSettings.of(limits))


@router.get("/{queue}/groups", response_model=KeyGroupList, responses=ADMIN_ERRORS)
async def list_key_groups(
    queue: str,
    admin: Admin,
    service: Service,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """The queue's key groups (``options.group``): limits, jobs running and waiting."""
    total, groups = await JobControls(service).key_groups(queue, limit)
    return KeyGroupList(groups=[KeyGroupPublic.model_validate(g) for g in groups], total=total)


@router.get("/{queue}/groups/{group}", response_model=KeyGroupPublic, responses=ADMIN_ERRORS)
async def get_key_group(queue: str, group: str, admin: Admin, service: Service) -> Any:
    """A key group's limits in force (jobs sharing ``options.group.id``; not the tenant)."""
    return await JobControls(service).key_group(queue, group)


@router.put(
    "/{queue}/groups/{group}",
    response_model=KeyGroupPublic,
    responses={
        **ADMIN_ERRORS,
        **answers(
            409,
            422,
            e409="another change landed meanwhile; try again",
            e422="an invalid group id or limit",
        ),
    },
)
async def set_key_group(
    queue: str, group: str, body: KeyGroupLimits, admin: Admin, service: Service
) -> Any:
    """Set a key group's concurrency and rateLimit at runtime; they win over the jobs'
    ``options.group``. Left out or null: the jobs' own apply again; 0: no limit.

    In force at the next claim of every poller; kept in the job table and audit-logged.
    """
    controls = JobControls(service)
    change = await controls.set_key_group(queue, group, body, f"tenant {admin.tenant}")
    audit.key_group_limits(admin, queue, group, change.old, change.new)
    return change.in_force


@router.get("/{queue}/jobs", response_model=JobPage, responses=ERRORS)
async def list_jobs(
    queue: str,
    caller: CallerDep,
    service: Service,
    status: Annotated[
        StatusWord | None,
        Query(description="a job status; aliases: waiting and delayed (pending), active"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=150)] = None,
) -> Any:
    """Jobs newest first: the caller's, or every tenant's for an admin."""
    if cursor is not None and not CURSOR.fullmatch(cursor):
        raise HTTPException(422, "invalid cursor")
    page = await service.list_jobs(
        queue,
        tenant=None if caller.admin else caller.tenant,
        status=status_named(status) if status else None,
        limit=limit,
        cursor=cursor,
    )
    definition = service.queue(queue).definition
    jobs = [JobPublic.of(r, definition, stack=caller.admin) for r in page.records]
    return JobPage(jobs=jobs, next_cursor=page.next_cursor)


@router.post("/{queue}/pause", response_model=Paused, responses=ADMIN_ERRORS)
async def pause(queue: str, admin: Admin, service: Service) -> Any:
    """Stop starting jobs (running ones finish)."""
    await service.pause(queue, True)
    audit.queue_action(admin, "pause", queue)
    return Paused(queue=queue, paused=True)


@router.post("/{queue}/resume", response_model=Paused, responses=ADMIN_ERRORS)
async def resume(queue: str, admin: Admin, service: Service) -> Any:
    await service.pause(queue, False)
    audit.queue_action(admin, "resume", queue)
    return Paused(queue=queue, paused=False)


@router.post("/{queue}/clean", response_model=Cleaned, responses=ADMIN_ERRORS)
async def clean(
    queue: str, admin: Admin, service: Service, body: Annotated[CleanRequest | None, Body()] = None
) -> Any:
    """Remove old finished jobs (counts and lists alike), or cancel old pending ones."""
    body = body or CleanRequest()
    removed = await service.clean(queue, CLEANED_STATES[body.status], body.grace, body.limit)
    audit.queue_action(admin, "clean", queue, f"{len(removed)} {body.status} jobs of any tenant")
    return Cleaned(queue=queue, removed=removed)


@router.post("/{queue}/redrive", response_model=Redriven, responses=ADMIN_ERRORS)
async def redrive(
    queue: str,
    admin: Admin,
    service: Service,
    body: Annotated[RedriveRequest | None, Body()] = None,
) -> Any:
    """Move the queue's dead letters back, with a fresh attempt budget."""
    report = await service.redrive(queue, (body or RedriveRequest()).limit)
    for job_id in report.moved:
        audit.job_action(admin, "redrive", queue, job_id, report.owners.get(job_id, "?"))
    return Redriven(
        queue=queue,
        moved=report.moved,
        failed=report.failed,
        skipped=report.skipped,
        more=report.more,
    )
