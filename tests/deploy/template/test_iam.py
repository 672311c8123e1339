"""Each function may make the AWS calls its code makes, and no others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.deploy.code_scan import aws_actions, closure, poller_closure
from infra.deploy.queues import load_registry
from infra.deploy.template_model import Function, both_branches

REDIS_AUTH = {"elasticache:Connect", "secretsmanager:GetSecretValue"}
"""Granted to every function that talks to Redis: IAM auth, or the password secret."""

ALLOWED_EXTRA: dict[str, set[str]] = {
    # LambdaInvokePolicy is exactly lambda:InvokeFunction on the pollers' names.
}
"""Actions a function may hold beyond what its code calls, with the reason."""


def is_poller(function: Function) -> bool:
    return function.handler == "poller.app.handler"


def code_of(function: Function) -> frozenset[Path]:
    """The files a function runs; a poller runs only its own queue's handler."""
    if is_poller(function):
        queue = load_registry().get(function.environment["CORRAL_QUEUE"])
        return poller_closure(queue.handler.__module__)
    return closure(function.handler.rpartition(".")[0], runs_queue_handlers=False)


def needed(function: Function) -> set[str]:
    files = code_of(function)
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


def test_each_poller_may_send_only_what_its_queue_sends(
    template: dict[str, Any], lambdas: dict[str, Function]
) -> None:
    senders = {"ses:SendEmail": "email", "sns:Publish": {"sms", "generic-task"}}
    for function in lambdas.values():
        if not is_poller(function):
            continue
        queue = function.environment["CORRAL_QUEUE"]
        granted = function.granted_actions(template)
        for action, owners in senders.items():
            if action in granted:
                assert queue in owners, (queue, action)


def test_only_the_sms_poller_publishes_anywhere(
    template: dict[str, Any], lambdas: dict[str, Function]
) -> None:
    # Direct SMS needs sns:Publish on "*"; generic-task publishes to its topic only.
    for function in lambdas.values():
        wildcard = [
            policy
            for policy in function.policies
            for item in both_branches(policy)
            if "Ref" in item
            and template["Resources"][item["Ref"]]["Type"] == "AWS::IAM::ManagedPolicy"
            and any(
                s.get("Resource") == "*"
                for one in template["Resources"][item["Ref"]]["Properties"]["PolicyDocument"][
                    "Statement"
                ]
                for s in both_branches(one)
            )
        ]
        if wildcard:
            assert function.environment.get("CORRAL_QUEUE") == "sms", function.logical_id
    topic = template["Resources"]["NotificationTopicPolicy"]["Properties"]["PolicyDocument"]
    assert topic["Statement"][0]["Resource"] == {"Ref": "NotificationTopicArn"}


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
    # Functions outside the VPC (the API-key authorizer) reach AWS over Lambda's own network.
    in_vpc = [f for f in lambdas.values() if "VpcConfig" in f.properties]
    called = {action.split(":")[0] for f in in_vpc for action in needed(f)}
    reached = endpoint_services(template) | NO_ENDPOINT
    assert {ENDPOINT_NAMES.get(s, s) for s in called} - reached == set()
