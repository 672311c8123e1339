"""The sms queue: E.164 validation, per-number results, partial failures and pacing,
against SNS in moto, and once through the real engine."""

from __future__ import annotations

from typing import Any

import pytest
from corral.definition import QueueDefinition, RateLimit
from corral.errors import NonRetryableError
from corral.job import JobState
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends
from pydantic import BaseModel, ValidationError
from queues import sms
from queues._fanout import TransientDeliveryError

from tests.functions.queues.queue_helpers import (
    REGION,
    TENANT,
    client,
    client_error,
    drain,
    engine_queue,
    job_context,
    logged,
    stored,
)

pytestmark = pytest.mark.usefixtures("aws")

ANN, BOB = "+14155550101", "+447700900123"


def payload(**fields: Any) -> sms.SmsPayload:
    data = {"subAccountId": TENANT, "phoneNumbers": [ANN, BOB], "message": "Your code is 42"}
    return sms.SmsPayload.model_validate(data | fields)


def published() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


class Failing:
    """SNS that fails some numbers with a given error code."""

    def __init__(self, sns: Any, failures: dict[str, str]) -> None:
        self.sns, self.failures = sns, failures

    def publish(self, **request: Any) -> Any:
        code = self.failures.get(request["PhoneNumber"])
        if code:
            raise client_error(code, "Publish")
        return self.sns.publish(**request)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[BaseModel, str]] = []

    async def __call__(
        self, queue: QueueDefinition, payload: BaseModel, job_id: str, delay_ms: int
    ) -> bool:
        self.calls.append((payload, job_id))
        return True


def deps(sns: Any, enqueue: Any = None) -> sms.SmsDeps:
    fake = FakeTime()
    return sms.SmsDeps(sns, sms.Pacer(sms.RATE, fake.clock, fake.sleep), enqueue or Recorder())


@pytest.mark.parametrize("number", ["4155550101", "+0123", "+1 415 555 0101", "+1234567890123456"])
def test_numbers_must_be_e164_before_any_send(number: str) -> None:
    with pytest.raises(ValidationError, match="phoneNumbers"):
        payload(phoneNumbers=[ANN, number])


def test_the_rate_limit_lives_in_the_definition() -> None:
    assert sms.queue.rate_limit == RateLimit(max=10, duration_ms=1000)
    assert sms.queue.concurrency == 1


def test_the_pacer_spaces_sends_at_the_rate() -> None:
    fake = FakeTime()
    pacer = sms.Pacer(RateLimit(max=10), fake.clock, fake.sleep)
    for _ in range(4):
        pacer.wait()
    assert fake.slept == [0.1, 0.1, 0.1]


async def test_publishes_one_message_per_number() -> None:
    job = job_context()
    result = await sms.send(payload(campaignId="spring"), job, deps(client("sns")))
    assert (result["total"], result["successful"], result["failed"]) == (2, 2, 0)
    assert result["campaignId"] == "spring"
    assert published() == [(ANN, "Your code is 42"), (BOB, "Your code is 42")]
    assert job.seen == [50, 100]


async def test_a_rejected_number_is_reported_and_the_job_completes() -> None:
    follow_ups = Recorder()
    sns = Failing(client("sns"), {BOB: "InvalidParameter"})
    result = await sms.send(payload(), job_context(), deps(sns, follow_ups))
    assert (result["successful"], result["failed"]) == (1, 1)
    assert result["results"][1]["retryable"] is False
    assert follow_ups.calls == []


async def test_a_throttled_number_is_sent_again_by_a_follow_up() -> None:
    follow_ups = Recorder()
    sns = Failing(client("sns"), {BOB: "ThrottledException"})
    result = await sms.send(payload(), job_context("01SMS"), deps(sns, follow_ups))
    assert result["followUp"]["recipients"] == [BOB]
    [(follow_up, job_id)] = follow_ups.calls
    assert job_id == "01SMS.r1"
    assert isinstance(follow_up, sms.SmsPayload)
    assert follow_up.phone_numbers == [BOB]


async def test_all_throttled_retries_and_all_rejected_does_not() -> None:
    throttled = Failing(client("sns"), {ANN: "Throttling", BOB: "Throttling"})
    with pytest.raises(TransientDeliveryError):
        await sms.send(payload(), job_context(), deps(throttled))
    rejected = Failing(client("sns"), {ANN: "AuthorizationError", BOB: "InvalidParameter"})
    with pytest.raises(NonRetryableError):
        await sms.send(payload(), job_context(), deps(rejected))


async def test_through_the_engine(redis: Any, prefix: str) -> None:
    sns = client("sns")

    async def handler(data: sms.SmsPayload, job: Any) -> Any:
        return await sms.send(data, job, deps(sns))

    queue = engine_queue(redis, prefix, sms.queue, handler)
    added = await queue.add(payload().model_dump(by_alias=True))
    await drain(queue)
    job = await stored(queue, added.job_id)
    assert job.state is JobState.COMPLETED
    assert job.result["successful"] == 2
    assert await logged(queue, added.job_id) == [
        "sent to 2 of 2 recipients; 0 throttled, 0 rejected"
    ]
    assert job.group == TENANT
    assert [number for number, _ in published()] == [ANN, BOB]
