"""The email queue: rendering, per-recipient results, partial failures and follow-ups,
against SES v2 in moto, and once through the real engine."""

from __future__ import annotations

from typing import Any

import pytest
from corral.definition import QueueDefinition
from corral.errors import NonRetryableError
from corral.job import JobOptions, JobState, JobStatus
from corral.queue import Queue
from corral.records import table_definition
from corral.settings import get_settings
from corral.store import JobStore
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from pydantic import BaseModel, ValidationError
from queues import email
from queues._fanout import TransientDeliveryError, durable_enqueue, enqueue_in_deployment

from tests.functions.queues.queue_helpers import (
    REGION,
    TENANT,
    client,
    client_error,
    drain,
    engine_queue,
    job_context,
    logged,
)
from tests.functions.queues.queue_helpers import stored as stored_job

SENDER = "noreply@example.com"

pytestmark = pytest.mark.usefixtures("aws")


def payload(**fields: Any) -> email.EmailPayload:
    data = {
        "subAccountId": TENANT,
        "to": ["ann@example.com", "bob@example.com"],
        "subject": "Hello {{name}}",
        "template": "Dear {{name}}, your code is {{code}}.",
        "templateData": {"name": "Ann", "code": 42},
    }
    return email.EmailPayload.model_validate(data | fields)


def sent_messages() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


class Throttled:
    """SES that answers ``code`` (TooManyRequests by default) for some recipients."""

    def __init__(self, ses: Any, throttled: set[str], code: str = "TooManyRequestsException"):
        self.ses, self.throttled, self.code = ses, throttled, code

    def send_email(self, **request: Any) -> Any:
        if request["Destination"]["ToAddresses"][0] in self.throttled:
            raise client_error(self.code)
        return self.ses.send_email(**request)


class Recorder:
    """An ``Enqueue`` that records follow-ups instead of sending them anywhere."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, BaseModel, str, int]] = []

    async def __call__(
        self, queue: QueueDefinition, payload: BaseModel, job_id: str, delay_ms: int
    ) -> bool:
        self.calls.append((queue.name, payload, job_id, delay_ms))
        return True


@pytest.fixture
def ses() -> Any:
    ses = client("sesv2")
    ses.create_email_identity(EmailIdentity=SENDER)
    return ses


def test_render_substitutes_nested_and_escapes_html() -> None:
    data = {"user": {"name": "<Ann>"}}
    assert email.render("Hi {{ user.name }}!", data) == "Hi <Ann>!"
    assert email.render("<p>{{user.name}}</p>", data, escape=True) == "<p>&lt;Ann&gt;</p>"


def test_a_missing_variable_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(NonRetryableError, match="'code' is missing"):
        email.render("code {{code}}", {"name": "x"})


def test_payload_speaks_camel_case_and_names_bad_fields() -> None:
    assert payload().template_data == {"name": "Ann", "code": 42}
    with pytest.raises(ValidationError, match="to"):
        email.EmailPayload.model_validate({"subAccountId": TENANT, "to": [], "subject": "s"})
    with pytest.raises(ValidationError, match="subAccountId"):
        email.EmailPayload.model_validate({"to": ["a@b.c"], "subject": "s", "template": "t"})


async def test_sends_one_rendered_message_per_recipient(ses: Any) -> None:
    job = job_context()
    result = await email.send(payload(), job, email.EmailDeps(ses, SENDER, enqueue=Recorder()))
    assert (result["total"], result["successful"], result["failed"]) == (2, 2, 0)
    assert [r["recipient"] for r in result["results"]] == ["ann@example.com", "bob@example.com"]
    assert all(r["status"] == "sent" and r["messageId"] for r in result["results"])
    messages = sent_messages()
    assert [m.destinations["ToAddresses"] for m in messages] == [
        ["ann@example.com"],
        ["bob@example.com"],
    ]
    assert messages[0].subject == "Hello Ann"
    assert messages[0].body == "Dear Ann, your code is 42."
    assert job.seen == [50, 100]


async def test_a_missing_variable_fails_before_any_send(ses: Any) -> None:
    bad = payload(templateData={"name": "Ann"})
    with pytest.raises(NonRetryableError, match="code"):
        await email.send(bad, job_context(), email.EmailDeps(ses, SENDER))
    assert sent_messages() == []


async def test_a_rejected_address_completes_the_job_with_counts_and_no_follow_up(
    ses: Any,
) -> None:
    follow_ups = Recorder()
    rejecting = Throttled(ses, {"bob@example.com"}, "InvalidParameterValue")
    deps = email.EmailDeps(rejecting, SENDER, enqueue=follow_ups)
    result = await email.send(payload(), job_context(), deps)
    assert (result["successful"], result["failed"]) == (1, 1)
    rejected = result["results"][1]
    assert rejected["status"] == "failed" and rejected["retryable"] is False
    assert "InvalidParameterValue" in rejected["error"]
    assert "followUp" not in result and follow_ups.calls == []


@pytest.mark.parametrize("address", ["nobody", "ann@", "@example.com", "a b@example.com"])
def test_a_malformed_address_is_refused_before_any_job_exists(address: str) -> None:
    with pytest.raises(ValidationError, match=r"to\.1"):
        payload(to=["ann@example.com", address])


async def test_throttled_recipients_get_one_follow_up_job(ses: Any) -> None:
    follow_ups = Recorder()
    deps = email.EmailDeps(Throttled(ses, {"bob@example.com"}), SENDER, enqueue=follow_ups)
    result = await email.send(payload(), job_context("01ABC"), deps)
    assert (result["successful"], result["failed"]) == (1, 1)
    assert result["followUp"] == {
        "jobId": "01ABC.r1",
        "recipients": ["bob@example.com"],
        "delayMs": 60_000,
    }
    [(queue, follow_up, job_id, delay)] = follow_ups.calls
    assert (queue, job_id, delay) == ("email", "01ABC.r1", 60_000)
    assert isinstance(follow_up, email.EmailPayload)
    assert follow_up.to == ["bob@example.com"]
    assert follow_up.template_data == payload().template_data


async def test_follow_ups_stop_after_three_rounds(ses: Any) -> None:
    follow_ups = Recorder()
    deps = email.EmailDeps(Throttled(ses, {"bob@example.com"}), SENDER, enqueue=follow_ups)
    second = await email.send(payload(), job_context("01ABC.r1"), deps)
    assert second["followUp"]["jobId"] == "01ABC.r2"
    assert second["followUp"]["delayMs"] == 120_000
    last = await email.send(payload(), job_context("01ABC.r3"), deps)
    assert "followUp" not in last and last["failed"] == 1


async def test_when_every_recipient_is_throttled_the_attempt_retries(ses: Any) -> None:
    deps = email.EmailDeps(Throttled(ses, {"ann@example.com", "bob@example.com"}), SENDER)
    with pytest.raises(TransientDeliveryError):
        await email.send(payload(), job_context(), deps)


async def test_an_unverified_sender_fails_without_retry(ses: Any) -> None:
    deps = email.EmailDeps(ses, "stranger@elsewhere.example")
    with pytest.raises(NonRetryableError, match="MessageRejected"):
        await email.send(payload(), job_context(), deps)


async def test_html_templates_are_sent_as_html_with_values_escaped(ses: Any) -> None:
    html_payload = payload(template="<p>Hi {{name}}</p>", templateData={"name": "<b>"})
    content = email.build_content(html_payload)
    body = {"Html": {"Data": "<p>Hi &lt;b&gt;</p>", "Charset": "UTF-8"}}
    assert content["Simple"]["Body"] == body


async def test_the_queue_handler_reads_the_sender_from_settings(
    ses: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORRAL_EMAIL_SENDER", SENDER)
    get_settings.cache_clear()
    result = await email.handle(payload(to=["ann@example.com"]), job_context())
    assert result["successful"] == 1
    assert sent_messages()[0].source == SENDER


async def test_through_the_engine_a_partial_failure_completes_and_its_follow_up_runs(
    ses: Any, redis: Any, prefix: str, clock: Any
) -> None:
    throttled = Throttled(ses, {"bob@example.com"})

    async def enqueue_now(
        definition: QueueDefinition, follow_up: BaseModel, job_id: str, delay_ms: int
    ) -> bool:
        options = JobOptions(job_id=job_id, delay=delay_ms)
        added = await queue.add(follow_up, options)
        return added.created

    deps = email.EmailDeps(throttled, SENDER, enqueue=enqueue_now)

    async def handler(data: email.EmailPayload, job: Any) -> Any:
        return await email.send(data, job, deps)

    queue = engine_queue(redis, prefix, email.queue, handler, clock)
    added = await queue.add(payload().model_dump(by_alias=True))
    await drain(queue)
    first = await stored_job(queue, added.job_id)
    assert first.state is JobState.COMPLETED
    assert (first.result["successful"], first.result["failed"]) == (1, 1)
    assert await logged(queue, added.job_id) == [
        "sent to 1 of 2 recipients; 1 throttled, 0 rejected",
        f"follow-up job {added.job_id}.r1 retries 1 recipients in 60000 ms",
    ]
    follow_up_id = first.result["followUp"]["jobId"]
    assert follow_up_id == f"{added.job_id}.r1"

    follow_up = await stored_job(queue, follow_up_id)
    assert follow_up.state is JobState.DELAYED
    throttled.throttled.clear()
    clock.advance(60_000)
    await drain(queue)
    second = await stored_job(queue, follow_up_id)
    assert second.state is JobState.COMPLETED
    assert second.data["to"] == ["bob@example.com"]
    assert (second.result["total"], second.result["successful"]) == (1, 1)
    assert len(sent_messages()) == 2


async def test_a_follow_up_is_recorded_like_any_job_and_enqueued_once(
    redis: Any, prefix: str
) -> None:
    dynamodb = client("dynamodb")
    dynamodb.create_table(**table_definition("jobs-test"))
    store = JobStore(dynamodb, "jobs-test")
    enqueue = durable_enqueue(redis, store, prefix=prefix)
    follow_up = payload(to=["bob@example.com"])
    try:
        assert await enqueue(email.queue, follow_up, "01ABC.r1", 60_000) is True
        assert await enqueue(email.queue, follow_up, "01ABC.r1", 60_000) is False
        record = store.get("email", "01ABC.r1")
    finally:
        store.close()
    assert record is not None
    assert (record.status, record.tenant) == (JobStatus.PENDING, TENANT)
    assert record.data["to"] == ["bob@example.com"]
    queued = await Queue(redis, email.queue, prefix=prefix).get_job("01ABC.r1")
    assert queued is not None and queued.state is JobState.DELAYED


async def test_the_default_follow_up_path_uses_the_deployments_table_and_redis(
    redis: Any, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client("dynamodb").create_table(**table_definition("jobs-test"))
    monkeypatch.setenv("CORRAL_TABLE", "jobs-test")
    monkeypatch.setenv("CORRAL_KEY_PREFIX", prefix)
    get_settings.cache_clear()
    assert await enqueue_in_deployment(email.queue, payload(), "01DEF.r1", 1000) is True
    queued = await Queue(redis, email.queue, prefix=prefix).get_job("01DEF.r1")
    assert queued is not None and queued.data["to"] == payload().to
