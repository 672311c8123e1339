"""``Annotated`` dependencies the routes share; tests swap them with ``dependency_overrides``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from corral.keys import valid_identifier
from corral.quotas import Quotas
from corral.service import JobService
from fastapi import Depends, HTTPException, Query, Request

from api.auth import Authenticator, Caller


def get_service(request: Request) -> JobService:
    """The app's job service."""
    service: JobService = request.app.state.service
    return service


def get_authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


def get_quotas(request: Request) -> Quotas:
    """The tenants' quotas (``corral.quotas``)."""
    quotas: Quotas = request.app.state.quotas
    return quotas


def get_caller(
    request: Request, authenticator: Annotated[Authenticator, Depends(get_authenticator)]
) -> Caller:
    """The authenticated caller, or a 401."""
    event: Any = request.scope.get("aws.event")
    caller = authenticator.authenticate(request.headers.get("authorization"), event)
    if caller is None:
        raise HTTPException(401, "a valid bearer token is required", {"WWW-Authenticate": "Bearer"})
    return caller


def get_admin(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """The caller, if it has the admin scope; otherwise a 403."""
    if not caller.admin:
        raise HTTPException(403, "this operation needs the admin scope")
    return caller


def get_tenant_scope(
    caller: Annotated[Caller, Depends(get_caller)],
    tenant: Annotated[
        str | None,
        Query(max_length=128, description="admin only: another tenant's (default: the caller's)"),
    ] = None,
) -> str:
    """Whose things a call reads: the caller's tenant, or any ``?tenant=`` for an admin."""
    if tenant is None or tenant == caller.tenant:
        return caller.tenant
    if not caller.admin:
        raise HTTPException(403, "only an admin may name another tenant")
    if not valid_identifier(tenant):
        raise HTTPException(422, "invalid tenant")
    return tenant


def optional_part(attribute: str, name: str, needs: str) -> Callable[[Request], Any]:
    """A dependency on an optional part of the app (``app.state.<attribute>``).

    When the deployment leaves it off, its routes answer 404, as if they did not exist:
    a missing feature is not a server fault.
    """

    def get(request: Request) -> Any:
        part = getattr(request.app.state, attribute, None)
        if part is None:
            raise HTTPException(404, f"{name} are not enabled: they need {needs}")
        return part

    return get


def job_id(job_id: str) -> str:
    """The path's job id; one that cannot exist is simply not found."""
    if not valid_identifier(job_id):
        raise HTTPException(404, f"job {job_id} not found")
    return job_id


Service = Annotated[JobService, Depends(get_service)]
CallerDep = Annotated[Caller, Depends(get_caller)]
Admin = Annotated[Caller, Depends(get_admin)]
TenantScope = Annotated[str, Depends(get_tenant_scope)]
JobId = Annotated[str, Depends(job_id)]
QuotasDep = Annotated[Quotas, Depends(get_quotas)]
