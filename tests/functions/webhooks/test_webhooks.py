"""Webhooks end to end: a job's ``options.webhook`` and a tenant's registration become
delivery jobs on the ``webhook`` queue, which a real local receiver fails twice and then
accepts; the delivery is retried, its signature verifies, and a stale replay is refused."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from corral.context import JobContext
from corral.definition import QueueDefinition
from corral.drain import Drainer
from corral.errors import NonRetryableError
from corral.events import EventHooks
from corral.intake import Intake
from corral.job import Backoff, BackoffType, JobOptions
from corral.poller import StoreHooks
from corral.queue import Queue, now_ms
from corral.webhooks import WebhookSignatureError, verify
from corral.webhooks.cache import CachedRegistrations
from corral.webhooks.delivery import DeliverySettings, deliver
from corral.webhooks.dispatch import IntakeEnqueue, WebhookDispatcher
from corral.webhooks.store import WebhookStore
from queues import webhook
from redis.asyncio import Redis

from tests.conftest import Payload
from tests.functions.events.conftest import TENANT_TABLE, EventStack
from tests.support.receiver import Receiver

TENANT = "acme"


async def done(payload: Payload, job: JobContext) -> dict[str, int]:
    if payload.n < 0:
        raise NonRetryableError("negative")
    return {"n": payload.n}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver(failures=2).start()
    yield started
    started.stop()


def delivery_queue(
    redis: Redis, prefix: str, settings: DeliverySettings, attempts: int = webhook.queue.attempts
) -> Queue:
    """The real ``webhook`` queue, with fast retries and the test's delivery settings."""

    def handle(payload: webhook.WebhookPayload, job: JobContext) -> dict[str, Any]:
        return webhook.send(payload, settings)

    definition = dataclasses.replace(
        webhook.queue,
        handler=handle,
        attempts=attempts,
        backoff=Backoff(type=BackoffType.FIXED, delay=50, jitter=0),
    )
    return Queue(redis, definition, prefix=prefix)


async def run_job_and_deliveries(
    redis: Redis,
    prefix: str,
    aws: EventStack,
    options: JobOptions,
    n: int = 1,
    attempts: int = webhook.queue.attempts,
) -> tuple[str, WebhookStore]:
    hooks_store = WebhookStore(aws.dynamodb, TENANT_TABLE)
    settings = DeliverySettings(secret_of=hooks_store.secret, local=True)
    deliveries = delivery_queue(redis, prefix, settings, attempts)
    jobs = Queue(redis, QueueDefinition(name="jobs", payload=Payload, handler=done), prefix=prefix)
    (accepted,) = await Intake(jobs, aws.store, TENANT, now_ms).run([({"n": n}, options)])
    dispatcher = WebhookDispatcher(
        CachedRegistrations(hooks_store), IntakeEnqueue(deliveries, aws.store)
    )
    hooks = EventHooks(jobs, StoreHooks(jobs, aws.store, aws.failures), dispatcher)
    await Drainer(jobs, concurrency=1, hooks=hooks, linger_ms=0).run()
    await dispatcher.flush()
    delivery_hooks = StoreHooks(deliveries, aws.store, aws.failures)
    for _ in range(10):
        await Drainer(deliveries, concurrency=2, hooks=delivery_hooks, linger_ms=300).run()
        counts = await deliveries.counts()
        if counts.waiting + counts.delayed + counts.processing == 0:
            break
    return accepted.job_id, hooks_store


async def test_a_delivery_is_retried_until_accepted_and_verifies(
    single_redis: Redis, prefix: str, aws: EventStack, receiver: Receiver
) -> None:
    options = JobOptions.model_validate({"webhook": {"url": receiver.url}})
    job_id, hooks_store = await run_job_and_deliveries(single_redis, prefix, aws, options)

    assert [r.answered for r in receiver.requests] == [500, 500, 200]
    delivery_ids = {r.headers["Corral-Delivery-Id"] for r in receiver.requests}
    assert len(delivery_ids) == 1, "every retry carries the same idempotency id"
    record = aws.store.get("webhook", delivery_ids.pop())
    assert record is not None and record.status == "completed" and record.attempts_made == 3
    secret = hooks_store.secret(TENANT)
    last = receiver.requests[-1]
    timestamp = verify(secret, last.body, last.headers)
    body = json.loads(last.body)
    assert body["type"] == "Job Completed"
    assert body["detail"]["jobId"] == job_id and body["detail"]["result"] == {"n": 1}
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify(secret, last.body, last.headers, now=timestamp + 301)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify(secret, last.body.replace(b"Completed", b"Cancelled"), last.headers)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify("whsec_another", last.body, last.headers)


async def test_registrations_receive_the_events_they_asked_for(
    single_redis: Redis, prefix: str, aws: EventStack, receiver: Receiver
) -> None:
    receiver.failures = 0
    store = WebhookStore(aws.dynamodb, TENANT_TABLE)
    registered = store.create(TENANT, "jobs", receiver.url, ["started", "dead-lettered"])
    store.create(TENANT, "other-queue", receiver.url, ["started"])
    store.create("someone-else", "jobs", receiver.url, ["started"])

    await run_job_and_deliveries(single_redis, prefix, aws, JobOptions(), n=-1)

    kinds = sorted(json.loads(r.body)["type"] for r in receiver.requests)
    assert kinds == ["Job Dead-Lettered", "Job Started"]
    assert {json.loads(r.body)["detail"]["tenant"] for r in receiver.requests} == {TENANT}
    assert [r.queue for r in store.of_tenant(TENANT)] == ["jobs", "other-queue"]
    assert store.delete(TENANT, registered.id) and not store.delete(TENANT, registered.id)


def test_a_url_that_turned_private_is_refused_at_delivery(aws: EventStack) -> None:
    sent: list[Any] = []

    class Recording:
        def post(self, *args: Any, **kwargs: Any) -> None:
            sent.append(args)

    settings = DeliverySettings(
        secret_of=lambda tenant: "whsec_x",
        http=Recording(),  # type: ignore[arg-type]
        resolve=lambda host, port: ["10.0.0.1"],
    )
    with pytest.raises(NonRetryableError, match="private"):
        deliver(
            tenant=TENANT,
            url="https://hooks.example.com/in",
            delivery_id="whd-1",
            event="Job Completed",
            at_ms=now_ms(),
            detail={},
            settings=settings,
        )
    assert sent == []


def only_delivery(receiver: Receiver, aws: EventStack) -> Any:
    (delivery_id,) = {r.headers["Corral-Delivery-Id"] for r in receiver.requests}
    record = aws.store.get("webhook", delivery_id)
    assert record is not None
    return record


def dead_letters(aws: EventStack) -> list[dict[str, Any]]:
    assert aws.failures.dlq is not None
    reply = aws.sqs.receive_message(QueueUrl=aws.failures.dlq.url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in reply.get("Messages", [])]


@pytest.mark.parametrize("answers", [[429, 200], [503, 408, 200], [502, 425, 500, 200]])
async def test_busy_and_failing_receivers_are_tried_again(
    single_redis: Redis, prefix: str, aws: EventStack, receiver: Receiver, answers: list[int]
) -> None:
    receiver.script = answers
    options = JobOptions.model_validate({"webhook": {"url": receiver.url}})
    await run_job_and_deliveries(single_redis, prefix, aws, options)

    assert [r.answered for r in receiver.requests] == answers
    record = only_delivery(receiver, aws)
    assert record.status == "completed" and record.attempts_made == len(answers)
    assert dead_letters(aws) == []


@pytest.mark.parametrize("answer", [400, 401, 404, 410, 301, 302, 307])
async def test_a_refusal_or_a_redirect_is_final(
    single_redis: Redis, prefix: str, aws: EventStack, receiver: Receiver, answer: int
) -> None:
    receiver.script = [answer]
    options = JobOptions.model_validate({"webhook": {"url": receiver.url}})
    await run_job_and_deliveries(single_redis, prefix, aws, options)

    assert [r.answered for r in receiver.requests] == [answer], "tried once, redirect not followed"
    record = only_delivery(receiver, aws)
    assert record.status == "failed" and record.attempts_made == 1
    assert f"answered {answer}" in json.dumps(record.error)
    (letter,) = dead_letters(aws)
    assert letter["queue"] == "webhook" and letter["job_id"] == record.job_id


async def test_a_delivery_out_of_attempts_ends_in_the_dead_letter_queue(
    single_redis: Redis, prefix: str, aws: EventStack, receiver: Receiver
) -> None:
    receiver.failures = 100
    options = JobOptions.model_validate({"webhook": {"url": receiver.url}})
    await run_job_and_deliveries(single_redis, prefix, aws, options, attempts=3)

    assert [r.answered for r in receiver.requests] == [500, 500, 500]
    record = only_delivery(receiver, aws)
    assert record.status == "failed" and record.attempts_made == 3
    (letter,) = dead_letters(aws)
    assert letter["job_id"] == record.job_id and letter["attempts_made"] == 3
    assert letter["data"]["url"] == receiver.url and letter["data"]["event"] == "Job Completed"
