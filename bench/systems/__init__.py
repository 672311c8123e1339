"""One module per measured system: its client operations and its worker.

Each module offers ``async def client(url, name) -> ClientOps`` and
``def run_worker(url, name, counter, concurrency) -> None`` (which calls
``protocol.ready_then_wait`` once set up). ``name`` namespaces the system's keys.
"""

from __future__ import annotations

from typing import Protocol


class ClientOps(Protocol):
    """The producer side of one system."""

    async def single(self, n: int) -> None:
        """Enqueue ``n`` jobs, one per call, each awaited before the next."""

    async def bulk(self, n: int, chunk: int) -> None:
        """Enqueue ``n`` jobs with the system's bulk API, ``chunk`` jobs per call."""

    async def produce(self, n: int, gap_s: float) -> None:
        """Enqueue ``n`` jobs stamped with their enqueue time, ``gap_s`` apart."""

    async def close(self) -> None:
        """Release connections."""
