"""The ``sms`` queue: one SNS publish per phone number, numbers checked as E.164 up front,
sent at the queue's rate limit."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from corral.context import JobContext
from corral.definition import QueueDefinition, RateLimit
from pydantic import AfterValidator, Field

from queues._common import TenantPayload, aws_client
from queues._fanout import (
    Enqueue,
    classify,
    deliver,
    enqueue_in_deployment,
    settle_deliveries,
)

E164 = re.compile(r"^\+[1-9]\d{1,14}$")
RATE = RateLimit(max=10, duration_ms=1000)
"""The seeds send 10-13 messages/s; the definition and the in-job pacing share this."""


def check_e164(number: str) -> str:
    if E164.fullmatch(number) is None:
        raise ValueError(f"{number!r} is not an E.164 phone number (like +14155550123)")
    return number


PhoneNumber = Annotated[str, AfterValidator(check_e164)]


class SmsPayload(TenantPayload):
    """``phoneNumbers[]`` (E.164), ``message`` and an optional ``campaignId``."""

    phone_numbers: list[PhoneNumber] = Field(min_length=1, max_length=500)
    message: str = Field(min_length=1, max_length=1600)
    campaign_id: str | None = Field(default=None, max_length=128)


@dataclass
class Pacer:
    """Spaces sends evenly so one job never exceeds the queue's rate limit.

    The engine's limit counts jobs; with ``concurrency=1`` and this pacing inside the job,
    messages per second stay under the same limit across every poller.
    """

    rate: RateLimit
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _next: float = field(default=0.0, init=False)

    def wait(self) -> None:
        now = self.clock()
        if self._next > now:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.rate.duration_ms / 1000 / self.rate.max


@dataclass(frozen=True)
class SmsDeps:
    """What the sms logic talks to; tests pass a moto client, a fast pacer and an enqueue."""

    sns: Any
    pacer: Pacer = field(default_factory=lambda: Pacer(RATE))
    enqueue: Enqueue = enqueue_in_deployment


def _publish(deps: SmsDeps, payload: SmsPayload, number: str) -> str:
    deps.pacer.wait()
    attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
    reply = deps.sns.publish(
        PhoneNumber=number, Message=payload.message, MessageAttributes=attributes
    )
    return str(reply["MessageId"])


async def send(payload: SmsPayload, job: JobContext, deps: SmsDeps) -> dict[str, Any]:
    """Publish to each number and shape the job's result."""

    def send_one(number: str) -> str:
        return _publish(deps, payload, number)

    numbers = payload.phone_numbers
    deliveries = await asyncio.to_thread(deliver, numbers, send_one, classify, job)
    result = await settle_deliveries(
        deliveries,
        job,
        queue,
        lambda failed: payload.model_copy(update={"phone_numbers": failed}),
        deps.enqueue,
    )
    if payload.campaign_id is not None:
        result["campaignId"] = payload.campaign_id
    return result


async def handle(payload: SmsPayload, job: JobContext) -> dict[str, Any]:
    """The queue's handler: ``{total, successful, failed, results, followUp?, campaignId?}``."""
    return await send(payload, job, SmsDeps(aws_client("sns")))


queue = QueueDefinition(
    name="sms",
    payload=SmsPayload,
    handler=handle,
    grants=("send-sms",),
    concurrency=1,
    rate_limit=RATE,
    attempts=5,
    # 500 numbers at 10/s take 50 s; leave room for SNS latency.
    timeout_ms=120_000,
    description="SNS text messages, one per phone number, at 10 messages/s",
    # An I/O-bound handler: the poller peaks near 75 MB (imports and clients), and a
    # Lambda bills its memory for every second it runs.
    poller_memory_mb=128,
)
