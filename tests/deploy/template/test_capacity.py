"""``JobTableCapacity``: the job table billed per request, or provisioned with auto scaling.

The table is created from the translated template by moto's CloudFormation; moto does not
model Application Auto Scaling in CloudFormation, so each scaling target and policy the
template declares is registered through moto's Application Auto Scaling API instead.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from corral import pricing
from moto import mock_aws
from moto.cloudformation.parsing import get_model_map

from infra.deploy.moto_subset import supported_subset
from tests.deploy.template.translated import needs_sam, translate

pytestmark = needs_sam

USED: dict[str, tuple[str, ...]] = {
    "Parameters": ("Stage", "JobTableCapacity", "JobTableMaxCapacity"),
    "Conditions": ("IsProd", "JobTableProvisioned"),
}


def job_table_template(capacity: str) -> dict[str, Any]:
    """The translated template's job table and its scaling, with what they refer to."""
    translated = translate(JobTableCapacity=capacity)
    template: dict[str, Any] = {
        part: {name: translated[part][name] for name in names} for part, names in USED.items()
    }
    template["Resources"] = {
        name: resource
        for name, resource in translated["Resources"].items()
        if name.startswith("JobTable")
    }
    return template


def create(capacity: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The table moto created for ``capacity`` (inside ``mock_aws``), and the template."""
    template = job_table_template(capacity)
    subset = supported_subset(template, set(get_model_map()))
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    cloudformation.create_stack(
        StackName="capacity",
        TemplateBody=json.dumps(subset),
        Parameters=[{"ParameterKey": "JobTableCapacity", "ParameterValue": capacity}],
    )
    name = cloudformation.describe_stack_resource(
        StackName="capacity", LogicalResourceId="JobTable"
    )
    table_name = name["StackResourceDetail"]["PhysicalResourceId"]
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    table: dict[str, Any] = dict(dynamodb.describe_table(TableName=table_name)["Table"])
    return table, template


@mock_aws
def test_the_job_table_is_billed_per_request_by_default() -> None:
    table, template = create("0")
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # The scaling resources exist only with a capacity.
    scaling = [r for r in template["Resources"].values() if "ApplicationAutoScaling" in r["Type"]]
    assert {r["Condition"] for r in scaling} == {"JobTableProvisioned"}


@mock_aws
def test_a_capacity_provisions_the_table_and_each_index() -> None:
    table, _ = create("5")
    assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    units = [table["ProvisionedThroughput"]]
    units += [index["ProvisionedThroughput"] for index in table["GlobalSecondaryIndexes"]]
    assert len(units) == 3
    for unit in units:
        assert (unit["ReadCapacityUnits"], unit["WriteCapacityUnits"]) == (5, 5)


def resolved(value: Any, table_name: str, stack: str) -> Any:
    """A property as CloudFormation would pass it: the table's and the stack's names put in,
    and a number parameter as a number. (The local translation has already put the
    parameters' values in, and unwrapped the ``Fn::Sub`` it could not resolve.)"""
    if isinstance(value, dict) and "Fn::Sub" in value:
        value = value["Fn::Sub"]
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        return value.replace("${JobTable}", table_name).replace("${AWS::StackName}", stack)
    return value


@mock_aws
def test_auto_scaling_keeps_reads_and_writes_of_the_table_and_each_index_near_70_percent() -> None:
    table, template = create("5")
    scaling = boto3.client("application-autoscaling", region_name="us-east-1")
    resources = template["Resources"]
    targets = {n: r for n, r in resources.items() if r["Type"].endswith("ScalableTarget")}
    for target in targets.values():
        props = {
            k: resolved(v, table["TableName"], "corral") for k, v in target["Properties"].items()
        }
        scaling.register_scalable_target(**props)
    for policy in (r for r in resources.values() if r["Type"].endswith("ScalingPolicy")):
        props = policy["Properties"]
        target = targets[props["ScalingTargetId"]["Ref"]]["Properties"]
        scaling.put_scaling_policy(
            PolicyName=resolved(props["PolicyName"], table["TableName"], "corral"),
            ServiceNamespace="dynamodb",
            ResourceId=resolved(target["ResourceId"], table["TableName"], "corral"),
            ScalableDimension=target["ScalableDimension"],
            PolicyType=props["PolicyType"],
            TargetTrackingScalingPolicyConfiguration=props[
                "TargetTrackingScalingPolicyConfiguration"
            ],
        )
    found = scaling.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]
    scaled = {(t["ResourceId"], t["ScalableDimension"]) for t in found}
    prefix = f"table/{table['TableName']}"
    scopes = {("table", prefix)}
    scopes |= {
        ("index", f"{prefix}/index/{i['IndexName']}") for i in table["GlobalSecondaryIndexes"]
    }
    assert scaled == {
        (resource, f"dynamodb:{kind}:{dimension}CapacityUnits")
        for kind, resource in scopes
        for dimension in ("Read", "Write")
    }
    assert {(t["MinCapacity"], t["MaxCapacity"]) for t in found} == {(5, 4000)}
    policies = scaling.describe_scaling_policies(ServiceNamespace="dynamodb")["ScalingPolicies"]
    assert len(policies) == 6
    for policy in policies:
        config = policy["TargetTrackingScalingPolicyConfiguration"]
        metric = config["PredefinedMetricSpecification"]["PredefinedMetricType"]
        dimension = policy["ScalableDimension"].rsplit(":", 1)[1].removesuffix("CapacityUnits")
        assert metric == f"DynamoDB{dimension}CapacityUtilization"
        # make cost prices provisioned writes at this use (corral.pricing).
        assert config["TargetValue"] == round(pricing.PROVISIONED_USE * 100) == 70


@pytest.mark.parametrize("parameter", ["JobTableCapacity", "JobTableMaxCapacity"])
def test_the_capacity_parameters_are_grouped_with_operations(
    template: dict[str, Any], parameter: str
) -> None:
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert any(parameter in group["Parameters"] for group in groups)
