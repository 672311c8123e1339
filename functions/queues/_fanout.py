"""Per-recipient delivery for the email and sms queues, and what a partial failure does.

Each recipient is sent on its own and gets its own result. How the job ends:

- everything sent, or some sent: the job completes with the counts. Recipients that failed
  for a transient reason (throttling) are sent again by one follow-up job on the same queue,
  enqueued with a delay and an id derived from this job's id (``<id>.r1``, ``.r2``...), so a
  re-run of this job never enqueues it twice. Rejected recipients are final.
- nothing sent and some failures transient: the attempt fails and the engine retries the
  job with backoff (nothing was delivered, so the retry duplicates nothing).
- nothing sent and every failure final: the job fails without retry.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from corral.context import JobContext
from corral.definition import QueueDefinition
from corral.errors import NonRetryableError
from corral.queue import now_ms
from pydantic import BaseModel

from queues._common import error_code, is_transient

MAX_FOLLOW_UPS = 3
FOLLOW_UP_DELAY_MS = 60_000
_ROUND = re.compile(r"\.r(\d+)$")
Clock = Callable[[], int]


def classify(exc: Exception) -> tuple[str, bool] | None:
    """A recipient's failure as ``(message, retryable)``; None if it is not an AWS error.

    Shared by the email and sms queues, so that neither imports the other (each poller's
    permissions follow the code its own queue runs).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        return f"{error_code(exc)}: {exc}", is_transient(exc)
    if isinstance(exc, BotoCoreError):
        return str(exc), is_transient(exc)
    return None


class TransientDeliveryError(Exception):
    """No recipient could be reached, for reasons that may pass: retry the job."""


@dataclass(slots=True)
class Delivery:
    """What happened to one recipient."""

    recipient: str
    status: Literal["sent", "failed"]
    message_id: str | None = None
    error: str | None = None
    retryable: bool = False

    def as_result(self) -> dict[str, Any]:
        result: dict[str, Any] = {"recipient": self.recipient, "status": self.status}
        if self.message_id is not None:
            result["messageId"] = self.message_id
        if self.error is not None:
            result["error"] = self.error
            result["retryable"] = self.retryable
        return result


class Enqueue(Protocol):
    """Enqueue ``payload`` on ``queue`` as job ``job_id`` after ``delay_ms``; True if new."""

    def __call__(
        self, queue: QueueDefinition, payload: BaseModel, job_id: str, delay_ms: int, /
    ) -> Awaitable[bool]: ...


def deliver(
    recipients: Sequence[str],
    send_one: Callable[[str], str],
    classify: Callable[[Exception], tuple[str, bool] | None],
    job: JobContext,
) -> list[Delivery]:
    """Send to each recipient in turn, reporting progress as a percentage.

    ``classify(exc)`` returns ``(message, retryable)`` for a per-recipient failure, or None
    for an error that is not about the recipient (it propagates and fails the attempt).
    """
    deliveries: list[Delivery] = []
    total = len(recipients)
    for index, recipient in enumerate(recipients, 1):
        try:
            deliveries.append(Delivery(recipient, "sent", message_id=send_one(recipient)))
        except Exception as exc:
            verdict = classify(exc)
            if verdict is None:
                raise
            message, retryable = verdict
            deliveries.append(Delivery(recipient, "failed", error=message, retryable=retryable))
        job.progress(index * 100 // total)
    return deliveries


def follow_up_id(job_id: str) -> str | None:
    """The id of this job's follow-up, or None once the chain is ``MAX_FOLLOW_UPS`` long."""
    match = _ROUND.search(job_id)
    done = int(match.group(1)) if match else 0
    if done >= MAX_FOLLOW_UPS:
        return None
    root = job_id[: match.start()] if match else job_id
    return f"{root}.r{done + 1}"


async def settle_deliveries(
    deliveries: list[Delivery],
    job: JobContext,
    queue: QueueDefinition,
    retry_payload: Callable[[list[str]], BaseModel],
    enqueue: Enqueue,
) -> dict[str, Any]:
    """Turn per-recipient outcomes into the job's result, or into the attempt's error."""
    sent = [d for d in deliveries if d.status == "sent"]
    transient = [d.recipient for d in deliveries if d.status == "failed" and d.retryable]
    rejected = len(deliveries) - len(sent) - len(transient)
    job.log(
        f"sent to {len(sent)} of {len(deliveries)} recipients; "
        f"{len(transient)} throttled, {rejected} rejected"
    )
    if not sent and transient:
        raise TransientDeliveryError(f"no recipient reached; {len(transient)} throttled")
    if not sent:
        first = deliveries[0].error
        raise NonRetryableError(f"every recipient was rejected (first: {first})")
    result: dict[str, Any] = {
        "total": len(deliveries),
        "successful": len(sent),
        "failed": len(deliveries) - len(sent),
        "results": [d.as_result() for d in deliveries],
    }
    next_id = follow_up_id(job.id) if transient else None
    if next_id is not None:
        # Each round waits longer: throttling that outlasted one minute may outlast two.
        delay = FOLLOW_UP_DELAY_MS * int(next_id.rsplit(".r", 1)[1])
        await enqueue(queue, retry_payload(transient), next_id, delay)
        result["followUp"] = {"jobId": next_id, "recipients": transient, "delayMs": delay}
        job.log(f"follow-up job {next_id} retries {len(transient)} recipients in {delay} ms")
    return result


def durable_enqueue(redis: Any, store: Any, *, prefix: str, clock: Clock = now_ms) -> Enqueue:
    """An ``Enqueue`` that takes the API's path: the job record first, then Redis.

    A follow-up is then as durable and as visible (``GET /jobs/...``) as any job, and
    its derived id makes a second enqueue of the same follow-up a no-op.
    """
    from corral.intake import Intake
    from corral.job import JobOptions
    from corral.queue import Queue

    async def enqueue(queue: QueueDefinition, payload: BaseModel, job_id: str, delay: int) -> bool:
        tenant = str(getattr(payload, "sub_account_id"))  # noqa: B009 (every payload has one)
        target = Queue(redis, queue, prefix=prefix, clock=clock)
        data = payload.model_dump(mode="json", by_alias=True)
        options = JobOptions(job_id=job_id, delay=delay)
        [accepted] = await Intake(target, store, tenant, clock).run([(data, options)])
        return not accepted.deduplicated

    return enqueue


async def enqueue_in_deployment(
    queue: QueueDefinition, payload: BaseModel, job_id: str, delay_ms: int
) -> bool:
    """The default ``Enqueue``: the deployment's job table and Redis, for this one call.

    Follow-ups are rare (partial failures only), so short-lived clients cost less than
    keeping a Redis client bound to an event loop that a later invocation may not reuse.
    """
    from corral.redis_client import create_redis
    from corral.settings import get_settings
    from corral.store import JobStore

    from queues._common import aws_client

    settings = get_settings()
    redis: Any = create_redis(settings)
    store = JobStore(aws_client("dynamodb"), settings.table)
    try:
        enqueue = durable_enqueue(redis, store, prefix=settings.key_prefix)
        return await enqueue(queue, payload, job_id, delay_ms)
    finally:
        store.close()
        await redis.aclose()
