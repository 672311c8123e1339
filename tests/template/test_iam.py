"""Each function may make the AWS calls its code makes, and no others."""

from __future__ import annotations

import json
from typing import Any

from infra.deploy.code_scan import aws_actions, closure
from infra.deploy.template_model import Function, both_branches

REDIS_AUTH = {"elasticache:Connect", "secretsmanager:GetSecretValue"}
"""Granted to every function that talks to Redis: IAM auth, or the password secret."""

ALLOWED_EXTRA: dict[str, set[str]] = {
    # LambdaInvokePolicy is exactly lambda:InvokeFunction on the pollers' names.
}
"""Actions a function may hold beyond what its code calls, with the reason."""


def is_poller(function: Function) -> bool:
    return function.handler == "poller.app.handler"


def needed(function: Function) -> set[str]:
    files = closure(function.handler.rpartition(".")[0], runs_queue_handlers=is_poller(function))
    actions = set(aws_actions(files))
    if any(path.name == "redis_client.py" for path in files):
        actions |= REDIS_AUTH
    return actions


def test_every_call_the_code_makes_is_granted(template: dict[str, Any], function: Function) -> None:
    assert needed(function) - function.granted_actions(template) == set()


def test_nothing_is_granted_that_the_code_does_not_call(
    template: dict[str, Any], function: Function
) -> None:
    extra = ALLOWED_EXTRA.get(function.logical_id, set())
    assert function.granted_actions(template) - needed(function) - extra == set()


def test_the_api_cannot_delete_tables_or_queues(
    template: dict[str, Any], lambdas: dict[str, Function]
) -> None:
    granted = lambdas["ApiFunction"].granted_actions(template)
    assert not {"dynamodb:DeleteTable", "sqs:DeleteQueue", "s3:DeleteBucket"} & granted


def test_pollers_cannot_read_secrets_unless_redis_needs_a_password(
    template: dict[str, Any], lambdas: dict[str, Function]
) -> None:
    for function in lambdas.values():
        if function.handler != "poller.app.handler":
            continue
        for policy in function.policies:
            if "secretsmanager" in json.dumps(policy):
                assert policy == {
                    "Fn::If": [
                        "UseRedisSecret",
                        {"Ref": "RedisSecretPolicy"},
                        {"Ref": "AWS::NoValue"},
                    ]
                }


def test_no_wildcard_actions_and_wildcard_resources_only_for_sms(template: dict[str, Any]) -> None:
    text = json.dumps(template["Resources"])
    assert '"Action": "*"' not in text
    statements = [
        s
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for one in r["Properties"]["PolicyDocument"]["Statement"]
        for s in both_branches(one)
    ]
    for statement in statements:
        actions = statement["Action"]
        assert all("*" not in action for action in actions), statement
        if statement["Resource"] == "*":
            # SNS SMS to a phone number has no resource ARN.
            assert statement["Action"] == ["sns:Publish"], statement


# How each service the code calls is reached from the functions' subnets without a NAT.
NO_ENDPOINT = {"elasticache"}  # Connect signs a token locally; no API call is made
ENDPOINT_NAMES = {"ses": "email"}


def endpoint_services(template: dict[str, Any]) -> set[str]:
    """Services with a VPC endpoint in the stack (gateway or interface, any condition)."""
    names = set()
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::EC2::VPCEndpoint":
            name = resource["Properties"]["ServiceName"]["Fn::Sub"]
            names.add(name.rpartition(".")[2])
    return names


def test_every_service_the_code_calls_has_a_vpc_endpoint(
    template: dict[str, Any], lambdas: dict[str, Function]
) -> None:
    called = {action.split(":")[0] for f in lambdas.values() for action in needed(f)}
    reached = endpoint_services(template) | NO_ENDPOINT
    assert {ENDPOINT_NAMES.get(s, s) for s in called} - reached == set()
