"""``/health``: whether Redis, DynamoDB and SQS answer (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Service
from api.models import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(service: Service) -> Any:
    checks = await service.health()
    if all(checks.values()):
        return Health(status="ok", checks=checks)
    body = Health(status="unavailable", checks=checks).model_dump(by_alias=True)
    return JSONResponse(body, status_code=503)
