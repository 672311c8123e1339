"""The benchmark's corral part runs end to end: tiny sizes, the shared Redis, its own prefix.

This proves the bench code (processes, line protocol, phases, table) works; it measures
nothing and asserts no speed.
"""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from redis import Redis

from bench import phases, report, stats
from bench.admin import SharedAdmin
from bench.phases import Target
from tests.conftest import SHARED_REDIS_URL


@pytest.mark.timeout(90)
async def test_corral_phases_run_end_to_end(tmp_path: Path) -> None:
    prefix = f"t{uuid4().hex[:8]}"
    redis = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    admin = SharedAdmin(redis, prefix)
    target = Target(SHARED_REDIS_URL, prefix, chunk=50, concurrency=8, logs=tmp_path)
    try:
        single = await phases.enqueue(target, admin, "corral", "enqueue-single", 20)
        bulk = await phases.enqueue(target, admin, "corral", "enqueue-bulk", 120)
        drained = await phases.drain(target, admin, "corral", 200)
        lats = await phases.latency(target, admin, "corral", 3, gap_ms=10)
    finally:
        admin.clean()
        left = list(redis.scan_iter(match=f"{prefix}:*"))
        redis.close()
    assert (single.jobs, bulk.jobs, drained.jobs) == (20, 120, 200)
    assert min(single.seconds, bulk.seconds, drained.seconds) > 0
    assert len(lats) == 3
    assert all(lat >= 0 for lat in lats)
    assert left == []


def test_table_ratios_and_closing_line() -> None:
    drain = report.METRICS[2].label
    results: report.Results = {
        "corral": {drain: 26000.0},
        "bullmq": {drain: 13000.0},
        "rq": {drain: None},
    }
    text = report.table(results, ["bullmq", "rq"])
    row = next(line for line in text.splitlines() if line.startswith(f"| {drain}"))
    assert row == f"| {drain} | 26,000 | 13,000 | 2.00 | n/a | n/a |"
    assert report.drain_ratio_line(results) == "corral/bullmq drain ratio: 2.00"
    assert report.drain_ratio_line({"corral": {drain: 1.0}}) == "corral/bullmq drain ratio: n/a"


def test_script_time_is_counted_once() -> None:
    sample = stats.Sample({"evalsha": 10, "hset": 30}, {"evalsha": 100, "hset": 60}, 0.0)
    count = stats.MonitorCount()
    count.client.update({"evalsha": 10, "hset": 10})
    count.lua.update({"hset": 20})
    # evalsha's 100 µs already include the 20 scripted HSETs; the 10 sent directly add 20 µs.
    assert sample.top_level_usec(count.inner_share()) == pytest.approx(120.0)
    assert sample.total_calls == 40
