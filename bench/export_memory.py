"""Peak memory of a data export: N job-like rows streamed to S3 as csv, json or xlsx.

    .venv/bin/python -m bench.export_memory [--rows 1000000] [--format csv]

S3 is a moto server in a child process, so the object it stores (hundreds of MB) does not
count against this process: what is measured is the exporter alone. The rows come from a
generator shaped like the job table's rows (the job-table source pages through DynamoDB
500 items at a time, so its own footprint is one page). Reports the process's resident
set before the export and its peak (``ru_maxrss``), wall and CPU time, bytes and parts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "functions"))

from queues import data_export  # noqa: E402
from queues._export_sources import JOB_COLUMNS, Row  # noqa: E402

BUCKET = "export-bench"


class JobLikeRows:
    """``n`` rows with the job table's columns, made on the fly."""

    columns: Sequence[str] = JOB_COLUMNS

    def __init__(self, n: int) -> None:
        self.n = n

    def count(self, tenant: str, filters: Mapping[str, Any]) -> int:
        return self.n

    def rows(self, tenant: str, filters: Mapping[str, Any]) -> Iterator[Row]:
        for i in range(self.n):
            created = 1_700_000_000_000 + i
            yield {
                "jobId": f"01JBENCH{i:018d}",
                "queue": "email",
                "status": "completed",
                "attempts": 3,
                "attemptsMade": 1,
                "createdAt": created,
                "startedAt": created + 5,
                "completedAt": created + 42,
                "error": None,
                "result": {"total": 1, "successful": 1, "failed": 0},
                "data": {"to": [f"user{i}@example.com"], "subject": "Welcome"},
            }


class Progress:
    """A stand-in for the job context: counts progress reports."""

    id = "01JBENCHEXPORT"
    reports = 0

    def progress(self, value: Any) -> None:
        self.reports += 1


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        ["moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("moto_server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["csv", "json", "xlsx"], default="csv")
    args = parser.parse_args()

    import boto3

    port = free_port()
    server = start_moto(port)
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        s3.create_bucket(Bucket=BUCKET)
        deps = data_export.ExportDeps(s3, BUCKET, {"jobs": JobLikeRows(args.rows)})
        payload = data_export.ExportPayload.model_validate(
            {"subAccountId": "bench", "exportType": "jobs", "format": args.format}
        )
        before = rss_mb()
        started, cpu_started = time.perf_counter(), time.process_time()
        result = data_export.export(payload, Progress(), deps)  # type: ignore[arg-type]
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        stored = s3.head_object(Bucket=BUCKET, Key=result["key"])["ContentLength"]
    finally:
        server.terminate()
        server.wait(10)
    report = {
        "rows": result["rowCount"],
        "format": args.format,
        "bytes": result["bytes"],
        "storedBytes": stored,
        "parts": result["parts"],
        "seconds": round(elapsed, 1),
        "cpuSeconds": round(cpu, 1),
        "rssBeforeMB": round(before, 1),
        "peakRssMB": round(peak_rss_mb(), 1),
        "targetMB": 100,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
