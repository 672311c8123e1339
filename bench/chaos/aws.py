"""AWS for a run: a moto server in its own process, and the resources the template declares.

The emulator normally runs moto inside its own process; under load its DynamoDB parser
then competes with the pollers for the GIL, and pollers in other processes could not
share it. A server process fixes both.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from corral.records import ACTIVE_STATUSES, TTL_ATTRIBUTE, table_definition
from corral.schedules import create_table
from corral.stats import table_definition as tenant_table_definition
from corral.store_index import IndexReader

ROOT = Path(__file__).resolve().parents[2]

REGION = "us-east-1"
TABLE = "corral-jobs"
SCHEDULES_TABLE = "corral-schedules"
DLQ_NAME = "corral-dlq"
BUCKET = "corral-results"
TENANT_TABLE = "corral-tenants"
EVENT_BUS = "corral-events"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def start_moto(port: int, log: Path) -> subprocess.Popen[bytes]:
    """moto's server on ``port`` (threaded, see ``bench.chaos.moto_server``), logging to ``log``."""
    command = [sys.executable, "-m", "bench.chaos.moto_server", "127.0.0.1", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def client(endpoint: str, service: str) -> Any:
    """A plain boto3 client of the moto server (no hooks: the driver's own reads)."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def create_resources(endpoint: str) -> str:
    """The job table, the schedules table, the DLQ and the bucket; returns the DLQ's URL."""
    dynamodb = client(endpoint, "dynamodb")
    dynamodb.create_table(**table_definition(TABLE))
    dynamodb.update_time_to_live(
        TableName=TABLE,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    create_table(session.resource("dynamodb", endpoint_url=endpoint), SCHEDULES_TABLE)
    sqs = client(endpoint, "sqs")
    url = sqs.create_queue(QueueName=DLQ_NAME, Attributes={"MessageRetentionPeriod": "1209600"})
    client(endpoint, "s3").create_bucket(Bucket=BUCKET)
    # Webhooks, signing secrets and daily counters; and the bus of lifecycle events.
    dynamodb.create_table(**tenant_table_definition(TENANT_TABLE))
    client(endpoint, "events").create_event_bus(Name=EVENT_BUS)
    return str(url["QueueUrl"])


def scan_table(endpoint: str) -> list[dict[str, Any]]:
    """Every job record (low-level items)."""
    dynamodb = client(endpoint, "dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": TABLE}
    while True:
        page = dynamodb.scan(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def active_records(endpoint: str, queues: Iterable[str]) -> int:
    """How many records of ``queues`` are still pending or processing.

    Counted on the status index, as the engine counts: moto answers a query by walking
    the table once, but a scan by copying and serializing every record, page by page.
    """
    index = IndexReader(client(endpoint, "dynamodb"), TABLE, lambda _: True)
    return sum(index.count(queue, status) for queue in queues for status in ACTIVE_STATUSES)


class DeadLetterReader:
    """Reads and deletes dead letters while the run goes on, keeping every body.

    moto's ReceiveMessage looks at every message in the queue for each one it returns,
    so reading 5,000 letters at the end of a run takes longer than the run. Read as
    they arrive, the queue stays short and each receive cheap.
    """

    def __init__(self, endpoint: str, url: str, every_s: float = 2.0) -> None:
        self._sqs = client(endpoint, "sqs")
        self._url = url
        self._every_s = every_s
        self._bodies: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dead-letters", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            try:
                self.read_all()
            except (BotoCoreError, ClientError) as error:  # the final read retries it
                print(f"reading dead letters: {error}", file=sys.stderr)

    def read_all(self) -> None:
        """Receives and deletes until the queue answers empty."""
        while True:
            reply = self._sqs.receive_message(
                QueueUrl=self._url, MaxNumberOfMessages=10, VisibilityTimeout=600
            )
            messages = reply.get("Messages", [])
            if not messages:
                return
            # Keyed by message id: a letter received twice is still one letter.
            for message in messages:
                self._bodies[message["MessageId"]] = json.loads(message["Body"])
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(messages)
                ],
            )

    def finish(self) -> list[dict[str, Any]]:
        """Stops the reader, reads what is left, and returns every body seen."""
        self._stop.set()
        self._thread.join()
        self.read_all()
        return list(self._bodies.values())
