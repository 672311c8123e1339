"""The scaling and backlog tables run end to end on a Redis the test starts itself (on a
free loopback port, no persistence: ``bench.redis_server``), at tiny sizes, corral only.

The backlog's bytes per job come from ``used_memory``, which means nothing on the shared
Redis; a private one also lets the phases flush and reset statistics freely. This proves
the machinery and the tables' shape; it asserts no speed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis import Redis

from bench import backlog, redis_server, report, scaling
from bench.admin import DedicatedAdmin
from bench.phases import Target


@pytest.fixture
def private_redis() -> Iterator[tuple[str, DedicatedAdmin]]:
    with redis_server.dedicated() as url:
        client = Redis.from_url(url, decode_responses=True)
        port = urlsplit(url).port
        assert port is not None
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        yield url, DedicatedAdmin(client, "127.0.0.1", port)
        client.close()


@pytest.mark.timeout(120)
async def test_scaling_rows_add_up_every_job(
    private_redis: tuple[str, DedicatedAdmin], tmp_path: Path
) -> None:
    url, admin = private_redis
    target = Target(url, "bench", chunk=100, concurrency=4, logs=tmp_path)
    runs = [await scaling.drain_shared(target, admin, "corral", 300, k) for k in (1, 2)]
    assert [r.jobs for r in runs] == [300, 300]
    assert all(r.seconds > 0 and r.cpu_s > 0 for r in runs)
    rows = [scaling.summarize("corral", k, [r]) for k, r in zip((1, 2), runs, strict=True)]
    text = scaling.table(rows)
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[2].startswith("| corral | 1 | ") and "| 1.00 |" in lines[2]
    assert lines[3].startswith("| corral | 2 | ")


@pytest.mark.timeout(120)
async def test_backlog_counts_memory_and_drains_the_head(
    private_redis: tuple[str, DedicatedAdmin], tmp_path: Path
) -> None:
    url, admin = private_redis
    target = Target(url, "bench", chunk=100, concurrency=4, logs=tmp_path)
    run = await backlog.measure(target, admin, "corral", 500, drain=200)
    assert (run.size, run.drained) == (500, 200)
    # Every waiting job holds at least its payload and id; far less than a megabyte.
    assert 50 < run.bytes_added / run.size < 1_000_000
    assert run.enqueue_s > 0 and run.drain_s > 0
    text = backlog.table({500: {"corral": backlog.summarize([run])}}, ["corral"], 200)
    assert "| 500 | drain of the first 200 (jobs/s) |" in text
    assert len(text.splitlines()) == 2 + len(backlog.METRICS)


def test_tables_with_bullmq_show_the_ratio() -> None:
    medians: backlog.Medians = {10: {"corral": [10.0, 20.0, 4.0, 300.0]}}
    medians[10]["bullmq"] = [5.0, 10.0, 8.0, 0.0]
    text = backlog.table(medians, ["corral", "bullmq"], 20000)
    assert "| 10 | bulk enqueue (jobs/s) | 10 | 5 | 2.00 |" in text
    assert "| 10 | drain of the first 10 (jobs/s) | 20 | 10 | 2.00 |" in text
    assert "| 10 | bytes per waiting job | 300 | 0 | n/a |" in text


def test_headline_comes_first_with_both_ratios() -> None:
    labels = [m.label for m in report.METRICS]
    results: report.Results = {
        "corral": dict.fromkeys(labels, 2.0),
        "bullmq": dict.fromkeys(labels, 4.0),
    }
    lines = report.headline(results).splitlines()
    assert lines[0] == "corral/bullmq drain ratio: 0.50"
    assert lines[1] == "corral/bullmq enqueue-single ratio: 0.50"
    assert lines[2] == "pickup latency p50 (ms): corral 2.00, bullmq 4.00"
    assert lines[3] == "drain: Redis process CPU µs/job: corral 2.0, bullmq 4.0"
