"""The ``email`` queue: one SES v2 message per recipient, rendered from a ``{{variable}}``
template; partial failures complete the job and follow up on throttled recipients."""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass
from functools import partial
from typing import Any

from corral.context import JobContext
from corral.definition import QueueDefinition, RateLimit
from corral.errors import NonRetryableError
from corral.settings import get_settings
from pydantic import EmailStr, Field

from queues._common import TenantPayload, aws_client
from queues._fanout import (
    Enqueue,
    classify,
    deliver,
    enqueue_in_deployment,
    settle_deliveries,
)

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
_HTML_TAG = re.compile(r"<[A-Za-z][^>]*>")


class EmailPayload(TenantPayload):
    """``to[]``, ``subject``, ``template`` (the body) and the data its variables name."""

    to: list[EmailStr] = Field(min_length=1, max_length=500)
    subject: str = Field(min_length=1, max_length=998)
    template: str = Field(min_length=1, max_length=256_000)
    template_data: dict[str, Any] = Field(default_factory=dict)


def _lookup(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise NonRetryableError(f"template variable {path!r} is missing from templateData")
        value = value[part]
    return value


def render(template: str, data: dict[str, Any], *, escape: bool = False) -> str:
    """Replace each ``{{name}}`` (or ``{{a.b}}``) with its value; a missing one is an error."""

    def substitute(match: re.Match[str]) -> str:
        text = str(_lookup(data, match.group(1)))
        return html.escape(text) if escape else text

    return _VARIABLE.sub(substitute, template)


@dataclass(frozen=True)
class EmailDeps:
    """What the email logic talks to; tests pass moto clients and their own enqueue."""

    ses: Any
    sender: str
    configuration_set: str = ""
    enqueue: Enqueue = enqueue_in_deployment


def _send_one(deps: EmailDeps, content: dict[str, Any], recipient: str) -> str:
    request: dict[str, Any] = {
        "FromEmailAddress": deps.sender,
        "Destination": {"ToAddresses": [recipient]},
        "Content": content,
    }
    if deps.configuration_set:
        request["ConfigurationSetName"] = deps.configuration_set
    return str(deps.ses.send_email(**request)["MessageId"])


def build_content(payload: EmailPayload) -> dict[str, Any]:
    """The SES ``Simple`` content: HTML (values escaped) if the template has tags, else text."""
    is_html = _HTML_TAG.search(payload.template) is not None
    body = render(payload.template, payload.template_data, escape=is_html)
    subject = render(payload.subject, payload.template_data)
    part = {"Data": body, "Charset": "UTF-8"}
    return {
        "Simple": {
            "Subject": {"Data": subject, "Charset": "UTF-8"},
            "Body": {"Html": part} if is_html else {"Text": part},
        }
    }


async def send(payload: EmailPayload, job: JobContext, deps: EmailDeps) -> dict[str, Any]:
    """Render once, send to each recipient, and shape the job's result."""
    if not deps.sender:
        raise NonRetryableError("no sender address configured (CORRAL_EMAIL_SENDER)")
    content = build_content(payload)
    send_one = partial(_send_one, deps, content)
    deliveries = await asyncio.to_thread(deliver, payload.to, send_one, classify, job)
    return await settle_deliveries(
        deliveries,
        job,
        queue,
        lambda failed: payload.model_copy(update={"to": failed}),
        deps.enqueue,
    )


def default_deps() -> EmailDeps:
    settings = get_settings()
    return EmailDeps(aws_client("sesv2"), settings.email_sender, settings.email_configuration_set)


async def handle(payload: EmailPayload, job: JobContext) -> dict[str, Any]:
    """The queue's handler: ``{total, successful, failed, results, followUp?}``."""
    return await send(payload, job, default_deps())


queue = QueueDefinition(
    name="email",
    payload=EmailPayload,
    handler=handle,
    grants=("send-email",),
    concurrency=8,
    rate_limit=RateLimit(max=14, duration_ms=1000),
    attempts=5,
    timeout_ms=120_000,
    description="SES v2 email, one message per recipient",
    # An I/O-bound handler: the poller peaks near 75 MB (imports and clients), and a
    # Lambda bills its memory for every second it runs.
    poller_memory_mb=128,
)
