"""Invoking the functions in-process, as Lambda would: a context with a deadline, one
invocation per thread at a time, async invokes that return at once."""

from __future__ import annotations

import contextvars
import importlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from infra.local.template import FunctionSize

logger = logging.getLogger("corral.local")

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LocalContext:
    """The Lambda context a handler sees."""

    function_name: str
    timeout_s: int
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid4()))

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        )

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def scheduled_event(rule: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """An EventBridge scheduled event, as ``events/*_tick.json``."""
    return {
        "version": "0",
        "id": str(uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:000000000000:rule/{rule}"],
        "detail": detail or {},
    }


def load_handler(path: str) -> Handler:
    """``poller.app.handler`` -> the function."""
    module, _, name = path.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module), name)
    return handler


class Invoker:
    """Runs invocations on a pool of threads (each thread is one warm container).

    Args:
        workers: most invocations at once.
    """

    def __init__(self, workers: int = 16) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda")
        self._running: set[Future[Any]] = set()
        self._lock = threading.Lock()
        self.closed = False

    def invoke_async(
        self, handler: str, event: dict[str, Any], function_name: str, size: FunctionSize
    ) -> None:
        """Start an invocation and return (``InvocationType="Event"``)."""
        if self.closed:
            return
        # Each invocation starts from an empty context, as in its own Lambda process: the
        # log keys one sets (contextvars) never reach another's lines.
        context = contextvars.Context()
        future = self._pool.submit(context.run, self._call, handler, event, function_name, size)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._running.discard(future)

    @staticmethod
    def _call(handler: str, event: dict[str, Any], function_name: str, size: FunctionSize) -> Any:
        try:
            context = LocalContext(function_name, size.timeout_s, size.memory_mb)
            return load_handler(handler)(event, context)
        except Exception:
            logger.exception("%s failed", function_name)
            return None

    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def shutdown(self, wait_s: float) -> None:
        """Stop taking invocations and give the running ones ``wait_s`` to finish."""
        self.closed = True
        deadline = time.monotonic() + wait_s
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.1)
        self._pool.shutdown(wait=False, cancel_futures=True)
