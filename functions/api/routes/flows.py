"""``/flows``: a parent job that runs after its children, with their results."""

from __future__ import annotations

from typing import Any

from corral.flows.service import FlowService
from fastapi import APIRouter, Request, status

from api.deps import CallerDep, Service
from api.models import FlowAccepted, FlowRequest
from api.routes.webhooks import check_job_webhooks

router = APIRouter(prefix="/flows", tags=["flows"])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=FlowAccepted,
    responses={
        401: {"description": "no or invalid token"},
        403: {"description": "a job's data.subAccountId names another tenant"},
        404: {"description": "a job names an unknown queue"},
        409: {"description": "a chosen jobId is already taken"},
        413: {"description": "the body is too large"},
        422: {"description": "a job is invalid, or the flow is over 10 levels or 1,000 jobs"},
    },
)
async def add_flow(body: FlowRequest, caller: CallerDep, service: Service, request: Request) -> Any:
    """Add a flow: every job is validated first, and if any is refused nothing is written.
    A parent waits (``waiting-children``) until its children are done, then runs with
    their results."""
    root = body.node()
    await check_job_webhooks(request, [node.options for node in _nodes(body)])
    accepted = await FlowService(service).add(root, caller.tenant)
    return FlowAccepted.of(accepted)


def _nodes(body: FlowRequest) -> list[FlowRequest]:
    return [body, *(n for child in body.children for n in _nodes(child))]
