"""The backlog table: 10k, 100k (and, when asked, 1M) waiting no-op jobs.

For each size and system, on the flushed dedicated Redis: the size is enqueued in bulk
(timed by the client), ``used_memory`` is read before and after (no client connected
either time, the Lua script cache left out: see ``stats.memory``) for the bytes one
waiting job holds, then one worker drains the first ``drain`` jobs of that backlog (a
drainer that claims from a long queue, not an empty one), with the Redis CPU it cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench import phases
from bench.admin import Admin
from bench.phases import Target


def describe(chunk: int, concurrency: int, repeats: int) -> str:
    """What the backlog table shows, above it."""
    return (
        f"Each size enqueued in bulk ({chunk} jobs per call) into the emptied dedicated Redis, "
        f"then one worker at concurrency {concurrency} drains the first jobs of it; median of "
        f"{repeats} runs. Bytes per waiting job: used_memory after the enqueue less before, "
        "less the Lua script cache, over the size (BullMQ's count includes its events stream, "
        "which it caps at about 10,000 entries)."
    )


@dataclass
class BacklogRun:
    size: int
    enqueue_s: float
    bytes_added: int
    drained: int
    drain_s: float
    drain_cpu_s: float


async def measure(t: Target, admin: Admin, system: str, size: int, drain: int) -> BacklogRun:
    admin.clean()
    before = admin.memory()
    seconds = await phases.bulk(t, system, size)
    after = admin.memory()
    first = min(size, drain)
    proc = await phases.worker(t, system, "drain", first)
    try:
        since = admin.begin()
        await proc.go()
        result = await proc.next(max(120.0, first / 10))
        sample = admin.sample(since)
    finally:
        await proc.stop()
    drain_s = float(result["t1"]) - float(result["t0"])
    return BacklogRun(size, seconds, after - before, first, drain_s, sample.cpu_s)


@dataclass(frozen=True)
class Metric:
    label: str
    fmt: str


METRICS = (
    Metric("bulk enqueue (jobs/s)", "{:,.0f}"),
    Metric("drain of the first {drain:,} (jobs/s)", "{:,.0f}"),
    Metric("drain: Redis CPU µs/job", "{:.1f}"),
    Metric("bytes per waiting job", "{:,.0f}"),
)


def summarize(runs: Sequence[BacklogRun]) -> list[float]:
    """The medians over the repeats, in ``METRICS`` order."""
    med = phases.median
    return [
        med([r.size / r.enqueue_s for r in runs]),
        med([r.drained / r.drain_s for r in runs]),
        med([r.drain_cpu_s * 1e6 / r.drained for r in runs]),
        med([r.bytes_added / r.size for r in runs]),
    ]


Medians = dict[int, dict[str, list[float]]]
"""size -> system -> the medians of ``summarize``."""


def table(medians: Medians, systems: Sequence[str], drain: int) -> str:
    """Markdown: one line per size and metric, systems side by side, corral/bullmq last."""
    ratio = "corral" in systems and "bullmq" in systems
    head = ["waiting jobs", "metric", *systems, *(["corral/bullmq"] if ratio else [])]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for size, by_system in medians.items():
        for i, metric in enumerate(METRICS):
            label = metric.label.format(drain=min(size, drain))
            row = [f"{size:,}", label]
            values = {s: v[i] for s, v in by_system.items()}
            row += [metric.fmt.format(values[s]) if s in values else "n/a" for s in systems]
            if ratio:
                mine, theirs = values.get("corral"), values.get("bullmq")
                row.append(f"{mine / theirs:.2f}" if mine is not None and theirs else "n/a")
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


async def run_table(
    t: Target,
    admin: Admin,
    systems: Sequence[str],
    sizes: Sequence[int],
    drain: int,
    repeats: int,
) -> str:
    """Every size for every system, ``repeats`` times; the table of medians."""
    medians: Medians = {}
    for size in sizes:
        runs: dict[str, list[BacklogRun]] = {s: [] for s in systems}
        for i in range(repeats):
            for system in systems:
                run = await measure(t, admin, system, size, drain)
                runs[system].append(run)
                phases.note(
                    f"  backlog {size:,} {i + 1}/{repeats} {system}: enqueue "
                    f"{size / run.enqueue_s:,.0f} jobs/s, drain {run.drained / run.drain_s:,.0f}"
                    f" jobs/s, {run.bytes_added / size:,.0f} bytes/job"
                )
        admin.clean()
        medians[size] = {s: summarize(r) for s, r in runs.items()}
    return table(medians, systems, drain)
