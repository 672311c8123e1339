"""Every shipped queue under the emulator as a user runs it (``make run``, no settings).

The README's Quick start commands run as written (the CLI and curl, against this
emulator's ports), and what each job did is checked where it happened: the email in SES,
the export downloaded over HTTP and parsed, the processed file read back from S3, the
notification on its topic, each generic-task built-in's result. One emulator serves the
whole module.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import shlex
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from corral.poller.run import PollerReport
from PIL import Image

from tests.support.emulator import ACME, ROOT, Running, child_env, emulator, wait_until

pytestmark = pytest.mark.slow

README = ROOT / "README.md"
README_API = "http://127.0.0.1:3000"
README_AWS = "http://127.0.0.1:4566"
BUCKET = "corral-results"
FINAL = ("completed", "failed", "cancelled")
MOTO_DATA_ERROR = "ERROR werkzeug: Error on request:\nTraceback"


@dataclass(frozen=True)
class Enqueued:
    """A job a Quick start command enqueued, with the payload it sent."""

    queue: str
    data: dict[str, Any]
    job_id: str


@dataclass(frozen=True)
class Ran:
    command: str
    stdout: str
    stderr: str


def quick_start_commands(readme: Path = README) -> list[str]:
    """The shell commands of the README's Quick start, continuations joined, in order."""
    section = readme.read_text().split("## Quick start\n", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "make ")):
                commands.append(line)
    return commands


def enqueued_by(command: str, stdout: str) -> Enqueued | None:
    """The job an enqueue command made (None for any other command)."""
    words = shlex.split(command)
    if words[:2] == ["corral", "enqueue"]:
        data = json.loads(words[words.index("--data") + 1])
        job = re.search(r"^jobId\s+(\S+)", stdout, re.M)
    elif words[0] == "curl" and "POST" in words and "-d" in words:
        data = json.loads(words[words.index("-d") + 1])["data"]
        job = re.search(r'"jobId":"([^"]+)"', stdout)
    else:
        return None
    queue = re.search(r"(?:corral enqueue |/jobs/)([a-z-]+)", command)
    assert job and queue, (command, stdout)
    return Enqueued(queue.group(1), data, job.group(1))


@dataclass
class Emulated:
    """The running emulator, its AWS endpoint and what the Quick start did on it."""

    running: Running
    aws: str
    topic_arn: str
    jobs: list[Enqueued]
    ran: list[Ran]

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.running.url, headers=ACME, timeout=15)

    def client(self, service: str) -> Any:
        """A boto3 client of the emulated AWS (loopback, made-up credentials)."""
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.aws,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def read(self, key: str) -> bytes:
        """An object of the results bucket, as the emulated S3 holds it."""
        body: bytes = self.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return body

    def job(self, queue: str, **data: Any) -> Enqueued:
        """The Quick start's job of ``queue`` whose payload has ``data``."""
        for job in self.jobs:
            if job.queue == queue and data.items() <= job.data.items():
                return job
        raise AssertionError(f"the Quick start enqueues no {queue} job with {data}")


def run_quick_start(running: Running, aws: str, workdir: Path) -> tuple[list[Ran], list[Enqueued]]:
    env = child_env(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    ran: list[Ran] = []
    jobs: list[Enqueued] = []
    for line in quick_start_commands():
        command = line.replace(README_API, running.url).replace(README_AWS, aws)
        if command.startswith("export "):
            env.update(pair.split("=", 1) for pair in shlex.split(command)[1:])  # type: ignore[misc]
            continue
        if "JOB_ID" in command:
            queue = re.search(r"(?:corral status |/jobs/)([a-z-]+)", command)
            assert queue, command
            latest = [j.job_id for j in jobs if j.queue == queue.group(1)][-1]
            command = command.replace("JOB_ID", latest)
        done = subprocess.run(
            ["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, (line, done.stdout, done.stderr)
        ran.append(Ran(line, done.stdout, done.stderr))
        job = enqueued_by(command, done.stdout)
        if job is not None:
            jobs.append(job)
    return ran, jobs


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulated]:
    with emulator(registry="") as running:
        banner = running.text()
        aws = re.search(r"AWS: moto in this process at (http://\S+)", banner)
        topic = re.search(r"sendNotification topic: (\S+)", banner)
        assert aws and topic, banner
        ran, jobs = run_quick_start(running, aws.group(1), tmp_path_factory.mktemp("quick"))
        yield Emulated(running, aws.group(1), topic.group(1), jobs, ran)


def finished(http: httpx.Client, queue: str, job_id: str, timeout_s: float = 30) -> Any:
    def final() -> Any:
        job = http.get(f"/jobs/{queue}/{job_id}").json()
        return job if job["status"] in FINAL else None

    return wait_until(final, f"{queue} job {job_id} to finish", timeout_s)


def completed(http: httpx.Client, queue: str, job_id: str) -> Any:
    job = finished(http, queue, job_id)
    assert job["status"] == "completed", job
    return job


def enqueue(http: httpx.Client, queue: str, data: dict[str, Any]) -> str:
    reply = http.post(f"/jobs/{queue}", json={"data": data})
    assert reply.status_code == 202, reply.text
    job_id: str = reply.json()["jobId"]
    return job_id


def test_the_quick_start_runs_one_example_per_shipped_queue(emulated: Emulated) -> None:
    from queues import registry

    shipped = set(registry.names()) - {"webhook"}  # webhook jobs come from registrations
    assert {job.queue for job in emulated.jobs} >= shipped
    banner = emulated.running.text()
    assert "email: sends as noreply@corral.local (verified in SES" in banner
    assert f"sendNotification topic: {emulated.topic_arn}" in banner


def moto_data(aws: str) -> Any:
    """moto's view of what it holds; it answers 500 when a model changes while it reads
    them (a poller is writing), so ask again."""

    def read() -> Any:
        reply = httpx.get(f"{aws}/moto-api/data.json", timeout=15)
        return reply.json() if reply.status_code == 200 else None

    return wait_until(read, "moto's data", 10)


def test_the_email_is_sent_through_ses_from_the_verified_sender(emulated: Emulated) -> None:
    job = emulated.job("email")
    with emulated.api() as http:
        result = completed(http, "email", job.job_id)["result"]

    assert (result["total"], result["successful"], result["failed"]) == (1, 1, 0)
    sent = moto_data(emulated.aws)["ses"]["Message"]
    [message] = [m for m in sent if m["id"] == result["results"][0]["messageId"]]
    assert message["source"] == "noreply@corral.local"
    assert message["destinations"]["ToAddresses"] == job.data["to"]
    assert message["subject"] == "Hello Ada"
    assert message["body"] == "Hi Ada, your export is ready."


def test_the_sms_is_published(emulated: Emulated) -> None:
    job = emulated.job("sms")
    with emulated.api() as http:
        result = completed(http, "sms", job.job_id)["result"]

    assert (result["successful"], result["failed"]) == (1, 0)
    assert result["results"][0]["recipient"] == "+14155550123"
    assert result["results"][0]["messageId"]


def download(url: str) -> bytes:
    reply = httpx.get(url, timeout=15)
    assert reply.status_code == 200, reply.text
    return reply.content


def test_exports_download_from_their_presigned_links_and_parse(emulated: Emulated) -> None:
    with emulated.api() as http:
        json_id = enqueue(http, "data-export", {"exportType": "jobs", "format": "json"})
        ids = {
            "csv": emulated.job("data-export", format="csv").job_id,
            "xlsx": emulated.job("data-export", format="xlsx").job_id,
            "json": json_id,
        }
        results = {f: completed(http, "data-export", i)["result"] for f, i in ids.items()}

    for result in results.values():
        assert result["url"].startswith(f"{emulated.aws}/{BUCKET}/exports/acme/jobs/")
        assert result["rowCount"] >= 1
    rows = list(csv.DictReader(io.StringIO(download(results["csv"]["url"]).decode())))
    assert len(rows) == results["csv"]["rowCount"]
    assert {row["queue"] for row in rows} <= {"email", "sms", "data-export", "generic-task"}
    assert all(row["jobId"] for row in rows)
    workbook = zipfile.ZipFile(io.BytesIO(download(results["xlsx"]["url"])))
    assert "xl/worksheets/sheet1.xml" in workbook.namelist()
    assert b"jobId" in workbook.read("xl/worksheets/sheet1.xml")
    records = json.loads(download(results["json"]["url"]))
    assert len(records) == results["json"]["rowCount"]
    assert all("jobId" in record for record in records)


def test_an_uploaded_csv_is_validated_and_the_report_is_beside_it(emulated: Emulated) -> None:
    job = emulated.job("file-processing", operation="validate-csv")
    with emulated.api() as http:
        result = completed(http, "file-processing", job.job_id)["result"]

    assert (result["rows"], result["validRows"], result["invalidRows"]) == (2, 1, 1)
    assert result["outputKey"] == "acme/input.csv.validation.json"
    report = json.loads(emulated.read(result["outputKey"]))
    assert report["errors"] == [{"line": 3, "row": 2, "errors": ["qty='x' is not int"]}]


def test_uploaded_files_are_gzipped_and_thumbnailed(emulated: Emulated) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 30)).save(picture, "PNG")
    text = b"name,qty\n" + b"ada,3\n" * 200
    for key, body in (("acme/photo.png", picture.getvalue()), ("acme/big.csv", text)):
        assert httpx.put(f"{emulated.aws}/{BUCKET}/{key}", content=body).status_code == 200

    with emulated.api() as http:
        file = {"bucket": BUCKET}
        zipped = enqueue(
            http, "file-processing", {**file, "key": "acme/big.csv", "operation": "gzip"}
        )
        thumb = enqueue(
            http,
            "file-processing",
            {**file, "key": "acme/photo.png", "operation": "thumbnail", "options": {"width": 64}},
        )
        gz = completed(http, "file-processing", zipped)["result"]
        small = completed(http, "file-processing", thumb)["result"]

    assert gzip.decompress(emulated.read(gz["outputKey"])) == text
    image = Image.open(io.BytesIO(emulated.read(small["outputKey"])))
    assert image.size == (64, 43) == (small["width"], small["height"])


BUILT_INS: list[tuple[str, list[Any], Any]] = [
    ("delay", [200], {"delayedMs": 200}),
    ("calculateSum", [[1, 2, 3]], 6),
    ("processData", [["b", "a", "b"], "unique"], ["b", "a"]),
    ("processData", ["hello", "uppercase"], "HELLO"),
    ("cleanupOldData", ["jobs", 30], {"tableName": "jobs", "daysOld": 30, "deleted": 0}),
]


def test_every_generic_task_built_in_returns_its_result(emulated: Emulated) -> None:
    sns, sqs = emulated.client("sns"), emulated.client("sqs")
    inbox = sqs.create_queue(QueueName="notifications-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(
        TopicArn=emulated.topic_arn,
        Protocol="sqs",
        Endpoint=arn["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    calls: list[tuple[str, list[Any]]] = [(name, params) for name, params, _ in BUILT_INS]
    calls += [
        ("sendNotification", ["Build finished", "CI"]),
        ("generateReport", ["jobSummary"]),
        ("customAsyncTask", ["t-1", {"a": 1}]),
    ]
    with emulated.api() as http:
        ids = [
            enqueue(http, "generic-task", {"taskName": n, "functionName": n, "parameters": p})
            for n, p in calls
        ]
        results = [completed(http, "generic-task", job_id)["result"] for job_id in ids]
        summed = completed(http, "generic-task", emulated.job("generic-task").job_id)

    for (name, _, expected), result in zip(BUILT_INS, results, strict=False):
        if isinstance(expected, dict):
            assert expected.items() <= result.items(), name
        else:
            assert result == expected, name
    notified, report, custom = results[len(BUILT_INS) :]
    assert notified["topicArn"] == emulated.topic_arn
    received = sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=2)["Messages"]
    assert [m["Body"] for m in received] == ["Build finished"]
    assert report["type"] == "jobSummary" and report["total"] >= 1
    assert (custom["taskId"], custom["data"]) == ("t-1", {"a": 1})
    assert summed["result"] == 6


def test_fail_then_succeed_completes_on_the_attempt_after_its_failures(
    emulated: Emulated,
) -> None:
    job = emulated.job("generic-task", functionName="failThenSucceed")
    with emulated.api() as http:
        done = completed(http, "generic-task", job.job_id)

    assert done["attemptsMade"] == 3
    assert done["result"] == {"attempt": 3, "failedAttempts": 2}


def test_sleep_with_progress_shows_its_progress_while_it_runs(emulated: Emulated) -> None:
    job = emulated.job("generic-task", functionName="sleepWithProgress")
    [status] = [r for r in emulated.ran if r.command.startswith("corral status")]

    # corral status --wait drew the bar from the progress the job reported as it slept.
    seen = {int(n) for n in re.findall(r"\] (\d+)/100", status.stderr)}
    assert any(0 < n < 100 for n in seen), status.stderr
    assert re.search(r"^status\s+completed$", status.stdout, re.M)
    with emulated.api() as http:
        done = completed(http, "generic-task", job.job_id)
    assert done["result"] == {"sleptMs": 3000, "steps": 6}


def test_an_invalid_email_address_gets_422_naming_the_field(emulated: Emulated) -> None:
    body = {"data": {"to": ["ada@example.com", "not-an-address"], "subject": "s", "template": "t"}}
    with emulated.api() as http:
        reply = http.post("/jobs/email", json=body)

    assert reply.status_code == 422
    [detail] = reply.json()["details"]
    assert detail["loc"] == ["body", "data", "to", 1]


def test_log_lines_name_their_own_function_and_queue_and_idle_runs_say_nothing(
    emulated: Emulated,
) -> None:
    lines = [json.loads(line) for line in emulated.running.output if line.startswith('{"level"')]
    reports = [line for line in lines if line["message"] == "poller run finished"]

    assert reports, "no poller run was logged"
    for line in lines:
        if "queue" in line:
            assert line["function_name"] == f"corral-poller-{line['queue']}", line
    for line in reports:
        assert line["report"]["queue"] == line["queue"]
        # The emulator ticks every 2 s here: an idle run would log every time. A run that
        # did anything (claimed, recovered, released, started a poller...) is not idle.
        assert not PollerReport(**line["report"]).idle, line
    # No function failed; moto's own answers to the test's reads of its data do not count.
    text = emulated.running.text()
    assert text.count("Traceback") == text.count(MOTO_DATA_ERROR), text[-6000:]
