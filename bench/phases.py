"""The measured phases, each on a flushed dedicated Redis: enqueue (single and bulk), drain
of pre-enqueued jobs, and pickup latency to an idle worker."""

from __future__ import annotations

import asyncio
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import stats
from bench.admin import Admin
from bench.procs import Proc, argv


@dataclass
class Target:
    """Where and how big: one dedicated Redis, and the parameters of every phase."""

    url: str
    name: str
    chunk: int
    concurrency: int
    logs: Path

    def log(self, system: str) -> Path:
        return self.logs / f"{system}.log.tmp"


@dataclass
class PhaseResult:
    jobs: int
    seconds: float
    sample: stats.Sample
    monitor: stats.MonitorCount | None = None

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


async def _client(t: Target, system: str, mode: str, n: int, extra: int) -> Proc:
    args = argv(system, "client", t.url, t.name, mode, n, extra)
    return await Proc.start(args, t.log(system), f"{system} {mode}")


async def worker(t: Target, system: str, mode: str, n: int) -> Proc:
    """A worker process, set up and waiting for ``go``."""
    args = argv(system, "worker", t.url, t.name, mode, n, t.concurrency)
    return await Proc.start(args, t.log(system), f"{system} worker {mode}")


def _begin(t: Target, admin: Admin, monitor: bool) -> tuple[float, stats.Monitor | None]:
    since = admin.begin()
    mon = admin.watch(t.logs / "monitor.tmp") if monitor else None
    return since, mon


async def enqueue(
    t: Target, admin: Admin, system: str, mode: str, n: int, monitor: bool = False
) -> PhaseResult:
    """``enqueue-single`` or ``enqueue-bulk`` of ``n`` jobs into an empty Redis."""
    admin.clean()
    proc = await _client(t, system, mode, n, t.chunk)
    cpu, mon = _begin(t, admin, monitor)
    await proc.go()
    result = await proc.next(600)
    sample = admin.sample(cpu)
    counted = admin.counted(mon) if mon else None
    await proc.finish()
    return PhaseResult(n, float(result["seconds"]), sample, counted)


async def fill(t: Target, admin: Admin, system: str, n: int) -> float:
    """Empty Redis, then enqueue ``n`` jobs in bulk; returns the seconds the client took."""
    admin.clean()
    return await bulk(t, system, n)


async def bulk(t: Target, system: str, n: int) -> float:
    """Enqueue ``n`` jobs in bulk (after the client's set-up); returns its seconds."""
    proc = await _client(t, system, "fill", n, t.chunk)
    await proc.go()
    result = await proc.next(max(600.0, n / 1000))
    await proc.finish()
    return float(result["seconds"])


async def drain(t: Target, admin: Admin, system: str, n: int, monitor: bool = False) -> PhaseResult:
    """Pre-enqueue ``n`` jobs, then time one worker (concurrency ``t.concurrency``) on them."""
    await fill(t, admin, system, n)
    proc = await worker(t, system, "drain", n)
    try:
        cpu, mon = _begin(t, admin, monitor)
        await proc.go()
        result = await proc.next(max(120.0, n / 10))
        # Let the last batch's acknowledgement land before reading the statistics.
        await asyncio.sleep(0.05)
        sample = admin.sample(cpu)
        counted = admin.counted(mon) if mon else None
    finally:
        await proc.stop()
    return PhaseResult(n, float(result["t1"]) - float(result["t0"]), sample, counted)


async def latency(
    t: Target, admin: Admin, system: str, samples: int, gap_ms: int = 30
) -> list[float]:
    """Seconds from enqueue to handler start, one job at a time, to an idle running worker."""
    admin.clean()
    proc = await worker(t, system, "latency", samples)
    try:
        await proc.go()
        # A first job proves the worker is consuming; its own latency includes start-up.
        await _produce(t, system, 1, gap_ms)
        await proc.next(120)
        producer = await _client(t, system, "produce", samples, gap_ms)
        await producer.go()
        lats = [float((await proc.next(60))["lat"]) for _ in range(samples)]
        await producer.finish()
    finally:
        await proc.stop()
    return lats


async def _produce(t: Target, system: str, n: int, gap_ms: int) -> None:
    producer = await _client(t, system, "produce", n, gap_ms)
    await producer.go()
    await producer.finish()


def median(values: list[float]) -> float:
    return statistics.median(values)


def note(message: str) -> None:
    """Progress, on stderr (stdout carries the tables)."""
    print(message, file=sys.stderr, flush=True)
