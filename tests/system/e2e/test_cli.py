"""The ``corral`` command against the running emulator, typed as a user types it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator import Running, child_env, emulator, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# The console script pip installs next to this interpreter; the module if it is missing.
SCRIPT = Path(sys.executable).with_name("corral")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "corral_client"]


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with emulator() as started:
        yield started


class Cli:
    """Runs ``corral --url URL --token TOKEN ...`` and keeps what it printed."""

    def __init__(self, running: Running, token: str = "local-admin") -> None:
        self.base = [*COMMAND, "--url", running.url, "--token", token]

    def __call__(self, *argv: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self.base, *argv], env=child_env(), capture_output=True, text=True, timeout=120
        )
        if ok:
            assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
        return done

    def json(self, *argv: str) -> Any:
        return json.loads(self("--json", *argv).stdout)


@pytest.fixture
def cli(running: Running) -> Cli:
    return Cli(running)


def fields(text: str) -> dict[str, str]:
    """``key  value`` lines, as the CLI prints one object."""
    return dict(line.split(None, 1) for line in text.splitlines() if line.strip())


def test_enqueue_and_follow_a_job_to_its_end(cli: Cli) -> None:
    enqueued = fields(cli("enqueue", "work", "--data", '{"action": "ok", "value": 7}').stdout)
    assert enqueued["status"] == "pending"
    job_id = enqueued["jobId"]

    done = cli("status", "work", job_id, "--wait")
    shown = fields(done.stdout)
    assert shown["status"] == "completed"
    assert json.loads(shown["result"]) == {"value": 7, "attempt": 1}


def test_status_wait_of_a_failed_job_exits_1_and_jobs_lists_it(cli: Cli, tmp_path: Path) -> None:
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"action": "fail"}))
    job_id = cli.json("enqueue", "work", "--data", f"@{payload}", "--attempts", "1")["jobId"]

    followed = cli("status", "work", job_id, "--wait", ok=False)
    assert followed.returncode == 1
    assert fields(followed.stdout)["status"] == "failed"

    listed = cli("jobs", "work", "--status", "failed").stdout.splitlines()
    assert listed[0].split()[:3] == ["JOBID", "STATUS", "ATTEMPTSMADE"]
    assert any(line.split()[:2] == [job_id, "failed"] for line in listed[1:])


def test_bulk_enqueue_from_a_jsonl_file(cli: Cli, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs.jsonl"
    lines = [json.dumps({"action": "ok", "value": n}) for n in range(149)]
    lines.append(
        json.dumps({"data": {"action": "ok", "value": "last"}, "options": {"priority": 1}})
    )
    jobs.write_text("\n".join(lines) + "\n")

    done = cli("--json", "enqueue", "work", "--file", str(jobs))
    accepted = json.loads(done.stdout)["jobs"]
    assert len(accepted) == 150 and len({j["jobId"] for j in accepted}) == 150
    assert "150/150" in done.stderr  # the progress bar's last state

    for job in (accepted[0], accepted[-1]):
        assert cli.json("status", "work", job["jobId"], "--wait")["status"] == "completed"


def test_stats_as_a_table_and_as_json(cli: Cli) -> None:
    lines = cli("stats").stdout.splitlines()
    assert lines[0].split() == [
        "NAME", "WAITING", "DELAYED", "PROCESSING", "COMPLETED", "FAILED", "DEADLETTER", "PAUSED"
    ]  # fmt: skip
    assert {line.split()[0] for line in lines[1:]} == {"work", "slow", "webhook"}
    one = cli.json("stats", "slow")
    assert one["name"] == "slow" and "deadLetter" in one


def test_pause_and_resume(cli: Cli) -> None:
    assert fields(cli("pause", "slow").stdout)["paused"] == "true"
    assert cli.json("stats", "slow")["paused"] is True
    job_id = cli.json("enqueue", "slow", "--data", '{"action": "ok"}')["jobId"]
    wait_until(lambda: cli.json("stats", "slow")["waiting"] >= 1, "the job to wait")
    assert cli.json("status", "slow", job_id)["status"] == "pending"

    assert fields(cli("resume", "slow").stdout)["paused"] == "false"
    assert cli.json("status", "slow", job_id, "--wait")["status"] == "completed"


def test_cancel_retry_and_redrive(cli: Cli) -> None:
    delayed = cli.json("enqueue", "work", "--data", '{"action": "ok"}', "--delay", "600000")
    assert cli.json("cancel", "work", delayed["jobId"]) == {
        "jobId": delayed["jobId"],
        "status": "cancelled",
    }
    assert cli.json("retry", "work", delayed["jobId"])["status"] == "pending"
    assert cli.json("status", "work", delayed["jobId"], "--wait")["status"] == "completed"

    dead = cli.json("enqueue", "work", "--data", '{"action": "fail"}', "--attempts", "1")["jobId"]
    assert cli("status", "work", dead, "--wait", ok=False).returncode == 1
    wait_until(lambda: cli.json("stats", "work")["deadLetter"] >= 1, "a dead letter")
    redriven = cli.json("redrive", "work")
    assert dead in redriven["moved"]


def test_clean_completed_jobs(cli: Cli) -> None:
    job_id = cli.json("enqueue", "slow", "--data", '{"action": "ok"}')["jobId"]
    cli("status", "slow", job_id, "--wait")
    cleaned = cli.json("clean", "slow", "--status", "completed")
    assert job_id in cleaned["removed"]
    # Cleaned jobs leave the lists as they leave the counts.
    assert job_id not in [
        j["jobId"] for j in cli.json("jobs", "slow", "--status", "completed")["jobs"]
    ]


def test_schedules_create_list_pause_resume_delete(cli: Cli) -> None:
    created = cli.json(
        "schedules", "create", "cli-nightly", "--queue", "work", "--cron", "0 3 * * *",
        "--tz", "Europe/Paris", "--data", '{"action": "ok"}',
    )  # fmt: skip
    assert (created["id"], created["cron"], created["tz"]) == (
        "cli-nightly",
        "0 3 * * *",
        "Europe/Paris",
    )

    table = cli("schedules", "list").stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "QUEUE", "CRON"]
    assert any(line.startswith("cli-nightly") for line in table[1:])

    assert cli.json("schedules", "pause", "cli-nightly")["paused"] is True
    assert cli.json("schedules", "resume", "cli-nightly")["paused"] is False
    assert cli.json("schedules", "delete", "cli-nightly") == {"id": "cli-nightly", "deleted": True}
    assert "cli-nightly" not in cli("schedules", "list").stdout


def test_errors_are_one_line_and_exit_1(cli: Cli, running: Running) -> None:
    missing = cli("status", "work", "no-such-job", ok=False)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: 404") and "Traceback" not in missing.stderr

    tenant = Cli(running, token="local-acme")
    refused = tenant("pause", "work", ok=False)
    assert refused.returncode == 1 and "admin" in refused.stderr

    unreachable = subprocess.run(
        [*COMMAND, "--url", "http://127.0.0.1:9", "stats"],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr
