"""What of a translated template the rehearsal asks moto to create."""

from __future__ import annotations

from typing import Any

from infra.deploy.moto_subset import references, supported_subset

TEMPLATE: dict[str, Any] = {
    "Parameters": {"Stage": {"Type": "String"}},
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": {"Ref": "Stage"}}},
        "Policy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {}},
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"ManagedPolicyArns": [{"Ref": "Policy"}]},
        },
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Environment": {"Variables": {"T": {"Fn::Sub": "${Table}-${AWS::Region}"}}},
            },
        },
        "Cache": {"Type": "AWS::ElastiCache::ServerlessCache", "Properties": {}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "DependsOn": "Cache"},
    },
    "Outputs": {"Name": {"Value": {"Ref": "Table"}}},
    "Rules": {},
}
MODELLED = {
    "AWS::DynamoDB::Table",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Role",
    "AWS::Lambda::Function",
    "AWS::CloudWatch::Alarm",
}


def test_references_cover_ref_getatt_and_sub() -> None:
    function = TEMPLATE["Resources"]["Function"]
    assert references(function) == {"Role", "Table", "AWS::Region"}


def test_policies_and_what_needs_them_are_left_out() -> None:
    subset = supported_subset(TEMPLATE, MODELLED)
    assert set(subset["Resources"]) == {"Table"}
    assert subset["Parameters"] == TEMPLATE["Parameters"]
    assert "Outputs" not in subset and "Rules" not in subset


def test_a_dependency_moto_does_not_model_takes_its_dependant_out() -> None:
    subset = supported_subset(TEMPLATE, MODELLED | {"AWS::ElastiCache::ServerlessCache"})
    assert set(subset["Resources"]) == {"Table", "Cache", "Alarm"}
    assert "Alarm" not in supported_subset(TEMPLATE, MODELLED)["Resources"]
