"""Run one claimed job: parse its payload once, call its handler under its timeout, and
turn what happened into an ``Outcome`` (completed, retry later, or failed for good)."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_json

from corral.backoff import retry_delay
from corral.clock import now_ms
from corral.context import JobContext
from corral.definition import QueueDefinition
from corral.errors import JobCancelledError, JobTimeoutError, NonRetryableError
from corral.queue import ClaimedJob, Outcome

MAX_STACK_CHARS = 4000
logger = logging.getLogger(__name__)


def error_payload(exc: BaseException) -> str:
    """The JSON kept as a failed attempt's error: message, type and a bounded stack.

    The stack names server files, so only operators see it: the logs, and admins through
    the API; tenants and event subscribers get ``public_error``.
    """
    stack = "".join(traceback.format_exception(exc))[-MAX_STACK_CHARS:]
    message = str(exc) or type(exc).__name__
    return json.dumps({"message": message, "type": type(exc).__name__, "stack": stack})


def public_error(error: Any) -> Any:
    """An error without its stack: the message and type are what a tenant acts on."""
    if isinstance(error, dict):
        return {k: v for k, v in error.items() if k != "stack"}
    return error


class JobExecutor:
    """Calls a queue's handler for claimed jobs.

    Async handlers run on the event loop; sync handlers run in a thread pool so that they
    cannot stall heartbeats or other jobs. A sync handler that overruns its timeout is
    failed on time, but its thread runs on until the handler returns.
    """

    def __init__(
        self,
        definition: QueueDefinition,
        report_progress: Callable[[str, Any], None],
        executor: Executor | None = None,
        clock: Callable[[], int] = now_ms,
        report_log: Callable[[str, str], None] | None = None,
    ) -> None:
        self.definition = definition
        self._parse = definition.payload.model_validate_json
        self._handler = definition.handler
        self._is_async = asyncio.iscoroutinefunction(definition.handler)
        self._report = report_progress
        self._executor = executor
        self._clock = clock
        self._log = report_log
        self._contexts: dict[str, JobContext] = {}

    @property
    def is_async(self) -> bool:
        """Whether the handler is a coroutine function (it can be cancelled as a task)."""
        return self._is_async

    def request_cancel(self, job_id: str) -> None:
        """Tell a running job's handler it was cancelled (``JobContext.cancelled``)."""
        ctx = self._contexts.get(job_id)
        if ctx is not None:
            ctx.mark_cancelled()

    async def run(self, job: ClaimedJob) -> Outcome:
        """Run the handler; the caller enforces the timeout (see ``timed_out``)."""
        started = time.monotonic()
        try:
            payload = self._parse(job.data)
            loop = asyncio.get_running_loop()
            options = job.options
            ctx = JobContext(
                job.id,
                self.definition.name,
                job.attempt,
                options.attempts,
                job.group,
                job.created_at,
                options.timeout,
                self._report,
                loop,
                self._log,
                children_results=options.children_results or {},
                children_failures=options.children_failures or {},
            )
            self._contexts[job.id] = ctx
            if self._is_async:
                result = await self._handler(payload, ctx)
            else:
                # In the invocation's context, so the handler's log lines carry its keys.
                call = contextvars.copy_context().run
                result = await loop.run_in_executor(
                    self._executor, call, self._handler, payload, ctx
                )
        except Exception as exc:
            return self._ended(job, exc, started)
        finally:
            self._contexts.pop(job.id, None)
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(job, "c", to_json(result).decode(), duration_ms=elapsed)

    def _ended(self, job: ClaimedJob, exc: Exception, started: float) -> Outcome:
        """The outcome of a handler that raised."""
        ctx = self._contexts.get(job.id)
        if isinstance(exc, JobCancelledError) or (ctx is not None and ctx.cancelled):
            # Whatever a cancelled job raises ends it: it is never retried.
            return self.cancelled(job, started)
        # A payload validated on the way in that no longer parses: no retry can help.
        final = isinstance(exc, ValidationError | NonRetryableError)
        return self._failed(job, exc, started, retryable=not final)

    def cancelled(self, job: ClaimedJob, started: float) -> Outcome:
        """The outcome of a job cancelled while it ran: final, never retried."""
        elapsed = int((time.monotonic() - started) * 1000)
        error = JobCancelledError(f"job {job.id} was cancelled while it ran")
        return Outcome(job, "x", error_payload(error), duration_ms=elapsed)

    def timed_out(self, job: ClaimedJob, started: float) -> Outcome:
        """The outcome of a job whose handler was cancelled for overrunning its timeout."""
        error = JobTimeoutError(f"job exceeded its timeout of {job.options.timeout} ms")
        return self._failed(job, error, started, retryable=True)

    def _failed(
        self, job: ClaimedJob, exc: BaseException, started: float, *, retryable: bool
    ) -> Outcome:
        elapsed = int((time.monotonic() - started) * 1000)
        payload = error_payload(exc)
        # Failures are not the hot path; this is where the stack reaches the logs.
        # A failed job is the handler's outcome, not a crash of the poller: its frames go
        # in a ``stack`` field of the line rather than as an exception traceback.
        frames = "".join(traceback.format_tb(exc.__traceback__))[-MAX_STACK_CHARS:]
        logger.warning(
            "job %s failed on attempt %d: %s: %s",
            job.id,
            job.attempt,
            type(exc).__name__,
            str(exc)[:200],
            extra={"job_id": job.id, "queue": self.definition.name, "stack": frames},
        )
        if retryable and job.attempt < job.options.attempts:
            retry_at = self._clock() + retry_delay(job.options.backoff, job.attempt)
            return Outcome(job, "r", payload, retry_at, duration_ms=elapsed)
        return Outcome(job, "f", payload, duration_ms=elapsed)
