"""The SQS dead-letter queue (moto): dead letters in, redrive out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from corral.dlq import MAX_BODY, DeadLetter, DeadLetterQueue

from tests.support.awsmock import AwsStack, start_aws


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


@pytest.fixture
def dlq(aws: AwsStack) -> DeadLetterQueue:
    return DeadLetterQueue(aws.sqs, aws.dlq_url, wait_s=0, visibility_s=30)


def letter(job_id: str, queue: str = "email", **kw: Any) -> DeadLetter:
    values: dict[str, Any] = {
        "tenant": "acme",
        "error": {"message": "boom"},
        "attempts_made": 3,
        "failed_at": 1,
        "data": {"to": "a@example.com"},
        "options": {"attempts": 3},
    }
    values.update(kw)
    return DeadLetter(queue=queue, job_id=job_id, **values)


def in_queue(aws: AwsStack) -> tuple[int, int]:
    """(visible, in flight) messages."""
    attrs = aws.sqs.get_queue_attributes(
        QueueUrl=aws.dlq_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attrs["ApproximateNumberOfMessages"]),
        int(attrs["ApproximateNumberOfMessagesNotVisible"]),
    )


def test_a_dead_letter_carries_payload_error_attempts_and_tenant(
    aws: AwsStack, dlq: DeadLetterQueue
) -> None:
    dlq.send(letter("j1"))
    message = aws.sqs.receive_message(QueueUrl=aws.dlq_url, MessageAttributeNames=["All"])
    [msg] = message["Messages"]
    assert DeadLetter.from_body(msg["Body"]) == letter("j1")
    assert msg["MessageAttributes"]["tenant"]["StringValue"] == "acme"
    assert msg["MessageAttributes"]["queue"]["StringValue"] == "email"


def test_send_many_batches_by_ten(aws: AwsStack, dlq: DeadLetterQueue) -> None:
    assert dlq.send_many([letter(f"j{i}") for i in range(23)]) == []
    assert in_queue(aws) == (23, 0)
    assert dlq.approximate_count() == 23


def test_data_too_large_for_sqs_is_left_to_the_record() -> None:
    body = letter("big", data={"blob": "x" * MAX_BODY}).to_body()
    parsed = DeadLetter.from_body(body)
    assert parsed.data is None and parsed.data_omitted
    assert parsed.error == {"message": "boom"} and len(body) < MAX_BODY


async def test_redrive_moves_only_its_queue_and_deletes_after_requeue(
    aws: AwsStack, dlq: DeadLetterQueue
) -> None:
    dlq.send_many([letter("a"), letter("s1", queue="sms"), letter("b")])
    seen: list[str] = []

    async def requeue(dead: DeadLetter) -> None:
        assert in_queue(aws)[1] >= 1, "the message is still there while its job is requeued"
        seen.append(dead.job_id)

    report = await dlq.redrive("email", requeue)
    assert sorted(report.moved) == ["a", "b"] == sorted(seen)
    assert (report.skipped, report.failed, report.more) == (1, [], False)
    assert in_queue(aws) == (0, 1), "the sms letter stays, hidden until its visibility ends"


async def test_a_failed_requeue_keeps_the_message(aws: AwsStack, dlq: DeadLetterQueue) -> None:
    dlq.send_many([letter("a"), letter("b")])

    async def requeue(dead: DeadLetter) -> None:
        if dead.job_id == "b":
            raise ConnectionError("redis is down")

    report = await dlq.redrive("email", requeue)
    assert (report.moved, report.failed) == (["a"], ["b"])
    assert sum(in_queue(aws)) == 1


async def test_redrive_stops_at_its_limit(aws: AwsStack, dlq: DeadLetterQueue) -> None:
    dlq.send_many([letter(f"j{i}") for i in range(25)])

    async def requeue(dead: DeadLetter) -> None:
        return None

    report = await dlq.redrive("email", requeue, limit=10)
    assert len(report.moved) == 10 and report.more
    report = await dlq.redrive("email", requeue, limit=100)
    assert len(report.moved) == 15 and not report.more


async def test_malformed_messages_are_left_alone(aws: AwsStack, dlq: DeadLetterQueue) -> None:
    aws.sqs.send_message(QueueUrl=aws.dlq_url, MessageBody="not json")
    aws.sqs.send_message(QueueUrl=aws.dlq_url, MessageBody='{"queue": "email"}')

    async def requeue(dead: DeadLetter) -> None:
        raise AssertionError("nothing to requeue")

    report = await dlq.redrive("email", requeue)
    assert (report.moved, report.skipped) == ([], 2)
    assert sum(in_queue(aws)) == 2


async def test_a_job_that_fails_again_at_once_is_moved_once_per_redrive(
    aws: AwsStack, dlq: DeadLetterQueue
) -> None:
    dlq.send(letter("flaky"))
    runs: list[str] = []

    async def requeue(dead: DeadLetter) -> None:
        # The job runs and is dead-lettered again before the redrive call ends.
        runs.append(dead.job_id)
        dlq.send(letter(dead.job_id))

    report = await dlq.redrive("email", requeue, limit=100)
    assert report.moved == ["flaky"] and runs == ["flaky"]
    assert sum(in_queue(aws)) == 1, "the new letter waits for the next redrive"
