"""What a fresh AWS account would hit, checked on the translated template.

Each test names the failure it prevents: a CREATE_FAILED (and rollback) in CloudFormation,
or a stack that deploys but cannot work.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.deploy.rules import failed_assertions
from infra.deploy.template_model import load_template
from tests.deploy.template.translated import needs_sam, translate

JWT = {"JwtIssuer": "https://issuer.example.com", "JwtAudience": "corral"}
NETWORK = {"VpcId": "vpc-00000000", "SubnetIds": "subnet-00000000,subnet-11111111"}
NO_NAT = {**NETWORK, **JWT, "RouteTableIds": "rtb-00000000"}


def resources_of(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


@needs_sam
def test_every_valkey_user_in_the_group_authenticates() -> None:
    # ElastiCache RBAC: a VALKEY user group holds only users with a password or IAM auth.
    template = translate(**JWT)
    users = resources_of(template, "AWS::ElastiCache::User")
    (group,) = resources_of(template, "AWS::ElastiCache::UserGroup").values()
    assert group["Properties"]["Engine"] == "valkey"
    members = [ref["Ref"] for ref in group["Properties"]["UserIds"]]
    for member in members:
        mode = users[member]["Properties"]["AuthenticationMode"]
        assert mode["Type"] in {"password", "iam"}, member
        if mode["Type"] == "password":
            (password,) = mode["Passwords"]
            assert "{{resolve:secretsmanager:" in json.dumps(password)


@needs_sam
def test_the_default_user_stays_switched_off() -> None:
    template = translate(**JWT)
    default = template["Resources"]["RedisDefaultUser"]["Properties"]
    assert default["UserName"] == "default"
    assert default["AccessString"].startswith("off")
    secret = template["Resources"]["RedisDefaultUserSecret"]["Properties"]
    assert secret["GenerateSecretString"]["GenerateStringKey"] == "password"
    assert "RedisDefaultUserSecret" not in json.dumps(template.get("Outputs", {}))


def test_without_a_nat_the_route_tables_are_required() -> None:
    template = load_template()
    refused = failed_assertions(template, {**NETWORK, **JWT})
    assert any("RouteTableIds" in message for message in refused)
    assert failed_assertions(template, NO_NAT) == []
    assert failed_assertions(template, {**NETWORK, **JWT, "NatEgress": "true"}) == []


@needs_sam
def test_gateway_endpoints_are_created_with_the_route_tables() -> None:
    template = translate(**NO_NAT)
    endpoints = resources_of(template, "AWS::EC2::VPCEndpoint")
    gateways = {k for k, r in endpoints.items() if r["Properties"]["VpcEndpointType"] == "Gateway"}
    assert gateways == {"DynamoDbEndpoint", "S3Endpoint"}
    assert all(endpoints[k]["Condition"] == "HasRouteTables" for k in gateways)


def test_the_webhook_queue_warns_without_internet_egress() -> None:
    template = load_template()
    warning = template["Outputs"]["WebhookEgress"]
    assert warning["Condition"] == "NoNatEgress"
    assert template["Conditions"]["NoNatEgress"] == {"Fn::Equals": [{"Ref": "NatEgress"}, "false"]}
    assert "NAT" in warning["Description"]


@pytest.mark.parametrize(("audience", "refused"), [("", True), ("corral", False), ("a,b", False)])
def test_jwt_auth_needs_an_audience(audience: str, refused: bool) -> None:
    given = {**NO_NAT, "JwtAudience": audience}
    messages = failed_assertions(load_template(), given)
    assert any("JwtAudience" in m for m in messages) is refused


def test_api_keys_need_no_jwt_settings() -> None:
    given = {**NETWORK, "RouteTableIds": "rtb-0", "ApiAuth": "apikey", "ApiKeysSource": "/k"}
    assert failed_assertions(load_template(), given) == []


@needs_sam
def test_the_ses_endpoint_is_optional_and_off_by_default() -> None:
    template = translate(**NO_NAT)
    endpoint = template["Resources"]["Endpointemail"]
    assert endpoint["Condition"] == "SesEndpoint"
    assert load_template()["Parameters"]["CreateSesEndpoint"]["Default"] == "false"


def test_interface_endpoints_use_private_dns() -> None:
    # Which needs the VPC's DNS support and DNS hostnames: `corral preflight` checks both.
    template = load_template()
    interfaces = [
        r
        for r in resources_of(template, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"]["VpcEndpointType"] == "Interface"
    ]
    assert interfaces and all(r["Properties"]["PrivateDnsEnabled"] is True for r in interfaces)


def test_no_concurrency_is_reserved_unless_asked() -> None:
    template = load_template()
    assert template["Parameters"]["ReservePollerConcurrency"]["Default"] == "false"


@needs_sam
def test_the_api_stage_logs_access_and_throttles_by_default() -> None:
    template = translate(**NO_NAT)
    (stage,) = resources_of(template, "AWS::ApiGatewayV2::Stage").values()
    properties = stage["Properties"]
    assert properties["AccessLogSettings"]["DestinationArn"] == {
        "Fn::GetAtt": ["ApiAccessLogs", "Arn"]
    }
    assert "$context.requestId" in properties["AccessLogSettings"]["Format"]
    # The language extensions resolve the parameters: their defaults here.
    defaults = load_template()["Parameters"]
    assert properties["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": defaults["ApiRateLimit"]["Default"],
        "ThrottlingBurstLimit": defaults["ApiBurstLimit"]["Default"],
    }


@needs_sam
def test_the_authorizer_runs_outside_the_vpc() -> None:
    template = translate(**NETWORK, RouteTableIds="rtb-0", ApiAuth="apikey", ApiKeysSource="/k")
    functions = resources_of(template, "AWS::Lambda::Function")
    assert "VpcConfig" not in functions["ApiKeyAuthorizerFunction"]["Properties"]
    for name, function in functions.items():
        if name != "ApiKeyAuthorizerFunction":
            assert "VpcConfig" in function["Properties"], name
