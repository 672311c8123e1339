"""AWS in-process: moto's server on a loopback port, holding what ``template.yaml`` declares.

moto runs as a thread of the emulator (``ThreadedMotoServer``) bound to 127.0.0.1. Every
boto3 client of this process reaches it through ``AWS_ENDPOINT_URL`` (botocore reads it for
each client it builds), so the handlers run unchanged, and what they hand out works from
the local machine as it would from AWS: a presigned export link downloads with curl, and
an input object can be put with curl. Nothing leaves the machine.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from corral.aws_clients import AwsClients
from corral.records import TTL_ATTRIBUTE, table_definition
from corral.schedules import create_table
from corral.settings import Settings
from corral.stats import table_definition as tenant_table_definition

DLQ_NAME = "corral-dlq"
BUCKET = "corral-results"
TENANT_TABLE = "corral-tenants"
EVENT_BUS = "corral-events"
NOTIFICATION_TOPIC = "corral-notifications"
EMAIL_SENDER = "noreply@corral.local"
"""The email queue's From address when ``CORRAL_EMAIL_SENDER`` is unset (verified at start)."""
CREDENTIAL = "corral-local"
"""moto checks no signature; a made-up key keeps real credentials out of presigned links."""


@dataclass
class LocalAws:
    """The running emulation and the names of what it holds."""

    server: Any
    endpoint: str
    table: str
    schedules_table: str
    dlq_url: str
    bucket: str
    tenant_table: str
    event_bus: str
    email_sender: str
    topic_arn: str

    def stop(self) -> None:
        self.server.stop()


def point_boto3_at(endpoint: str, region: str) -> None:
    """Make every boto3 client of this process talk to ``endpoint`` with local credentials.

    The process environment is the functions' environment, as in Lambda; real credentials
    a shell may hold are dropped, so no request can be signed with them.
    """
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID=CREDENTIAL,
        AWS_SECRET_ACCESS_KEY=CREDENTIAL,
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
    )


def start_server(host: str, port: int) -> tuple[Any, str]:
    """moto's server on ``host:port`` (0: any free port), as a thread; and its URL."""
    from moto.server import ThreadedMotoServer

    # werkzeug logs every request at INFO; the emulator's own lines are what a user reads.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    return server, f"http://{bound_host}:{bound_port}"


def start_aws(settings: Settings, host: str = "127.0.0.1", port: int = 0) -> LocalAws:
    """Start moto and create the resources ``template.yaml`` declares, plus the email
    sender identity and the notification topic the queues need."""
    server, endpoint = start_server(host, port)
    point_boto3_at(endpoint, settings.region)
    # Clients made as every function makes its own (corral.wiring), used once here.
    aws = AwsClients(settings.region)
    dynamodb = aws.client("dynamodb")
    # The job table as the engine defines it (the template declares the same keys).
    dynamodb.create_table(**table_definition(settings.table))
    dynamodb.update_time_to_live(
        TableName=settings.table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    create_table(aws.resource("dynamodb"), settings.schedules_table)
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=DLQ_NAME, Attributes={"MessageRetentionPeriod": "1209600"})
    bucket = settings.bucket or BUCKET
    aws.client("s3").create_bucket(Bucket=bucket)
    # Webhooks, signing secrets and daily counters; and the bus of lifecycle events.
    tenants = settings.tenant_table or TENANT_TABLE
    dynamodb.create_table(**tenant_table_definition(tenants))
    bus = settings.event_bus or EVENT_BUS
    aws.client("events").create_event_bus(Name=bus)
    # SES sends only from a verified identity; the operator verifies it in AWS, we do here.
    sender = settings.email_sender or EMAIL_SENDER
    aws.client("sesv2").create_email_identity(EmailIdentity=sender)
    topic = (
        settings.notification_topic_arn
        or aws.client("sns").create_topic(Name=NOTIFICATION_TOPIC)["TopicArn"]
    )
    return LocalAws(
        server,
        endpoint,
        settings.table,
        settings.schedules_table,
        url["QueueUrl"],
        bucket,
        tenants,
        bus,
        sender,
        topic,
    )


def function_environment(aws: LocalAws) -> dict[str, str]:
    """What the template's ``Environment`` gives the functions in AWS, for the local names."""
    return {
        "CORRAL_DLQ_URL": aws.dlq_url,
        "CORRAL_BUCKET": aws.bucket,
        "CORRAL_TENANT_TABLE": aws.tenant_table,
        "CORRAL_EVENT_BUS": aws.event_bus,
        "CORRAL_EMAIL_SENDER": aws.email_sender,
        "CORRAL_NOTIFICATION_TOPIC_ARN": aws.topic_arn,
        "CORRAL_LOCAL": "true",
    }
