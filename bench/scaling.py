"""The scaling table: 1, 2, 4 ... drainer processes on one Redis, each at the drain phase's
concurrency, for as long as the whole queue takes.

For each system and count: ``n`` no-op jobs are enqueued in bulk, the drainers start
together (``share`` mode: each counts its own jobs and tells them on ``report``), and the
orchestrator asks every 50 ms until the counts add up to ``n``. The rate is ``n`` over
first handler start to last handler end, across the processes. Redis CPU per job is the
dedicated server's ``used_cpu_user + used_cpu_sys`` over the drain, divided by ``n``; its
share of the wall time shows how close one Redis core is to saturation, and one second
of CPU over the µs per job is the rate at which that core would be all used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from bench import phases
from bench.admin import Admin
from bench.phases import Target
from bench.procs import Proc

POLL_S = 0.05


def describe(n: int, concurrency: int, repeats: int) -> str:
    """What the scaling table shows, above it."""
    return (
        f"{n} no-op jobs per row, drained by N worker processes on one Redis, each at "
        f"concurrency {concurrency} (corral Drainer, BullMQ Worker); median of {repeats} runs. "
        "Redis CPU µs/job: the Redis process' user + system CPU over the drain, per job; busy: "
        "that CPU over the drain's wall time; one core full at: 10^6 over µs/job, the rate "
        "at which this Redis' one core would be all used. The drainers share the machine's "
        "cores with Redis, so on a small machine they run out of CPU before Redis does."
    )


@dataclass
class ScalingRun:
    jobs: int
    seconds: float
    cpu_s: float

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds

    @property
    def cpu_us_per_job(self) -> float:
        return self.cpu_s * 1e6 / self.jobs

    @property
    def redis_busy(self) -> float:
        """Share of one core the Redis process used while the jobs ran."""
        return self.cpu_s / self.seconds


async def drain_shared(
    t: Target, admin: Admin, system: str, n: int, drainers: int, timeout: float = 600
) -> ScalingRun:
    """Pre-enqueue ``n`` jobs; time ``drainers`` worker processes draining them together."""
    await phases.fill(t, admin, system, n)
    procs: list[Proc] = []
    try:
        for _ in range(drainers):
            procs.append(await phases.worker(t, system, "share", n))
        since = admin.begin()
        for proc in procs:
            await proc.go()
        reports = await _until_done(procs, n, timeout)
        sample = admin.sample(since)
    finally:
        for proc in procs:
            await proc.stop()
    started = [r["t0"] for r in reports if r["done"]]
    seconds = max(r["t1"] for r in reports) - min(started)
    return ScalingRun(n, seconds, sample.cpu_s)


async def _until_done(procs: Sequence[Proc], n: int, timeout: float) -> list[dict[str, float]]:
    async with asyncio.timeout(timeout):
        while True:
            await asyncio.sleep(POLL_S)
            reports = []
            for proc in procs:
                await proc.say("report")
                reports.append(await proc.next(30))
            if sum(int(r["done"]) for r in reports) >= n:
                return reports


@dataclass(frozen=True)
class Row:
    system: str
    drainers: int
    rate: float
    cpu_us: float
    busy: float


def summarize(system: str, drainers: int, runs: Sequence[ScalingRun]) -> Row:
    """Medians over the repeats."""
    return Row(
        system,
        drainers,
        phases.median([r.rate for r in runs]),
        phases.median([r.cpu_us_per_job for r in runs]),
        phases.median([r.redis_busy for r in runs]),
    )


def table(rows: Sequence[Row]) -> str:
    """Markdown: one line per system and drainer count, with the gain over one drainer."""
    head = (
        "| system | drainers | drain (jobs/s) | vs 1 drainer | Redis CPU µs/job "
        "| Redis busy (% of a core) | one Redis core full at (jobs/s) |"
    )
    lines = [head, "|---|---|---|---|---|---|---|"]
    one = {r.system: r.rate for r in rows if r.drainers == 1}
    for r in rows:
        gain = f"{r.rate / one[r.system]:.2f}" if r.system in one else "n/a"
        ceiling = f"{1e6 / r.cpu_us:,.0f}" if r.cpu_us > 0 else "n/a"
        lines.append(
            f"| {r.system} | {r.drainers} | {r.rate:,.0f} | {gain} | {r.cpu_us:.1f} "
            f"| {r.busy * 100:.0f} | {ceiling} |"
        )
    return "\n".join(lines)


async def run_table(
    t: Target, admin: Admin, systems: Sequence[str], n: int, counts: Sequence[int], repeats: int
) -> str:
    """Every system at every drainer count, ``repeats`` times (interleaved); the table."""
    runs: dict[tuple[str, int], list[ScalingRun]] = {}
    for i in range(repeats):
        for system in systems:
            for k in counts:
                run = await drain_shared(t, admin, system, n, k)
                runs.setdefault((system, k), []).append(run)
                phases.note(
                    f"  scaling {i + 1}/{repeats} {system} x{k}: {run.rate:,.0f} jobs/s, "
                    f"Redis {run.cpu_us_per_job:.1f} µs/job"
                )
    rows = [summarize(s, k, runs[(s, k)]) for s in systems for k in counts]
    return table(rows)
