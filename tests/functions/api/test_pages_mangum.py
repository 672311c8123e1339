"""The pages as Lambda serves them (Mangum, HTTP API v2 events): ``/docs`` and its files
with no authorizer, and a dashboard sign-in link made behind a Lambda authorizer and
redeemed on the public route."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from tests.functions.api.test_api_mangum import LambdaRuntime, aws, event, lambda_handler

__all__ = ["aws", "lambda_handler"]  # fixtures, used by name


def request(method: str, path: str, body: Any = None, authorized: bool = True) -> dict[str, Any]:
    made = copy.deepcopy(event("api_get_job"))
    made["rawPath"] = made["requestContext"]["http"]["path"] = path
    made["requestContext"]["http"]["method"] = method
    made["pathParameters"] = {"proxy": path.lstrip("/")}
    if body is not None:
        made["body"] = json.dumps(body)
        made["headers"]["content-type"] = "application/json"
    if not authorized:  # a public route: no authorizer ran, no bearer header
        del made["requestContext"]["authorizer"]
        del made["headers"]["authorization"]
    return made


def body_of(reply: dict[str, Any]) -> bytes:
    raw = reply.get("body") or ""
    return base64.b64decode(raw) if reply.get("isBase64Encoded") else raw.encode()


def test_docs_and_its_files_need_no_authorizer(lambda_handler: LambdaRuntime) -> None:
    page = lambda_handler(request("GET", "/docs", authorized=False))
    assert page["statusCode"] == 200 and b"/docs/assets/swagger-ui-bundle.js" in body_of(page)
    script = lambda_handler(request("GET", "/docs/assets/swagger-ui-bundle.js", authorized=False))
    assert script["statusCode"] == 200 and len(body_of(script)) > 1_000_000


def test_a_sign_in_link_made_behind_the_authorizer_is_redeemed_once(
    lambda_handler: LambdaRuntime,
) -> None:
    made = lambda_handler(request("POST", "/dashboard/links"))
    assert made["statusCode"] == 201, made
    code = json.loads(body_of(made))["path"].split("=", 1)[1]
    redeem = request("POST", "/dashboard/session", {"code": code}, authorized=False)
    first = lambda_handler(redeem)
    assert first["statusCode"] == 200, first
    token = json.loads(body_of(first))["token"]
    assert token == "acme-key-checked-by-the-lambda-authorizer"
    assert lambda_handler(redeem)["statusCode"] == 401
