"""Errors raised by the engine, and the Lua return codes they come from."""

from __future__ import annotations

from enum import IntEnum


class ScriptCode(IntEnum):
    """Negative codes returned by the Lua scripts."""

    MISSING = -1
    LEASE_LOST = -2
    ACTIVE = -3
    FINISHED = -4
    NOT_RETRYABLE_STATE = -5
    NOT_DELAYED = -6
    NOT_STARTED = -7
    WAITING_QUOTA = -8


class CorralError(Exception):
    """Base class of corral's errors."""


class UnknownQueueError(CorralError):
    """No queue is defined with that name."""


class JobNotFoundError(CorralError):
    """No job with that id (in this queue, for this tenant)."""


class JobStateError(CorralError):
    """The job is in a state that does not allow the operation."""

    def __init__(self, message: str, state: str | None = None) -> None:
        super().__init__(message)
        self.state = state


class LeaseLostError(CorralError):
    """The worker no longer holds the job: its lease expired and it moved on."""


class InvalidIdentifierError(CorralError, ValueError):
    """A name or id that cannot be used inside a Redis key."""


class NonRetryableError(CorralError):
    """Raise from a handler to fail the job at once, without further attempts."""


class JobCancelledError(CorralError):
    """The job was cancelled while it ran (``JobContext.raise_if_cancelled`` raises it)."""


class JobTimeoutError(CorralError):
    """A handler ran past its job's timeout."""


class QuotaExceededError(CorralError):
    """A tenant is over one of its quotas (``corral.quotas``); ``retry_after_s`` says
    when to try again."""

    def __init__(self, message: str, retry_after_s: int = 60) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)


class WaitingQuotaError(QuotaExceededError):
    """The tenant has as many jobs waiting in the queue as its quota allows."""

    WAIT_S = 5
    """Waiting jobs leave as fast as the queue drains; a few seconds is a fair guess."""

    def __init__(self, waiting: int, limit: int) -> None:
        super().__init__(
            f"the tenant has {waiting} jobs waiting in this queue (quota {limit}); "
            "retry once some have run",
            self.WAIT_S,
        )


def raise_for_code(code: int, job_id: str) -> None:
    """Turn a script's negative return code into the matching exception."""
    if code >= 0:
        return
    match ScriptCode(code):
        case ScriptCode.MISSING:
            raise JobNotFoundError(f"job {job_id} not found")
        case ScriptCode.LEASE_LOST:
            raise LeaseLostError(f"lease on job {job_id} was lost")
        case ScriptCode.ACTIVE:
            raise JobStateError(f"job {job_id} is running", "active")
        case ScriptCode.FINISHED:
            raise JobStateError(f"job {job_id} already finished", "finished")
        case ScriptCode.NOT_STARTED:
            raise JobStateError(f"job {job_id} has not started", "pending")
        case ScriptCode.NOT_RETRYABLE_STATE:
            raise JobStateError(f"job {job_id} is neither failed nor cancelled", "pending")
        case ScriptCode.NOT_DELAYED:
            raise JobStateError(f"job {job_id} is not delayed", "not delayed")
