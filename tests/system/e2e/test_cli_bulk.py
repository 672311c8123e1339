"""``corral enqueue --file`` against the running emulator: bad lines are named before
anything is sent, and a rerun after a failure part way adds each job exactly once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator import Running, emulator, wait_until
from tests.system.e2e.test_cli import Cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with emulator() as started:
        yield started


def write(path: Path, jobs: list[object]) -> Path:
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs))
    return path


def test_bad_lines_are_named_and_nothing_is_enqueued(running: Running, tmp_path: Path) -> None:
    cli = Cli(running, token="local-globex")
    path = write(tmp_path / "bad.jsonl", [{"action": "ok"}, {"action": "explode"}, {"value": 1}])
    path.write_text(path.read_text() + "{not json\n")
    done = cli("enqueue", "work", "--file", str(path), ok=False)
    assert done.returncode == 1
    assert "error: line 4: not JSON" in done.stderr  # the local check stops first
    path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")

    done = cli("enqueue", "work", "--file", str(path), ok=False)
    assert done.returncode == 1
    assert "error: line 2: data.action:" in done.stderr, done.stderr
    assert "line 1" not in done.stderr and "line 3" not in done.stderr
    listed = cli.json("jobs", "work")["jobs"]
    assert listed == [], "a rejected file enqueues nothing"


def test_a_rerun_after_a_failure_part_way_adds_each_line_once(
    running: Running, tmp_path: Path
) -> None:
    Cli(running, token="local-acme").json(
        "enqueue", "work", "--data", '{"action": "ok"}', "--job-id", "bulk-taken"
    )
    cli = Cli(running, token="local-globex")
    log = tmp_path / "runs.log"
    jobs: list[object] = [{"action": "ok", "value": n, "runLog": str(log)} for n in range(5)]
    jobs[3] = {"data": jobs[3], "options": {"jobId": "bulk-taken"}}  # another tenant's id
    path = write(tmp_path / "jobs.jsonl", jobs)

    first = cli("enqueue", "work", "--file", str(path), "--batch-size", "3", "--json", ok=False)
    assert first.returncode == 1 and "409" in first.stderr and "rerun" in first.stderr
    went_in = json.loads(first.stdout)
    assert [job["line"] for job in went_in["jobs"]] == [1, 2, 3]

    jobs[3] = {"data": jobs[3]["data"], "options": {"jobId": "bulk-mine"}}  # type: ignore[index]
    write(path, jobs)
    second = json.loads(cli("enqueue", "work", "--file", str(path), "--json").stdout)
    assert (second["accepted"], second["deduplicated"]) == (2, 3)
    assert [j["jobId"] for j in second["jobs"][:3]] == [j["jobId"] for j in went_in["jobs"]]
    third = json.loads(cli("enqueue", "work", "--file", str(path), "--json").stdout)
    assert (third["accepted"], third["deduplicated"]) == (0, 5)

    ids = {job["jobId"] for job in second["jobs"]}
    assert "bulk-mine" in ids and len(ids) == 5
    wait_until(lambda: log.exists() and len(log.read_text().splitlines()) >= 5, "5 runs")
    time.sleep(0.5)  # a duplicate would run right behind its twin
    runs = [line.split()[0] for line in log.read_text().splitlines()]
    assert sorted(runs) == sorted(ids), "each line ran exactly once"
