"""What running handlers report: progress values and log lines, kept per job and written
to Redis in batches by the drain loop (not one round trip per call of the handler)."""

from __future__ import annotations

import logging
from typing import Any

from corral.drain_cancel import Running
from corral.drain_hooks import DrainHooks
from corral.job_logs import MAX_LINES, append_logs
from corral.queue import Queue

logger = logging.getLogger(__name__)


class JobReports:
    """The progress and log lines of one drainer's running jobs, not yet written."""

    def __init__(self, queue: Queue, hooks: DrainHooks) -> None:
        self.queue = queue
        self.hooks = hooks
        self.progress: dict[str, Any] = {}
        self.logs: dict[str, list[str]] = {}

    def note_progress(self, job_id: str, value: Any) -> None:
        self.progress[job_id] = value

    def note_log(self, job_id: str, entry: str) -> None:
        lines = self.logs.setdefault(job_id, [])
        lines.append(entry)
        if len(lines) > MAX_LINES:
            del lines[0]  # Redis keeps only the newest lines anyway

    async def flush_logs(self) -> None:
        lines, self.logs = self.logs, {}
        await append_logs(self.queue, lines)

    async def flush_progress(self, running: Running) -> None:
        """Write the newest progress of each job still running here."""
        updates, self.progress = self.progress, {}
        written = []
        for job_id, value in updates.items():
            entry = running.get(job_id)
            if entry is not None:
                await self.queue.progress(job_id, entry[0].token, value)
                written.append((entry[0], value))
        if written:
            await self.hooks.progressed(written)

    async def flush_safely(self, running: Running) -> None:
        """Flush both at the end of a run, logging rather than raising a failure."""
        try:
            await self.flush_progress(running)
            await self.flush_logs()
        except Exception:
            logger.exception("could not record progress or logs")
