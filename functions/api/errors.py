"""Every error is JSON: ``{"error": code, "message": text, "details"?: [...]}``.

Bad input is never a 500: validation is 422, unknown things 404, wrong states 409, a
tenant over a quota 429 (with ``Retry-After``), and an unreachable Redis, DynamoDB or SQS
is a 503 that says which.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from corral.errors import (
    InvalidIdentifierError,
    JobNotFoundError,
    JobStateError,
    QuotaExceededError,
    UnknownQueueError,
)
from corral.flows.intake import FlowTooLargeError
from corral.guards import REDIS_DOWN, ServiceUnavailableError
from corral.intake import InvalidPayloadError, JobIdTakenError, TenantMismatchError
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

logger = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "quota_exceeded",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str = Field(description="a code: not_found, validation_error, quota_exceeded, ...")
    message: str
    details: list[dict[str, Any]] | None = Field(
        default=None, description="per field: loc, msg, type (validation errors)"
    )


DESCRIPTIONS = {
    400: "the body cannot be read (not JSON, or not the declared content type)",
    401: "no or invalid token",
    403: "the operation needs another scope or tenant",
    404: "not found",
    409: "the request conflicts with the current state",
    413: "the body is too large",
    422: "invalid input",
    429: "over a tenant quota; retry after Retry-After seconds",
    503: "Redis, DynamoDB or SQS is unreachable; retry after Retry-After seconds",
}
RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}},
}


def answers(*codes: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error answers: each code with the error body, its
    description (``described["e404"]`` overrides one) and, where one is sent, Retry-After."""
    declared: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {
            "model": ErrorBody,
            "description": described.get(f"e{code}", DESCRIPTIONS[code]),
        }
        if code in (429, 503):
            entry["headers"] = RETRY_AFTER
        declared[code] = entry
    return declared


MAPPED: list[tuple[type[Exception], int]] = [
    (UnknownQueueError, 404),
    (JobNotFoundError, 404),
    (JobStateError, 409),
    (JobIdTakenError, 409),
    (TenantMismatchError, 403),
    (InvalidIdentifierError, 422),
    (FlowTooLargeError, 422),
]


def error_response(
    status: int, message: str, details: Any = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"error": CODES.get(status, "error"), "message": message}
    if details is not None:
        body["details"] = jsonable_encoder(details)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def field_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's errors without the echoed input or URLs: location, message, type."""
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError | InvalidPayloadError)
    errors = exc.errors() if isinstance(exc, RequestValidationError) else exc.errors
    return error_response(422, "the request is invalid", field_errors(errors))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if isinstance(exc.detail, list):
        return error_response(exc.status_code, "the request is invalid", exc.detail, exc.headers)
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def _mapped(request: Request, exc: Exception) -> JSONResponse:
    status = next(code for kind, code in MAPPED if isinstance(exc, kind))
    return error_response(status, str(exc))


async def _quota(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QuotaExceededError)
    return error_response(429, str(exc), headers={"Retry-After": str(exc.retry_after_s)})


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, ServiceUnavailableError):
        message = str(exc)
    else:
        message = f"Redis is unreachable: {exc}"
    logger.warning("unavailable: %s", message)
    return error_response(503, message, headers={"Retry-After": "1"})


async def _aws_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """An AWS call no route guarded itself (``corral.guards.aws`` does, with the service's
    name): still a 503, naming the error code but not AWS's own message."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code") or "error")
        operation = exc.operation_name
    else:
        code, operation = type(exc).__name__, "a call"
    logger.warning("AWS %s failed on %s %s: %s", operation, request.method, request.url.path, code)
    message = f"an AWS service did not answer {operation} ({code}); try again"
    return error_response(503, message, headers={"Retry-After": "1"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"error": "internal_error", "message": "an unexpected error occurred"}, status_code=500
    )


def install(app: FastAPI) -> None:
    """Register the JSON error handlers."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(InvalidPayloadError, _validation)
    app.add_exception_handler(HTTPException, _http)
    for kind, _ in MAPPED:
        app.add_exception_handler(kind, _mapped)
    app.add_exception_handler(QuotaExceededError, _quota)
    app.add_exception_handler(ServiceUnavailableError, _unavailable)
    for kind in REDIS_DOWN:
        app.add_exception_handler(kind, _unavailable)
    for kind in (BotoCoreError, ClientError):
        app.add_exception_handler(kind, _aws_unavailable)
    app.add_exception_handler(Exception, _unexpected)
