"""Final failures: a dead letter and a failed record, unless the job already finished."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from corral.dlq import DeadLetterQueue
from corral.failures import FailureRecorder, FinalFailure
from corral.job import JobStatus
from corral.records import JobRecord, OutcomeRecord
from corral.store import JobStore

from tests.support.awsmock import AwsStack, start_aws


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


def now() -> int:
    return int(time.time() * 1000)


def letters(aws: AwsStack) -> int:
    reply = aws.sqs.receive_message(QueueUrl=aws.dlq_url, MaxNumberOfMessages=10)
    return len(reply.get("Messages", []))


def accepted(store: JobStore, job_id: str) -> None:
    store.create(
        JobRecord(
            job_id=job_id,
            queue="email",
            tenant="acme",
            status=JobStatus.PENDING,
            data={},
            attempts=3,
            attempts_made=0,
            created_at=now(),
        )
    )


async def test_a_stalled_out_job_that_already_completed_gets_no_dead_letter(
    aws: AwsStack,
) -> None:
    store = JobStore(aws.dynamodb, aws.table)
    recorder = FailureRecorder(store, DeadLetterQueue(aws.sqs, aws.dlq_url))
    accepted(store, "done")
    accepted(store, "open")
    # An earlier run completed "done" after its lease had lapsed; Redis still stalled it out.
    outcome = OutcomeRecord("email", "done", "acme", JobStatus.COMPLETED, 1, now(), payload="1")
    assert store.record_outcomes([outcome]) == []
    error = {"message": "job stalled"}
    failures = [FinalFailure("email", job, "acme", 2, error) for job in ("done", "open")]

    assert await recorder.record(failures) == []

    assert letters(aws) == 1, "only the job that is still open is dead-lettered"
    done, still_open = store.get("email", "done"), store.get("email", "open")
    assert done is not None and done.status is JobStatus.COMPLETED
    assert still_open is not None and still_open.status is JobStatus.FAILED
