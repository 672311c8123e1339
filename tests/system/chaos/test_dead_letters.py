"""The chaos run's dead-letter reader, against a moto server: every letter once, queue emptied."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from bench.chaos import aws
from bench.chaos.procs import free_port


@pytest.fixture
def endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def send(sqs: Any, url: str, ids: range) -> None:
    for n in ids:
        body = json.dumps({"queue": "email", "job_id": f"j{n}"})
        sqs.send_message(QueueUrl=url, MessageBody=body)


def test_letters_sent_before_and_during_the_run_are_read_once_and_deleted(
    endpoint: str,
) -> None:
    sqs = aws.client(endpoint, "sqs")
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    send(sqs, url, range(0, 15))
    reader = aws.DeadLetterReader(endpoint, url, every_s=0.05)
    reader.start()
    send(sqs, url, range(15, 40))
    # The same body twice is two letters (an at-least-once send), not one.
    send(sqs, url, range(39, 40))

    letters = reader.finish()

    assert sorted(letter["job_id"] for letter in letters) == sorted(
        [f"j{n}" for n in range(40)] + ["j39"]
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
