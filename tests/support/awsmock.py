"""An in-process AWS (moto) with the job table, the dead-letter queue and a bucket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from corral.records import table_definition
from moto import mock_aws

REGION = "us-east-1"
TABLE = "corral-jobs-test"
BUCKET = "corral-results-test"
DLQ = "corral-dlq-test"


def client(service: str) -> Any:
    """A boto3 client as the functions build them, with fake credentials."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard"}),
    )


@dataclass
class AwsStack:
    dynamodb: Any
    sqs: Any
    s3: Any
    lambda_: Any
    table: str
    dlq_url: str
    bucket: str


def start_aws() -> Iterator[AwsStack]:
    """Yield clients on a fresh moto account holding the table, the DLQ and the bucket."""
    with mock_aws():
        dynamodb = client("dynamodb")
        dynamodb.create_table(**table_definition(TABLE))
        sqs = client("sqs")
        url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
        s3 = client("s3")
        s3.create_bucket(Bucket=BUCKET)
        yield AwsStack(dynamodb, sqs, s3, client("lambda"), TABLE, url, BUCKET)


class BrokenClient:
    """Delegates to a real client, except that the named calls fail as AWS would."""

    def __init__(self, inner: Any, *methods: str, code: str = "InternalServerError") -> None:
        self.inner = inner
        self.methods = set(methods)
        self.code = code
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        if name not in self.methods:
            return getattr(self.inner, name)

        def fail(**kwargs: Any) -> Any:
            self.calls += 1
            error = {"Error": {"Code": self.code, "Message": "injected failure"}}
            raise ClientError(error, name)  # type: ignore[arg-type]

        return fail


class SerializedClient:
    """Delegates to a moto client one call at a time.

    DynamoDB applies each conditional update to an item atomically; moto reads, changes
    and writes the item without a lock, so two threads updating one item at once can lose
    an update. Tests that race writers on one item (a flow's parent) go through this.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if not callable(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return call
