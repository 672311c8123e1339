"""The tables, queue and bucket the template declares match what the code expects."""

from __future__ import annotations

from typing import Any

import boto3
from corral.records import TTL_ATTRIBUTE, table_definition
from corral.schedules.store import create_table
from moto import mock_aws


def table(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return properties


def test_job_table_keys_and_indexes_match_the_store(template: dict[str, Any]) -> None:
    declared = table(template, "JobTable")
    wanted = table_definition("corral-jobs")
    for key in ("AttributeDefinitions", "KeySchema"):
        assert declared[key] == wanted[key], key
    # Each index's capacity follows the JobTableCapacity parameter (test_capacity.py).
    indexes = [
        {k: v for k, v in index.items() if k != "ProvisionedThroughput"}
        for index in declared["GlobalSecondaryIndexes"]
    ]
    assert indexes == wanted["GlobalSecondaryIndexes"]
    assert declared["BillingMode"]["Fn::If"][2] == wanted["BillingMode"], "on demand by default"


def test_job_table_is_durable(template: dict[str, Any]) -> None:
    declared = table(template, "JobTable")
    assert declared["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert declared["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert declared["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}
    assert template["Resources"]["JobTable"]["DeletionPolicy"] == "Retain"


def test_schedules_table_keys_match_the_schedule_store(template: dict[str, Any]) -> None:
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        created = create_table(dynamodb, "corral-schedules").meta.client.describe_table(
            TableName="corral-schedules"
        )["Table"]
    declared = table(template, "SchedulesTable")
    assert declared["KeySchema"] == created["KeySchema"]
    assert sorted(declared["AttributeDefinitions"], key=str) == sorted(
        created["AttributeDefinitions"], key=str
    )
    assert declared["BillingMode"] == "PAY_PER_REQUEST"


def test_dead_letter_queue_is_encrypted_and_keeps_messages_14_days(
    template: dict[str, Any],
) -> None:
    dlq = table(template, "DeadLetterQueue")
    assert dlq["SqsManagedSseEnabled"] is True
    assert dlq["MessageRetentionPeriod"] == 14 * 86_400


def test_outputs_name_the_api_table_dlq_and_redis(template: dict[str, Any]) -> None:
    assert {"ApiUrl", "JobTableName", "DeadLetterQueueUrl", "RedisEndpoint"} <= set(
        template["Outputs"]
    )
