"""Final failures: one dead letter per job, then the record marked ``failed``.

The order makes the dead letter the durable part: a job is only reported failed once its
letter is in the queue. A letter that was sent but whose record could not be written is
remembered, so the retry of that write does not send a second letter.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from corral.dlq import DeadLetter, DeadLetterQueue
from corral.job import JobStatus
from corral.records import OutcomeRecord
from corral.store import JobStore, now_ms

logger = logging.getLogger(__name__)

OPEN_STATUSES = frozenset({JobStatus.PENDING, JobStatus.PROCESSING})

SENT_MEMORY = 10_000
"""Job ids whose letters went out but whose records are not yet written (bounded)."""


@dataclass(slots=True)
class FinalFailure:
    """A job that failed for good, with what its dead letter carries."""

    queue: str
    job_id: str
    tenant: str
    attempt: int
    error: Any
    data: Any = None
    options: dict[str, Any] | None = None
    started_at: int | None = None


def parse_json(text: str | None) -> Any:
    """JSON text from Redis or an outcome, or the text itself if it does not parse."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class FailureRecorder:
    """Sends dead letters and marks records failed.

    Args:
        store: the job table.
        dlq: the dead-letter queue; None records the failure only.
        clock: now in epoch ms.
    """

    def __init__(
        self,
        store: JobStore,
        dlq: DeadLetterQueue | None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.store = store
        self.dlq = dlq
        self.clock = clock
        self._sent: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()  # pollers of several queues may share one recorder

    def letters_for(self, failures: Sequence[FinalFailure]) -> list[DeadLetter]:
        now = self.clock()
        return [
            DeadLetter(
                queue=f.queue,
                job_id=f.job_id,
                tenant=f.tenant,
                error=f.error,
                attempts_made=f.attempt,
                failed_at=now,
                data=f.data,
                options=f.options or {},
            )
            for f in failures
        ]

    def send(self, failures: Sequence[FinalFailure]) -> set[str]:
        """Send the letters not sent yet; returns the ids whose letters could not be sent."""
        if self.dlq is None:
            return set()
        with self._lock:
            todo = [f for f in failures if f.job_id not in self._sent]
        if not todo:
            return set()
        unsent = set(self.dlq.send_many(self.letters_for(todo)))
        with self._lock:
            for f in todo:
                if f.job_id not in unsent:
                    self._sent[f.job_id] = None
            while len(self._sent) > SENT_MEMORY:
                self._sent.popitem(last=False)
        return unsent

    def records(self, failures: Sequence[FinalFailure]) -> list[OutcomeRecord]:
        now = self.clock()
        return [
            OutcomeRecord(
                f.queue,
                f.job_id,
                f.tenant,
                JobStatus.FAILED,
                f.attempt,
                now,
                payload=json.dumps(f.error, separators=(",", ":"), default=str),
                started_at=f.started_at,
            )
            for f in failures
        ]

    def written(self, job_ids: Sequence[str]) -> None:
        """Forget the letters of jobs whose failed records are now durable."""
        with self._lock:
            for job_id in job_ids:
                self._sent.pop(job_id, None)

    def still_open(self, failures: Sequence[FinalFailure]) -> list[FinalFailure]:
        """The failures whose records are not final yet.

        A job Redis failed by itself (too many stalls) may have completed in an earlier run
        whose lease lapsed: its record says so, and it gets no dead letter.
        """
        keep = []
        for f in failures:
            record = self.store.get(f.queue, f.job_id, resolve=False)
            if record is None or record.status in OPEN_STATUSES:
                keep.append(f)
            else:
                logger.info("job %s is already %s; no dead letter", f.job_id, record.status)
        return keep

    async def record(self, failures: Sequence[FinalFailure]) -> list[str]:
        """Letters first, then records; returns the ids that are not durable yet."""
        failures = await asyncio.to_thread(self.still_open, failures)
        if not failures:
            return []
        unsent = await asyncio.to_thread(self.send, failures)
        ready = [f for f in failures if f.job_id not in unsent]
        unwritten = await asyncio.to_thread(self.store.record_outcomes, self.records(ready))
        self.written([f.job_id for f in ready if f.job_id not in set(unwritten)])
        if unsent:
            logger.warning("%d dead letters could not be sent; will retry", len(unsent))
        return [*unsent, *unwritten]
