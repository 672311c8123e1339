"""The web dashboard: one static page that calls this API with the user's token."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from corral.guards import redis_guard
from corral.job import CamelModel
from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import CallerDep, Service
from api.errors import answers

router = APIRouter(tags=["dashboard"])

PAGE = Path(__file__).resolve().parent.parent / "static" / "dashboard.html"


@cache
def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


class Me(CamelModel):
    tenant: str
    admin: bool


class MinutePublic(CamelModel):
    minute: int
    completed: int
    failed: int


class Throughput(CamelModel):
    queue: str
    minutes: list[MinutePublic]


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard() -> HTMLResponse:
    """The dashboard page (it asks for a token and keeps it for the browser session)."""
    return HTMLResponse(_page(), headers={"Cache-Control": "no-cache"})


@router.get("/me", response_model=Me, responses=answers(401))
def me(caller: CallerDep) -> Me:
    """Who the token belongs to, so clients show admin actions only to admins."""
    return Me(tenant=caller.tenant, admin=caller.admin)


@router.get(
    "/queues/{queue}/throughput",
    response_model=Throughput,
    responses=answers(401, 404, 422, 503, e404="unknown queue"),
)
async def throughput(queue: str, service: Service, caller: CallerDep) -> Throughput:
    """Completed and failed jobs per minute over the last hour, oldest first."""
    with redis_guard():
        minutes = await service.queue(queue).throughput(60)
    return Throughput(
        queue=queue,
        minutes=[
            MinutePublic(minute=m.minute, completed=m.completed, failed=m.failed) for m in minutes
        ],
    )
