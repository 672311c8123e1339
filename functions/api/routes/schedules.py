"""``/schedules``: a tenant's repeatable jobs (create, list, read, pause, resume, delete).

The app supplies the caller's tenant and the schedule service by overriding
``get_tenant`` and ``get_schedule_service`` (``app.dependency_overrides``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from corral.errors import UnknownQueueError
from corral.job import CamelModel
from corral.keys import valid_identifier
from corral.schedules import (
    Schedule,
    ScheduleConflictError,
    ScheduleCreate,
    ScheduleExistsError,
    ScheduleNotFoundError,
    ScheduleService,
    ScheduleSpec,
    TenantMismatchError,
)
from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import Field, ValidationError

from api.errors import answers

UNPROCESSABLE = 422  # starlette renamed its constant; the number is the contract


def get_tenant() -> str:
    """The caller's tenant; the app overrides this with its authentication."""
    raise NotImplementedError("the app must override get_tenant")


def get_schedule_service() -> ScheduleService:
    """The schedule service; the app overrides this with the one it builds."""
    raise NotImplementedError("the app must override get_schedule_service")


def schedule_id(schedule_id: str) -> str:
    """The path's schedule id, if it can be one."""
    if not valid_identifier(schedule_id):
        raise HTTPException(UNPROCESSABLE, "invalid schedule id")
    return schedule_id


Tenant = Annotated[str, Depends(get_tenant)]
Service = Annotated[ScheduleService, Depends(get_schedule_service)]
ScheduleId = Annotated[str, Depends(schedule_id)]


class SchedulePublic(ScheduleSpec):
    """A schedule as the API shows it."""

    id: str
    paused: bool
    next_run: int | None = Field(description="ms of the next occurrence not yet enqueued")
    count: int = Field(description="occurrences enqueued so far")
    source: str
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, schedule: Schedule) -> SchedulePublic:
        return cls.model_validate(schedule.model_dump(exclude={"tenant", "version", "generation"}))


class SchedulePage(CamelModel):
    schedules: list[SchedulePublic]
    next_cursor: str | None = None


class Deleted(CamelModel):
    id: str
    deleted: bool = True


@contextmanager
def http_errors() -> Iterator[None]:
    """Map the service's errors to HTTP answers."""
    try:
        yield
    except (ScheduleNotFoundError, UnknownQueueError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except (ScheduleExistsError, ScheduleConflictError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except TenantMismatchError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except ValidationError as exc:
        detail: Any = [{**e, "loc": ["body", "data", *e["loc"]]} for e in _plain(exc)]
        raise HTTPException(UNPROCESSABLE, detail) from None


def _plain(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False)
    ]


router = APIRouter(
    prefix="/schedules",
    tags=["schedules"],
    responses=answers(401, 404, 422, 503, e404="no such schedule, or schedules are not enabled"),
)
CHANGE = answers(409, e409="the schedule changed meanwhile; try again")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SchedulePublic,
    responses=answers(
        400,
        403,
        409,
        413,
        429,
        e403="data.subAccountId names another tenant",
        e409="a schedule with this id exists",
        e429="the tenant has as many schedules as its quota allows",
    ),
)
async def create_schedule(body: ScheduleCreate, tenant: Tenant, service: Service) -> Any:
    """Create a schedule; what is due before the next scheduler tick is enqueued now."""
    with http_errors():
        return SchedulePublic.of(await service.create(tenant, body))


@router.get("", response_model=SchedulePage)
def list_schedules(
    tenant: Tenant,
    service: Service,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: str | None = None,
) -> Any:
    """The caller's schedules, by id, a page at a time."""
    if cursor is not None and not valid_identifier(cursor):
        raise HTTPException(UNPROCESSABLE, "invalid cursor")
    schedules, next_cursor = service.page(tenant, limit, cursor)
    return SchedulePage(
        schedules=[SchedulePublic.of(s) for s in schedules], next_cursor=next_cursor
    )


@router.get("/{schedule_id}", response_model=SchedulePublic)
def get_schedule(schedule_id: ScheduleId, tenant: Tenant, service: Service) -> Any:
    with http_errors():
        return SchedulePublic.of(service.get(tenant, schedule_id))


@router.post("/{schedule_id}/pause", response_model=SchedulePublic, responses=CHANGE)
async def pause_schedule(schedule_id: ScheduleId, tenant: Tenant, service: Service) -> Any:
    """Pause: nothing more is enqueued, and jobs waiting for their time are cancelled."""
    with http_errors():
        return SchedulePublic.of(await service.pause(tenant, schedule_id))


@router.post("/{schedule_id}/resume", response_model=SchedulePublic, responses=CHANGE)
async def resume_schedule(schedule_id: ScheduleId, tenant: Tenant, service: Service) -> Any:
    """Resume from now on; occurrences that fell during the pause do not run."""
    with http_errors():
        return SchedulePublic.of(await service.resume(tenant, schedule_id))


@router.delete("/{schedule_id}", response_model=Deleted)
async def delete_schedule(schedule_id: ScheduleId, tenant: Tenant, service: Service) -> Any:
    """Delete a schedule and cancel its jobs that have not started."""
    with http_errors():
        deleted = await service.delete(tenant, schedule_id)
    return Deleted(id=deleted.id)
