"""The web dashboard: one static page that calls this API with the user's token, and the
one-time sign-in links that open it for automation (``api.signin``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

from corral.guards import redis_guard
from corral.job import CamelModel
from corral.queue import MinuteCount, now_ms
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import Field

from api.deps import CallerDep, Service, optional_part
from api.errors import answers
from api.signin import DEFAULT_TTL_S, MAX_TTL_S, SignInError, SignInLinks

router = APIRouter(tags=["dashboard"])

get_links = optional_part("sign_in", "sign-in links", "Redis")
Links = Annotated[SignInLinks, Depends(get_links)]

PAGE = Path(__file__).resolve().parent.parent / "static" / "dashboard.html"


@cache
def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


class Me(CamelModel):
    tenant: str
    admin: bool


class MinutePublic(MinuteCount):
    pass  # the engine's count as the API names it


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
        minutes=[MinutePublic(**dict(m)) for m in minutes],
    )


class LinkRequest(CamelModel):
    ttl: int = Field(default=DEFAULT_TTL_S, ge=1, le=MAX_TTL_S, description="seconds it works")


class SignInLink(CamelModel):
    path: str = Field(description="the dashboard's path with the one-time code in its fragment")
    expires_at: int


class SessionRequest(CamelModel):
    code: str = Field(max_length=128)


class Session(CamelModel):
    token: str = Field(description="the bearer token the page signs in with")


@router.post(
    "/dashboard/links",
    status_code=201,
    response_model=SignInLink,
    responses=answers(
        400, 401, 404, 413, 422, 503, e404="sign-in links are not enabled", e422="invalid ttl"
    ),
)
async def create_sign_in_link(
    request: Request, caller: CallerDep, links: Links, body: LinkRequest | None = None
) -> SignInLink:
    """A one-time link that opens the dashboard signed in as the caller (``corral dashboard``)."""
    ttl = (body or LinkRequest()).ttl
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(422, "a sign-in link hands over the caller's bearer token: send one")
    try:
        with redis_guard():
            code = await links.create(token.strip(), ttl)
    except SignInError as exc:
        raise HTTPException(422, str(exc)) from None
    return SignInLink(path=f"/dashboard#signin={code}", expires_at=now_ms() + ttl * 1000)


@router.post(
    "/dashboard/session",
    response_model=Session,
    responses=answers(
        400,
        401,
        404,
        413,
        422,
        503,
        e401="the code is unknown, expired or already used",
        e404="sign-in links are not enabled",
    ),
)
async def open_session(body: SessionRequest, links: Links, response: Response) -> Session:
    """Redeem a sign-in link's code (once) for the token the page signs in with."""
    response.headers["Cache-Control"] = "no-store"
    try:
        with redis_guard():
            token = await links.redeem(body.code)
    except SignInError as exc:
        raise HTTPException(401, str(exc)) from None
    return Session(token=token)
