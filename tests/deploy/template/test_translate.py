"""The template translates as ``sam deploy`` would translate it, for both kinds of API auth."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.deploy.template.translated import needs_sam, translate

pytestmark = needs_sam


def authorizer_of(template: dict[str, Any]) -> dict[str, Any]:
    body = template["Resources"]["HttpApi"]["Properties"]["Body"]
    scheme: dict[str, Any] = body["components"]["securitySchemes"]["CorralAuthorizer"]
    authorizer: dict[str, Any] = scheme["x-amazon-apigateway-authorizer"]
    return authorizer


def functions_of(template: dict[str, Any]) -> set[str]:
    return {k for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}


def test_jwt_api_translates_with_a_jwt_authorizer() -> None:
    template = translate(JwtIssuer="https://issuer.example.com", JwtAudience="corral")
    assert authorizer_of(template)["type"] == "jwt"
    assert authorizer_of(template)["jwtConfiguration"]["issuer"] == "https://issuer.example.com"
    assert {"ApiFunction", "SchedulerFunction", "ReconcilerFunction"} <= functions_of(template)
    assert template["Resources"]["ApiKeyAuthorizerFunction"]["Condition"] == "UseApiKeys"


def test_api_key_auth_translates_with_the_lambda_authorizer() -> None:
    template = translate(ApiAuth="apikey", ApiKeysSource="/corral/keys")
    authorizer = authorizer_of(template)
    assert authorizer["type"] == "request"
    assert authorizer["enableSimpleResponses"] is True
    assert "ApiKeyAuthorizerFunction" in json.dumps(authorizer["authorizerUri"])


def test_every_poller_has_its_schedule_rule() -> None:
    template = translate(JwtIssuer="https://issuer.example.com")
    pollers = {name for name in functions_of(template) if name.startswith("Poller")}
    rules = {k for k, r in template["Resources"].items() if r["Type"] == "AWS::Events::Rule"}
    assert pollers and {f"{name}Tick" for name in pollers} <= rules


def xray_policy_attached(template: dict[str, Any], function: str) -> bool:
    role = template["Resources"][f"{function}Role"]["Properties"]
    return any("AWSXrayWriteOnlyAccess" in json.dumps(arn) for arn in role["ManagedPolicyArns"])


@pytest.mark.parametrize(("tracing", "disabled"), [("Active", "false"), ("PassThrough", "true")])
def test_tracing_parameter_sets_the_mode_the_policy_and_powertools(
    tracing: str, disabled: str
) -> None:
    template = translate(JwtIssuer="https://issuer.example.com", Tracing=tracing)
    api = template["Resources"]["ApiFunction"]["Properties"]
    assert api["TracingConfig"] == {"Mode": {"Ref": "Tracing"}}  # CloudFormation resolves it
    # SAM attaches the X-Ray write policy whenever Tracing is a parameter (it cannot know the
    # value at transform time); with PassThrough, nothing uses it.
    assert xray_policy_attached(template, "ApiFunction")
    variable = api["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"]
    conditions = template["Conditions"]
    # Fn::If on TracingActive: the value CloudFormation will pick for this parameter.
    condition, when_active, otherwise = variable["Fn::If"]
    assert condition == "TracingActive" and "TracingActive" in conditions
    assert (when_active if tracing == "Active" else otherwise) == disabled
