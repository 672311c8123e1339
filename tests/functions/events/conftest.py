"""Fixtures for the events, webhooks and stats tests: moto with the job table, the tenant
table, an event bus whose rule copies every ``corral`` event into an SQS queue, and the DLQ."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from corral.dlq import DeadLetterQueue
from corral.events import EventBridgePublisher, EventBridgeSink, EventType
from corral.failures import FailureRecorder
from corral.records import table_definition
from corral.stats import table_definition as tenant_table_definition
from corral.store import JobStore
from moto import mock_aws

from tests.support.awsmock import client

JOB_TABLE = "corral-jobs-events"
TENANT_TABLE = "corral-tenants-events"
BUS = "corral-events-test"


@dataclass
class EventStack:
    dynamodb: Any
    sqs: Any
    events: Any
    store: JobStore
    failures: FailureRecorder
    tap_url: str

    def publisher(self) -> EventBridgePublisher:
        return EventBridgePublisher(self.events, BUS, types=frozenset(EventType))

    def sink(self) -> EventBridgeSink:
        return EventBridgeSink(self.publisher())

    def received(self) -> list[dict[str, Any]]:
        """Every event the rule delivered so far (each read once)."""
        found: list[dict[str, Any]] = []
        while True:
            reply = self.sqs.receive_message(QueueUrl=self.tap_url, MaxNumberOfMessages=10)
            messages = reply.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.tap_url, ReceiptHandle=message["ReceiptHandle"]
                )


def subscribe(events: Any, sqs: Any, pattern: dict[str, Any], name: str) -> str:
    """A rule on the bus with ``pattern``, targeting a new SQS queue; returns its URL."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    events.put_rule(Name=name, EventBusName=BUS, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=name,
        EventBusName=BUS,
        Targets=[{"Id": "1", "Arn": attributes["Attributes"]["QueueArn"]}],
    )
    return str(url)


@pytest.fixture
def aws() -> Iterator[EventStack]:
    with mock_aws():
        dynamodb = client("dynamodb")
        dynamodb.create_table(**table_definition(JOB_TABLE))
        dynamodb.create_table(**tenant_table_definition(TENANT_TABLE))
        sqs = client("sqs")
        dlq = DeadLetterQueue(sqs, sqs.create_queue(QueueName="corral-dlq")["QueueUrl"])
        events = client("events")
        events.create_event_bus(Name=BUS)
        tap = subscribe(events, sqs, {"source": ["corral"]}, "corral-events-tap")
        store = JobStore(dynamodb, JOB_TABLE)
        yield EventStack(dynamodb, sqs, events, store, FailureRecorder(store, dlq), tap)
        store.close()
