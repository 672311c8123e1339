"""Job logs: the lines a handler writes with ``JobContext.log``, kept in Redis with the job.

Each job's log is a Redis list next to its hash (``keys.QueueKeys.logs``), bounded at
``MAX_LINES`` lines and ``MAX_BYTES`` bytes: the oldest lines are dropped to make room, so
the end of a log (where a failure shows) is always there. Retention and ``clean`` delete a
log with its job. Line numbers count every line ever appended, so a cursor stays valid
while old lines are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from corral.queue import Queue
from corral.scripts import run_queue_script
from corral.validation import require_identifier

MAX_LINES = 1000
MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class LogPage:
    """Log lines (``{"ts", "message"}``), oldest first, and where the next page starts."""

    lines: list[dict[str, Any]]
    next_cursor: int | None


async def append_logs(queue: Queue, lines: Mapping[str, Sequence[str]]) -> int:
    """Append encoded lines (``context.log_entry``) to jobs' logs in one round trip.

    Returns how many jobs took lines (a job already gone takes none).
    """
    if not lines:
        return 0
    packed = json.dumps([[job_id, list(entries)] for job_id, entries in lines.items()])
    args = [MAX_LINES, MAX_BYTES, packed]
    return int(await run_queue_script(queue.redis, queue.keys, "append_logs", args))


async def read_logs(queue: Queue, job_id: str, cursor: int = 0, limit: int = 100) -> LogPage:
    """A page of a job's log from line number ``cursor``; empty if Redis no longer has it."""
    require_identifier(job_id, "job id")
    args = [job_id, max(0, cursor), max(1, limit)]
    reply = await run_queue_script(queue.redis, queue.keys, "read_logs", args)
    if reply == -1:
        return LogPage([], None)
    end, total, raw = int(reply[0]), int(reply[1]), reply[2]
    return LogPage([json.loads(line) for line in raw], end if end < total else None)
