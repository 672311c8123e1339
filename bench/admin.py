"""The orchestrator's hold on Redis between phases: clean up, and read what a phase cost.

``DedicatedAdmin`` owns a Redis started for the benchmark: it flushes it and resets its
statistics. ``SharedAdmin`` is for a shared Redis (the smoke test): it deletes only its own
keys and measures nothing, because ``FLUSHDB`` and ``CONFIG RESETSTAT`` would disturb others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from redis import Redis

from bench import stats


class Admin(Protocol):
    def clean(self) -> None:
        """Start a phase from an empty queue."""

    def begin(self) -> float:
        """Reset the statistics; returns a token for ``sample``."""

    def sample(self, since: float) -> stats.Sample:
        """What Redis ran since ``begin``."""

    def memory(self) -> int:
        """Bytes of data Redis holds now (see ``stats.memory``)."""

    def watch(self, path: Path) -> stats.Monitor:
        """Start a MONITOR capture."""

    def counted(self, monitor: stats.Monitor) -> stats.MonitorCount:
        """Stop a MONITOR capture and count it."""


class DedicatedAdmin:
    def __init__(self, redis: Redis, host: str, port: int) -> None:
        self.redis = redis
        self.host = host
        self.port = port

    def clean(self) -> None:
        self.redis.flushdb()

    def begin(self) -> float:
        return stats.reset(self.redis)

    def sample(self, since: float) -> stats.Sample:
        return stats.read(self.redis, since)

    def memory(self) -> int:
        return stats.memory(self.redis)

    def watch(self, path: Path) -> stats.Monitor:
        return stats.Monitor(self.host, self.port, path)

    def counted(self, monitor: stats.Monitor) -> stats.MonitorCount:
        return monitor.stop(self.redis)


class SharedAdmin:
    """Keys under ``prefix`` only; statistics are left alone (and reported empty)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def clean(self) -> None:
        keys = list(self.redis.scan_iter(match=f"{self.prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            self.redis.delete(*keys[start : start + 500])

    def begin(self) -> float:
        return 0.0

    def sample(self, since: float) -> stats.Sample:
        return stats.Sample({}, {}, 0.0)

    def memory(self) -> int:
        raise RuntimeError("used_memory means something only on the dedicated Redis")

    def watch(self, path: Path) -> stats.Monitor:
        raise RuntimeError("MONITOR needs the dedicated Redis")

    def counted(self, monitor: stats.Monitor) -> stats.MonitorCount:
        raise RuntimeError("MONITOR needs the dedicated Redis")
