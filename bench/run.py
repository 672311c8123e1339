"""Run every system through every phase, repeat, and print the tables of medians.

``python -m bench.run --url redis://127.0.0.1:PORT/0 --jobs 20000`` (``bench/run.sh`` starts
that dedicated Redis; the phases flush it). The first lines printed are the headline, for
a script to read: ``corral/bullmq drain ratio: R``, then
``corral/bullmq enqueue-single ratio: R``, pickup latency and Redis CPU per drained job.
Then the table of every system, the scaling table (``bench.scaling``) and the backlog
table (``bench.backlog``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import traceback
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from redis import Redis

from bench import backlog, phases, report, scaling
from bench.admin import Admin, DedicatedAdmin
from bench.phases import PhaseResult, Target, note
from bench.stats import MonitorCount

T = TypeVar("T")

SYSTEMS = ("corral", "bullmq", "rq", "saq", "celery")
PHASES = ("enqueue-single", "enqueue-bulk", "drain")


@dataclass
class Runs:
    """Everything measured for one system."""

    results: dict[str, list[PhaseResult]] = field(default_factory=lambda: defaultdict(list))
    latency_p50: list[float] = field(default_factory=list)
    monitor: dict[str, MonitorCount] = field(default_factory=dict)
    monitor_jobs: int = 0


async def attempt(label: str, coro: Awaitable[T]) -> T | None:
    """Run one phase; a peer that fails is reported and skipped, not fatal."""
    try:
        return await coro
    except Exception as exc:
        note(f"  {label}: FAILED {exc!r}")
        traceback.print_exc(file=sys.stderr)
        return None


def jobs_for(system: str, a: argparse.Namespace) -> int:
    """Peers that drain at a few hundred jobs/s get fewer jobs, so a run ends in minutes;
    every figure is per job or per second, so the sizes compare."""
    return int(a.jobs if system in FULL_SIZE else min(a.jobs, a.slow_jobs))


async def measure_once(
    t: Target, admin: Admin, system: str, a: argparse.Namespace, runs: Runs
) -> None:
    n = jobs_for(system, a)
    for phase in PHASES:
        if phase == "drain":
            got = await attempt(f"{system} {phase}", phases.drain(t, admin, system, n))
        else:
            got = await attempt(f"{system} {phase}", phases.enqueue(t, admin, system, phase, n))
        if isinstance(got, PhaseResult):
            runs.results[phase].append(got)
            note(f"  {system} {phase}: {got.rate:,.0f} jobs/s")
    lats = await attempt(f"{system} latency", phases.latency(t, admin, system, a.latency_samples))
    if isinstance(lats, list):
        runs.latency_p50.append(phases.median(lats))
        note(f"  {system} latency p50: {runs.latency_p50[-1] * 1000:.2f} ms")


async def count_commands(t: Target, admin: Admin, system: str, n: int, runs: Runs) -> None:
    """The MONITOR pass (slower, so timed apart): who sent each command, client or script."""
    runs.monitor_jobs = n
    for phase in PHASES:
        if phase == "drain":
            coro = phases.drain(t, admin, system, n, monitor=True)
        else:
            coro = phases.enqueue(t, admin, system, phase, n, monitor=True)
        got = await attempt(f"{system} {phase} (MONITOR)", coro)
        if isinstance(got, PhaseResult) and got.monitor is not None:
            runs.monitor[phase] = got.monitor


def _med(values: list[float]) -> float | None:
    return phases.median(values) if values else None


def summarize(runs: Runs) -> dict[str, float | None]:
    r = runs.results
    labels = [m.label for m in report.METRICS]
    drain_mon = runs.monitor.get("drain")
    bulk_mon = runs.monitor.get("enqueue-bulk")
    share = drain_mon.inner_share() if drain_mon else {}

    def per_job(phase: str, f: Callable[[PhaseResult], float]) -> float | None:
        return _med([f(x) / x.jobs for x in r[phase]])

    def client_calls(mon: MonitorCount | None) -> float | None:
        return sum(mon.client.values()) / runs.monitor_jobs if mon else None

    values = [
        _med([x.rate for x in r["enqueue-single"]]),
        _med([x.rate for x in r["enqueue-bulk"]]),
        _med([x.rate for x in r["drain"]]),
        _med([s * 1000 for s in runs.latency_p50]),
        client_calls(drain_mon),
        per_job("drain", lambda x: x.sample.total_calls),
        per_job("drain", lambda x: x.sample.top_level_usec(share)) if drain_mon else None,
        per_job("drain", lambda x: x.sample.cpu_s * 1e6),
        client_calls(bulk_mon),
        per_job("enqueue-bulk", lambda x: x.sample.total_calls),
        per_job("enqueue-single", lambda x: x.sample.total_calls),
    ]
    return dict(zip(labels, values, strict=True))


FULL_SIZE = frozenset({"corral", "bullmq"})


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--url", default="redis://127.0.0.1:6390/0", help="a DEDICATED Redis: it is flushed"
    )
    p.add_argument("--jobs", type=int, default=20000)
    p.add_argument(
        "--slow-jobs", type=int, default=2000, help="jobs per phase for RQ, SAQ and Celery"
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--latency-samples", type=int, default=50)
    p.add_argument("--monitor-jobs", type=int, default=2000)
    p.add_argument("--chunk", type=int, default=1000, help="jobs per bulk enqueue call")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--systems", default=",".join(SYSTEMS))
    p.add_argument("--scaling", default="1,2,4", help="drainer processes per row ('': none)")
    p.add_argument(
        "--backlog", default="10000,100000", help="waiting jobs per backlog row ('': none)"
    )
    p.add_argument("--backlog-drain", type=int, default=20000, help="jobs drained per backlog")
    p.add_argument("--backlog-repeats", type=int, default=None, help="default: --repeats")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "latest.md")
    return p.parse_args(argv)


def counts(arg: str) -> list[int]:
    """``"1,2,4"`` -> ``[1, 2, 4]``; ``"1_000_000"`` and ``"1e6"`` are read too."""
    return [int(float(x)) for x in arg.replace("_", "").split(",") if x.strip()]


def versions(redis: Redis) -> str:
    """What was measured: the Redis server and each peer's release."""
    found = [f"Redis {redis.info('server')['redis_version']}"]
    for package in ("rq", "saq", "celery"):
        found.append(f"{package} {metadata.version(package)}")
    bullmq = json.loads((Path(__file__).parent / "node_modules/bullmq/package.json").read_text())
    found.append(f"bullmq {bullmq['version']} (Node {platform_node()})")
    return ", ".join(found)


def platform_node() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def describe(a: argparse.Namespace) -> str:
    c = a.concurrency
    return (
        f"{a.jobs} no-op jobs per phase ({min(a.jobs, a.slow_jobs)} for RQ, SAQ and Celery), "
        f"median of {a.repeats} runs; bulk = {a.chunk} jobs "
        f"per call; latency = median of {a.latency_samples} samples per run; client calls "
        f"from a MONITOR pass of {min(a.jobs, a.monitor_jobs)} jobs. Drain: corral "
        f"Drainer(concurrency={c}), BullMQ Worker(concurrency={c}), SAQ Worker(concurrency={c}), "
        f"Celery threads pool -c {c}, RQ one SimpleWorker (one job at a time)."
    )


async def main(a: argparse.Namespace) -> str:
    url = urlsplit(a.url)
    logs = a.out.parent
    logs.mkdir(parents=True, exist_ok=True)
    t = Target(a.url, "bench", a.chunk, a.concurrency, logs)
    redis = Redis.from_url(a.url, decode_responses=True)
    admin = DedicatedAdmin(redis, url.hostname or "127.0.0.1", url.port or 6379)
    systems = [s for s in a.systems.split(",") if s]
    runs = {s: Runs() for s in systems}
    measured = versions(redis)
    load_before = load()
    for i in range(a.repeats):
        note(f"run {i + 1}/{a.repeats}")
        for system in systems:
            await measure_once(t, admin, system, a, runs[system])
    note("MONITOR pass")
    for system in systems:
        await count_commands(t, admin, system, min(a.jobs, a.monitor_jobs), runs[system])
    results = {s: summarize(runs[s]) for s in systems}
    body = report.table(results, [s for s in systems if s != "corral"])
    pair = [s for s in systems if s in FULL_SIZE]
    extra = await scaling_and_backlog(t, admin, a, pair)
    admin.clean()
    redis.close()
    context = (
        f"{measured}. {os.cpu_count()} CPUs shared with other work: load average "
        f"{load_before} before, {load()} after (1, 5, 15 min)."
    )
    return "\n\n".join([report.headline(results), describe(a), context, body, *extra]) + "\n"


async def scaling_and_backlog(
    t: Target, admin: Admin, a: argparse.Namespace, systems: list[str]
) -> list[str]:
    """The scaling and backlog sections (corral and BullMQ only), each with its heading."""
    out = []
    failed = "(not measured: it failed, see the errors above)"
    drainers = counts(a.scaling)
    if drainers and systems:
        note("scaling")
        coro = scaling.run_table(t, admin, systems, a.jobs, drainers, a.repeats)
        got = await attempt("scaling", coro) or failed
        out.append(f"## Scaling\n\n{scaling.describe(a.jobs, a.concurrency, a.repeats)}\n\n{got}")
    sizes = counts(a.backlog)
    if sizes and systems:
        note("backlog")
        repeats = a.backlog_repeats or a.repeats
        coro = backlog.run_table(t, admin, systems, sizes, a.backlog_drain, repeats)
        got = await attempt("backlog", coro) or failed
        text = backlog.describe(a.chunk, a.concurrency, repeats)
        out.append(f"## Backlog\n\n{text}\n\n{got}")
    return out


def cli() -> None:
    a = parse_args()
    text = asyncio.run(main(a))
    a.out.write_text(text, encoding="utf-8")
    print(text, end="")


if __name__ == "__main__":
    cli()
