"""``FLUSHALL`` on Redis while the emulator drains a queue loses nothing: every accepted
job still runs to completion, exactly once, after the reconciler rebuilds Redis.

The flush runs on a private redis-server (ports 7300-7310), never on the shared one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.engine.servers import Servers, _port_free
from tests.support.emulator import ACME, emulator, wait_until

pytestmark = pytest.mark.slow

PRIVATE_PORTS = range(7300, 7311)
# 20 one-second jobs at concurrency 4 take five seconds: a wide window for the flush to
# land while most of them still wait, even on a busy machine.
JOBS = 20
SLEEP_MS = 1000


def runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[int]:
    servers = Servers(tmp_path / "redis")
    port = next((p for p in PRIVATE_PORTS if _port_free(p)), None)
    if port is None:
        pytest.fail(f"no free port in {PRIVATE_PORTS} for a private redis-server")
    servers.start(port)
    try:
        yield port
    finally:
        servers.stop()


def test_flushall_mid_run_loses_nothing_and_runs_each_job_once(
    private_redis: int, tmp_path: Path
) -> None:
    url = f"redis://127.0.0.1:{private_redis}/0"
    log = tmp_path / "runs.log"
    with emulator(redis_url=url) as running, running.client() as http:
        ids = []
        for i in range(JOBS):
            data = {"value": i, "sleepMs": SLEEP_MS, "runLog": str(log)}
            reply = http.post("/jobs/work", json={"data": data}, headers=ACME)
            assert reply.status_code == 202
            ids.append(reply.json()["jobId"])
        wait_until(lambda: runs(log) >= 4, "the first runs")

        flusher = redis.Redis(port=private_redis)
        try:
            assert flusher.flushall()
        finally:
            flusher.close()
        started_before_flush = runs(log)

        def all_completed() -> bool:
            statuses = [
                http.get(f"/jobs/work/{job_id}", headers=ACME).json()["status"] for job_id in ids
            ]
            return all(status == "completed" for status in statuses)

        wait_until(all_completed, "every job to complete after the flush", timeout_s=90)
        restored = [int(n) for n in re.findall(r'"restored":(\d+)', running.text())]

    # The flush did hit jobs that were still waiting (the queue runs 4 at a time, so a
    # flush that came late on a loaded machine may have left none: then nothing to restore).
    assert started_before_flush < JOBS, "the flush came after every job had started"
    assert sum(restored) > 0
    started = Counter(line.split()[0] for line in log.read_text().splitlines())
    assert set(started) == set(ids)
    assert max(started.values()) == 1
