"""What a handler sees of its job besides the payload."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class JobContext:
    """The running job: its id and attempt (for idempotency) and a progress reporter.

    ``progress()`` may be called from async handlers and from sync handlers running in
    a worker thread alike; the latest value is written to Redis without blocking.
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
    children_results: dict[str, Any] = field(default_factory=dict)
    """A flow parent's children's results, by child job id (``corral.flows``)."""
    children_failures: dict[str, Any] = field(default_factory=dict)
    """Errors of children that failed with ``ignoreDependencyOnFailure``, by child job id."""

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.attempts

    def progress(self, value: Any) -> None:
        """Report progress (a number 0-100 or any JSON value)."""
        if self._report is None or self._loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._report(self.id, value)
        else:
            self._loop.call_soon_threadsafe(self._report, self.id, value)
