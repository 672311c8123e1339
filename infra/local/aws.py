"""AWS in-process: moto, with the table, the schedules table, the DLQ and the bucket.

Every boto3 client the functions make in this process talks to moto (``mock_aws``
patches botocore itself), so the handlers run unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corral.records import TTL_ATTRIBUTE, table_definition
from corral.schedules import create_table
from corral.settings import Settings
from corral.stats import table_definition as tenant_table_definition

DLQ_NAME = "corral-dlq"
BUCKET = "corral-results"
TENANT_TABLE = "corral-tenants"
EVENT_BUS = "corral-events"


@dataclass
class LocalAws:
    """The running emulation and the names of what it holds."""

    mock: Any
    table: str
    schedules_table: str
    dlq_url: str
    bucket: str
    tenant_table: str = TENANT_TABLE
    event_bus: str = EVENT_BUS

    def stop(self) -> None:
        self.mock.stop()


def start_aws(settings: Settings) -> LocalAws:
    """Start moto and create the resources ``template.yaml`` declares."""
    import boto3
    from moto import mock_aws

    mock = mock_aws()
    mock.start()
    region = settings.region
    dynamodb = boto3.client("dynamodb", region_name=region)
    # The job table as the engine defines it (the template declares the same keys).
    dynamodb.create_table(**table_definition(settings.table))
    dynamodb.update_time_to_live(
        TableName=settings.table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    create_table(boto3.resource("dynamodb", region_name=region), settings.schedules_table)
    sqs = boto3.client("sqs", region_name=region)
    url = sqs.create_queue(QueueName=DLQ_NAME, Attributes={"MessageRetentionPeriod": "1209600"})
    bucket = settings.bucket or BUCKET
    boto3.client("s3", region_name=region).create_bucket(Bucket=bucket)
    # Webhooks, signing secrets and daily counters; and the bus of lifecycle events.
    tenants = settings.tenant_table or TENANT_TABLE
    dynamodb.create_table(**tenant_table_definition(tenants))
    bus = settings.event_bus or EVENT_BUS
    boto3.client("events", region_name=region).create_event_bus(Name=bus)
    return LocalAws(
        mock, settings.table, settings.schedules_table, url["QueueUrl"], bucket, tenants, bus
    )
