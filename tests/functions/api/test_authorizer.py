"""The API-key authorizer, against SSM and Secrets Manager in moto."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from api.auth import Authenticator
from authorizer import app
from corral.settings import get_settings
from moto import mock_aws

KEYS = "k-alpha:alpha,k-root:ops:admin"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield
    app._cache.clear()
    get_settings.cache_clear()


def event(authorization: str | None) -> dict[str, Any]:
    headers = {} if authorization is None else {"Authorization": authorization}
    return {"version": "2.0", "type": "REQUEST", "headers": headers}


def use_source(monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    monkeypatch.setenv("CORRAL_API_KEYS_SOURCE", source)
    get_settings.cache_clear()
    app._cache.clear()


def test_keys_in_ssm_authorize_with_tenant_and_admin(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("ssm").put_parameter(Name="/corral/keys", Value=KEYS, Type="SecureString")
    use_source(monkeypatch, "/corral/keys")
    alpha = "sha256:" + hashlib.sha256(b"k-alpha").hexdigest()[:12]
    assert app.handler(event("Bearer k-alpha"), None) == {
        "isAuthorized": True,
        "context": {"tenant": "alpha", "admin": "false", "principalId": alpha},
    }
    root = "sha256:" + hashlib.sha256(b"k-root").hexdigest()[:12]
    assert app.handler(event("Bearer k-root"), None)["context"] == {
        "tenant": "ops",
        "admin": "true",
        "principalId": root,  # a digest prefix for audit lines, never the key
    }


def test_keys_in_secrets_manager(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = boto3.client("secretsmanager").create_secret(Name="corral-keys", SecretString=KEYS)["ARN"]
    use_source(monkeypatch, arn)
    assert app.handler(event("bearer k-alpha"), None)["isAuthorized"] is True


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic k-alpha", "Bearer "])
def test_anything_else_is_refused(
    aws: None, monkeypatch: pytest.MonkeyPatch, authorization: str | None
) -> None:
    boto3.client("ssm").put_parameter(Name="/corral/keys", Value=KEYS, Type="SecureString")
    use_source(monkeypatch, "/corral/keys")
    assert app.handler(event(authorization), None) == {"isAuthorized": False}


def test_the_api_reads_the_context_as_the_caller() -> None:
    context = {"tenant": "ops", "admin": "true"}
    caller = Authenticator().from_event({"requestContext": {"authorizer": {"lambda": context}}})
    assert caller is not None and caller.tenant == "ops" and caller.admin


def test_keys_are_reread_after_the_refresh_interval(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/corral/keys", Value=KEYS, Type="SecureString")
    use_source(monkeypatch, "/corral/keys")
    first = app.authenticator(now=1000.0)
    ssm.put_parameter(Name="/corral/keys", Value="k-new:beta", Type="SecureString", Overwrite=True)
    assert app.authenticator(now=1000.0 + app.REFRESH_S / 2) is first
    assert app.authenticator(now=1000.0 + app.REFRESH_S + 1).knows("k-new")
