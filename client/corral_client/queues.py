"""The client's calls on queues: counts, listings and throughput, limits and key groups,
and the admin operations (pause, resume, clean, redrive)."""

from __future__ import annotations

from typing import Any

from corral_client import types as reply
from corral_client.calls import Calls
from corral_client.transport import AsyncConnection, Connection, documented_by


class QueueMethods(Connection):
    """Blocking calls on queues."""

    def stats(self, queue: str | None = None) -> reply.QueueList | reply.QueueStats:
        """Counts for every queue (``QueueList``), or for one (``QueueStats``)."""
        return self._send(Calls.stats(queue))

    def jobs(
        self, queue: str, status: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> reply.JobPage:
        return self._send(Calls.jobs(queue, status, limit, cursor))

    def throughput(self, queue: str) -> reply.Throughput:
        """Completed and failed jobs per minute over the last hour."""
        return self._send(Calls.throughput(queue))

    def set_limits(self, queue: str, **change: Any) -> reply.QueueLimits:
        """Set ``concurrency``, ``rateLimit`` or ``groupConcurrency`` at runtime (admin).

        A limit given as None goes back to the queue's deployed value.
        """
        return self._send(Calls.set_limits(queue, change))

    def key_groups(self, queue: str, limit: int = 100) -> reply.KeyGroupList:
        """The queue's key groups, busiest first: limits, jobs running and waiting (admin)."""
        return self._send(Calls.key_groups(queue, limit))

    def key_group(self, queue: str, group: str) -> reply.KeyGroup:
        """A key group's limits in force (jobs sharing ``options.group.id``) (admin)."""
        return self._send(Calls.key_group(queue, group))

    def set_key_group(self, queue: str, group: str, **limits: Any) -> reply.KeyGroup:
        """Set a key group's ``concurrency`` and ``rateLimit`` at runtime (admin); those
        left out come from its jobs' ``options.group`` again."""
        return self._send(Calls.set_key_group(queue, group, limits))

    def pause(self, queue: str) -> reply.Paused:
        return self._send(Calls.pausing(queue, "pause"))

    def resume(self, queue: str) -> reply.Paused:
        return self._send(Calls.pausing(queue, "resume"))

    def clean(self, queue: str, **body: Any) -> reply.Cleaned:
        """Remove finished jobs: ``status``, ``grace`` (ms) and ``limit``."""
        return self._send(Calls.clean(queue, body))

    def redrive(self, queue: str, **body: Any) -> reply.Redriven:
        """Move the queue's dead letters back to waiting (``limit``)."""
        return self._send(Calls.redrive(queue, body))


@documented_by(QueueMethods)
class AsyncQueueMethods(AsyncConnection):
    """The calls on queues, for asyncio code."""

    async def stats(self, queue: str | None = None) -> reply.QueueList | reply.QueueStats:
        return await self._send(Calls.stats(queue))

    async def jobs(
        self, queue: str, status: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> reply.JobPage:
        return await self._send(Calls.jobs(queue, status, limit, cursor))

    async def throughput(self, queue: str) -> reply.Throughput:
        return await self._send(Calls.throughput(queue))

    async def set_limits(self, queue: str, **change: Any) -> reply.QueueLimits:
        return await self._send(Calls.set_limits(queue, change))

    async def key_groups(self, queue: str, limit: int = 100) -> reply.KeyGroupList:
        return await self._send(Calls.key_groups(queue, limit))

    async def key_group(self, queue: str, group: str) -> reply.KeyGroup:
        return await self._send(Calls.key_group(queue, group))

    async def set_key_group(self, queue: str, group: str, **limits: Any) -> reply.KeyGroup:
        return await self._send(Calls.set_key_group(queue, group, limits))

    async def pause(self, queue: str) -> reply.Paused:
        return await self._send(Calls.pausing(queue, "pause"))

    async def resume(self, queue: str) -> reply.Paused:
        return await self._send(Calls.pausing(queue, "resume"))

    async def clean(self, queue: str, **body: Any) -> reply.Cleaned:
        return await self._send(Calls.clean(queue, body))

    async def redrive(self, queue: str, **body: Any) -> reply.Redriven:
        return await self._send(Calls.redrive(queue, body))
