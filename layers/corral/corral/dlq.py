"""The SQS dead-letter queue: one message per job that failed for good, and its redrive."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

logger = logging.getLogger(__name__)

MAX_BODY = 240 * 1024
"""SQS takes 256 KiB per message, attributes included; past this the data is left out
(the job record still holds it, and redrive reads it from there)."""


@dataclass(slots=True)
class DeadLetter:
    """What the dead-letter queue keeps of a failed job."""

    queue: str
    job_id: str
    tenant: str
    error: Any
    attempts_made: int
    failed_at: int
    data: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    data_omitted: bool = False

    def to_body(self) -> str:
        body = json.dumps(asdict(self), separators=(",", ":"), default=str)
        if len(body.encode()) <= MAX_BODY:
            return body
        slim = asdict(self) | {"data": None, "data_omitted": True}
        return json.dumps(slim, separators=(",", ":"), default=str)

    @classmethod
    def from_body(cls, body: str) -> DeadLetter:
        """Parse a message body (raises ValueError / KeyError / TypeError if malformed)."""
        return cls(**json.loads(body))


@dataclass
class RedriveReport:
    """What a redrive did: jobs moved back, messages of other queues left, failures."""

    moved: list[str] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)
    """The tenant of each moved job (for the audit of who touched whose job)."""
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    more: bool = False


Requeue = Callable[[DeadLetter], Awaitable[None]]
"""Makes a dead letter's job durable again (record pending, then in Redis)."""


class DeadLetterQueue:
    """One SQS queue of dead letters (shared by queues, told apart by the ``queue`` field).

    Args:
        sqs: a boto3 SQS client (built with ``retries={"mode": "standard"}``).
        url: the queue's URL.
        wait_s: long-poll seconds while redriving (short polls can miss messages).
        visibility_s: how long a received message stays hidden; messages of another
            queue, or that failed to move, reappear after it.
    """

    def __init__(self, sqs: SQSClient, url: str, *, wait_s: int = 1, visibility_s: int = 60):
        self.sqs = sqs
        self.url = url
        self.wait_s = wait_s
        self.visibility_s = visibility_s

    def _attributes(self, letter: DeadLetter) -> dict[str, Any]:
        return {
            name: {"DataType": "String", "StringValue": value}
            for name, value in (
                ("queue", letter.queue),
                ("tenant", letter.tenant),
                ("jobId", letter.job_id),
            )
        }

    def send(self, letter: DeadLetter) -> None:
        """Send one dead letter."""
        self.sqs.send_message(
            QueueUrl=self.url,
            MessageBody=letter.to_body(),
            MessageAttributes=self._attributes(letter),
        )

    def send_many(self, letters: Sequence[DeadLetter]) -> list[str]:
        """Send dead letters ten to a request; returns the job ids that were not sent."""
        failed: list[str] = []
        for start in range(0, len(letters), 10):
            chunk = letters[start : start + 10]
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {
                    "Id": str(i),
                    "MessageBody": letter.to_body(),
                    "MessageAttributes": self._attributes(letter),
                }
                for i, letter in enumerate(chunk)
            ]
            try:
                reply = self.sqs.send_message_batch(QueueUrl=self.url, Entries=entries)
            except Exception:
                logger.warning("sending %d dead letters failed", len(chunk), exc_info=True)
                failed.extend(letter.job_id for letter in chunk)
                continue
            failed.extend(chunk[int(entry["Id"])].job_id for entry in reply.get("Failed", []))
        return failed

    def approximate_count(self) -> int:
        """Messages in the queue, as SQS estimates it."""
        reply = self.sqs.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(reply.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))

    def _receive(self) -> list[dict[str, Any]]:
        reply = self.sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self.wait_s,
            VisibilityTimeout=self.visibility_s,
        )
        return list(reply.get("Messages", []))  # type: ignore[arg-type]

    async def redrive(
        self, queue: str, requeue: Requeue, *, limit: int = 100, budget_s: float = 20.0
    ) -> RedriveReport:
        """Move up to ``limit`` dead letters of ``queue`` back, each deleted once requeued.

        Stops when the queue is drained, at ``limit``, or after ``budget_s`` seconds (an
        API call must answer); ``more`` says whether to call again.
        """
        report = RedriveReport()
        deadline = time.monotonic() + budget_s
        while len(report.moved) + len(report.failed) < limit:
            if time.monotonic() > deadline:
                report.more = True
                break
            messages = await asyncio.to_thread(self._receive)
            if not messages:
                break
            repeats = 0
            for message in messages:
                repeats += await self._redrive_one(queue, message, requeue, report)
            if repeats == len(messages):
                # Only letters of jobs this call already moved, which failed again since:
                # stop, rather than run a fast-failing job over and over in one call.
                break
        else:
            report.more = True
        return report

    async def _redrive_one(
        self, queue: str, message: dict[str, Any], requeue: Requeue, report: RedriveReport
    ) -> bool:
        """Requeue one letter; True if its job was already moved by this call (left alone)."""
        try:
            letter = DeadLetter.from_body(message["Body"])
        except (ValueError, KeyError, TypeError):
            logger.warning("dead letter %s is malformed; left in place", message.get("MessageId"))
            report.skipped += 1
            return False
        if letter.queue != queue:
            report.skipped += 1
            return False
        if letter.job_id in report.moved:
            # It reappears after the visibility timeout, for the next redrive.
            return True
        try:
            await requeue(letter)
        except Exception:
            # Left in the queue: it reappears after the visibility timeout.
            logger.warning("redrive of job %s failed", letter.job_id, exc_info=True)
            report.failed.append(letter.job_id)
            return False
        await asyncio.to_thread(
            self.sqs.delete_message, QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"]
        )
        report.moved.append(letter.job_id)
        report.owners[letter.job_id] = letter.tenant
        return False
