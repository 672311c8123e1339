"""What a handler sees of its job besides the payload."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from corral.clock import now_ms
from corral.errors import JobCancelledError

MAX_LOG_LINE_CHARS = 4096
"""A longer log message is cut to this many characters (a log holds 64 KB in all)."""


def log_entry(message: str, ts: int) -> str:
    """One log line as Redis keeps it: ``{"ts": ms, "message": text}``."""
    text = str(message)
    if len(text) > MAX_LOG_LINE_CHARS:
        text = text[: MAX_LOG_LINE_CHARS - 1] + "…"
    return json.dumps({"ts": ts, "message": text}, ensure_ascii=False, separators=(",", ":"))


@dataclass(slots=True)
class JobContext:
    """The running job: its id and attempt (for idempotency), a progress reporter, a log,
    and whether someone asked to cancel it.

    ``progress()`` and ``log()`` may be called from async handlers and from sync handlers
    running in a worker thread alike; they are written to Redis without blocking.
    """

    id: str
    queue: str
    attempt: int
    attempts: int
    group: str
    created_at: int
    timeout_ms: int
    _report: Callable[[str, Any], None] | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _log: Callable[[str, str], None] | None = field(default=None, repr=False)
    _cancel_requested: bool = field(default=False, repr=False)
    """Set on the event loop, read from a sync handler's thread (a plain flag: an Event
    per job costs more than the whole context)."""
    children_results: dict[str, Any] = field(default_factory=dict)
    """A flow parent's children's results, by child job id (``corral.flows``)."""
    children_failures: dict[str, Any] = field(default_factory=dict)
    """Errors of children that failed with ``ignoreDependencyOnFailure``, by child job id."""

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.attempts

    @property
    def cancelled(self) -> bool:
        """Whether the job was cancelled while it runs (``DELETE /jobs/{queue}/{id}``)."""
        return self._cancel_requested

    def mark_cancelled(self) -> None:
        """Flag the job cancelled (the drain loop's part, when a cancel request reaches it)."""
        self._cancel_requested = True

    def raise_if_cancelled(self) -> None:
        """Raise ``JobCancelledError`` if the job was cancelled: the job ends ``cancelled``."""
        if self._cancel_requested:
            raise JobCancelledError(f"job {self.id} was cancelled")

    def progress(self, value: Any) -> None:
        """Report progress (a number 0-100 or any JSON value)."""
        self._call_on_loop(self._report, value)

    def log(self, message: str) -> None:
        """Append a line to the job's log (``GET /jobs/{queue}/{id}/logs``).

        A log keeps the newest 1,000 lines and 64 KB; older lines are dropped first.
        """
        self._call_on_loop(self._log, log_entry(message, now_ms()))

    def _call_on_loop(self, fn: Callable[[str, Any], None] | None, value: Any) -> None:
        if fn is None or self._loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            fn(self.id, value)
        else:
            self._loop.call_soon_threadsafe(fn, self.id, value)
