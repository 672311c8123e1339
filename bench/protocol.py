"""The line protocol between the orchestrator and each client or worker process.

A process sets itself up, prints ``@bench "ready"``, waits for ``go`` on stdin, runs, and
prints its results as ``@bench <json>`` lines. Anything else on stdout (banners, logs) is
ignored, so peers may print what they like. Waiting for ``go`` lets the orchestrator reset
Redis' statistics after connection set-up and before the measured phase.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

MARK = "@bench "


def say(obj: Any) -> None:
    """Print one protocol line."""
    sys.stdout.write(MARK + json.dumps(obj) + "\n")
    sys.stdout.flush()


_reporter: Callable[[], Any] | None = None
"""What a ``share``-mode worker answers to ``report`` (see ``Counter``)."""


def ready_then_wait() -> None:
    """Announce readiness and block until the orchestrator says ``go``.

    A ``share``-mode worker then keeps answering ``report`` lines on a thread of its own.
    """
    say("ready")
    for line in sys.stdin:
        if line.strip() == "go":
            if _reporter is not None:
                threading.Thread(target=_answer_reports, args=(_reporter,), daemon=True).start()
            return
    raise SystemExit("stdin closed before go")


def _answer_reports(snapshot: Callable[[], Any]) -> None:
    for line in sys.stdin:
        if line.strip() == "report":
            say(snapshot())


def parse(line: str) -> Any | None:
    """The payload of a protocol line, or None for any other output."""
    if not line.startswith(MARK):
        return None
    return json.loads(line[len(MARK) :])


class Counter:
    """What a worker's no-op handler calls for every job it runs.

    ``drain`` mode prints ``{t0, t1}`` once ``n`` jobs have run: first handler start to
    last handler end. ``latency`` mode prints ``{lat}`` per job: now minus the enqueue time
    the producer put in the payload (both are wall-clock seconds on one machine). ``share``
    mode (one of several drainers on one queue, each running an unknown share of the jobs)
    answers each ``report`` line with ``{t0, t1, done}`` so far: first handler start, last
    handler end, jobs run.
    """

    def __init__(self, mode: str, n: int) -> None:
        if mode not in ("drain", "latency", "share"):
            raise ValueError(f"unknown worker mode {mode!r}")
        self.latency = mode == "latency"
        self.n = n if mode == "drain" else 0
        self.done = 0
        self.t0 = 0.0
        self.t1 = 0.0
        # Celery's thread pool calls hit() from several threads.
        self._lock = threading.Lock()
        if mode == "share":
            global _reporter
            _reporter = self.snapshot

    def hit(self, ts: float = 0.0) -> None:
        now = time.time()
        if self.latency:
            say({"lat": now - ts})
            return
        with self._lock:
            if self.done == 0:
                self.t0 = now
            self.done += 1
            if self.done == self.n:
                say({"t0": self.t0, "t1": time.time()})
            self.t1 = now

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return {"t0": self.t0, "t1": self.t1, "done": self.done}
