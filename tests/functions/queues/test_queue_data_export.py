"""The data-export queue: the job table as a data source, csv / json / xlsx streamed to S3
in parts, progress, and what an S3 failure leaves behind (nothing)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from corral.errors import JobCancelledError, NonRetryableError
from corral.job import JobState, JobStatus
from corral.records import JobRecord, table_definition, to_item
from queues import data_export
from queues._export_sources import JobHistorySource, Row

from tests.functions.queues.queue_helpers import (
    TENANT,
    client,
    client_error,
    drain,
    engine_queue,
    job_context,
    logged,
    stored,
)

pytestmark = pytest.mark.usefixtures("aws")

TABLE = "jobs-test"
BUCKET = "exports-test"


@pytest.fixture
def s3() -> Any:
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def record(job_id: str, queue: str, tenant: str, status: JobStatus, created: int) -> JobRecord:
    return JobRecord(
        job_id=job_id,
        queue=queue,
        tenant=tenant,
        status=status,
        data={"to": ["a@example.com"]},
        options={},
        attempts=3,
        attempts_made=0,
        created_at=created,
        result={"ok": True} if status is JobStatus.COMPLETED else None,
    )


@pytest.fixture
def jobs() -> JobHistorySource:
    dynamodb = client("dynamodb")
    dynamodb.create_table(**table_definition(TABLE))
    for item in (
        record("J1", "email", TENANT, JobStatus.COMPLETED, 1_000),
        record("J2", "email", TENANT, JobStatus.FAILED, 2_000),
        record("J3", "email", TENANT, JobStatus.COMPLETED, 3_000),
        record("J4", "sms", TENANT, JobStatus.PENDING, 4_000),
        record("X1", "email", "tenant-b", JobStatus.COMPLETED, 1_500),
    ):
        dynamodb.put_item(TableName=TABLE, Item=to_item(item))
    return JobHistorySource(dynamodb, TABLE, ["email", "sms"], page_size=2)


def payload(**fields: Any) -> data_export.ExportPayload:
    data = {"subAccountId": TENANT, "exportType": "jobs", "format": "csv"}
    return data_export.ExportPayload.model_validate(data | fields)


def deps(s3: Any, **sources: Any) -> data_export.ExportDeps:
    return data_export.ExportDeps(s3, BUCKET, sources)


def body(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


class Synthetic:
    """``n`` job-like rows made on the fly (nothing held in memory)."""

    columns: Sequence[str] = ("jobId", "queue", "status", "createdAt", "note")

    def __init__(self, n: int) -> None:
        self.n = n

    def count(self, tenant: str, filters: Mapping[str, Any]) -> int:
        return self.n

    def rows(self, tenant: str, filters: Mapping[str, Any]) -> Iterator[Row]:
        for i in range(self.n):
            note = f"row {i} of tenant {tenant}, padded to be about a hundred bytes long"
            yield {
                "jobId": f"J{i:08d}",
                "queue": "email",
                "status": "completed",
                "createdAt": i,
                "note": note,
            }


def test_export_of_a_tenants_job_history_as_csv(s3: Any, jobs: JobHistorySource) -> None:
    job = job_context("01EXPORT")
    result = data_export.export(payload(), job, deps(s3, jobs=jobs))
    assert result["key"] == f"exports/{TENANT}/jobs/01EXPORT.csv"
    assert result["rowCount"] == 4
    rows = list(csv.DictReader(io.StringIO(body(s3, result["key"]).decode())))
    # Newest first within each queue; only this tenant's records.
    assert [r["jobId"] for r in rows] == ["J3", "J2", "J1", "J4"]
    assert rows[0]["result"] == '{"ok":true}' and rows[1]["result"] == ""
    assert result["url"].startswith("https://") and result["key"] in result["url"]
    assert job.seen[-1] == 100


def test_filters_and_columns(s3: Any, jobs: JobHistorySource) -> None:
    chosen = payload(
        format="json",
        filters={"queue": "email", "status": "completed", "createdFrom": 2_500},
        columns=["jobId", "status"],
    )
    result = data_export.export(chosen, job_context(), deps(s3, jobs=jobs))
    assert json.loads(body(s3, result["key"])) == [{"jobId": "J3", "status": "completed"}]


def test_the_history_shows_each_job_as_it_is_now(jobs: JobHistorySource) -> None:
    # The tenant index holds keys only: a status changed after the put is read from the record.
    jobs.dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "sms#J4"}},
        UpdateExpression="SET #s = :c, qs = :qs",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":c": {"S": "completed"}, ":qs": {"S": "sms#completed"}},
    )
    done = list(jobs.rows(TENANT, {"status": "completed"}))
    assert [row["jobId"] for row in done] == ["J3", "J1", "J4"]
    assert jobs.count(TENANT, {"queue": "sms"}) == 1
    assert jobs.count(TENANT, {"status": "completed"}) is None, "known only once written"


def test_a_record_past_its_ttl_is_not_exported(jobs: JobHistorySource) -> None:
    # DynamoDB's TTL deletes late: the export leaves the record out, as the store's reads do.
    expired = record("J5", "email", TENANT, JobStatus.COMPLETED, 5_000)
    expired.expires_at = 1
    jobs.dynamodb.put_item(TableName=TABLE, Item=to_item(expired))
    assert [row["jobId"] for row in jobs.rows(TENANT, {"queue": "email"})] == ["J3", "J2", "J1"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"exportType": "invoices"}, "unknown exportType"),
        ({"columns": ["jobId", "password"]}, "unknown columns"),
        ({"filters": {"tenant": "tenant-b"}}, "unknown filters"),
    ],
)
def test_bad_requests_fail_without_retry(
    s3: Any, jobs: JobHistorySource, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(NonRetryableError, match=message):
        data_export.export(payload(**fields), job_context(), deps(s3, jobs=jobs))


def test_a_missing_bucket_fails_without_retry(jobs: JobHistorySource) -> None:
    missing = data_export.ExportDeps(client("s3"), "no-such-bucket", {"jobs": jobs})
    with pytest.raises(NonRetryableError, match="NoSuchBucket"):
        data_export.export(payload(), job_context(), missing)


def test_xlsx_is_a_workbook_with_one_row_per_record(s3: Any, jobs: JobHistorySource) -> None:
    result = data_export.export(payload(format="xlsx"), job_context(), deps(s3, jobs=jobs))
    assert result["key"].endswith(".xlsx") and result["rowCount"] == 4
    with zipfile.ZipFile(io.BytesIO(body(s3, result["key"]))) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == 5
    assert "J3" in sheet and "tenant-b" not in sheet


def test_large_exports_stream_in_parts_with_progress(s3: Any) -> None:
    job = job_context()
    result = data_export.export(payload(), job, deps(s3, jobs=Synthetic(120_000)))
    assert result["rowCount"] == 120_000
    assert result["parts"] == 2 and result["bytes"] > 8 * 1024 * 1024
    assert s3.head_object(Bucket=BUCKET, Key=result["key"])["ContentLength"] == result["bytes"]
    percents = [p for p in job.seen if isinstance(p, int)]
    assert percents == sorted(percents) and percents[0] < 10 and percents[-1] == 100
    assert len(percents) == 120_000 // data_export.PROGRESS_EVERY_ROWS + 1


class FailingSecondPart:
    """S3 that throttles the second part of every upload."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def upload_part(self, **request: Any) -> Any:
        if request["PartNumber"] == 2:
            raise client_error("SlowDown", "UploadPart")
        return self.s3.upload_part(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.s3, name)


def test_a_cancelled_export_stops_and_leaves_no_object_or_parts(s3: Any) -> None:
    job = job_context()
    job.mark_cancelled()  # as the drain loop does when the job is cancelled
    many = data_export.ExportDeps(s3, BUCKET, {"jobs": Synthetic(120_000)})
    with pytest.raises(JobCancelledError):
        data_export.export(payload(), job, many)
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_a_failure_mid_stream_retries_and_leaves_no_object_or_parts(s3: Any) -> None:
    flaky = data_export.ExportDeps(FailingSecondPart(s3), BUCKET, {"jobs": Synthetic(120_000)})
    with pytest.raises(Exception, match="SlowDown") as raised:
        data_export.export(payload(), job_context(), flaky)
    assert not isinstance(raised.value, NonRetryableError)
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


async def test_through_the_engine(s3: Any, jobs: JobHistorySource, redis: Any, prefix: str) -> None:
    def handler(data: data_export.ExportPayload, job: Any) -> Any:
        return data_export.export(data, job, deps(s3, jobs=jobs))

    queue = engine_queue(redis, prefix, data_export.queue, handler)
    added = await queue.add(payload(format="json").model_dump(by_alias=True))
    await drain(queue)
    job = await stored(queue, added.job_id)
    assert job.state is JobState.COMPLETED
    assert job.result["rowCount"] == 4
    assert await logged(queue, added.job_id) == [
        "exporting 4 rows as json",
        f"wrote 4 rows, {job.result['bytes']} bytes in 1 parts to {job.result['key']}",
    ]
    assert job.result["key"] == f"exports/{TENANT}/jobs/{added.job_id}.json"
    assert len(json.loads(body(s3, job.result["key"]))) == 4


def test_more_rows_than_a_worksheet_holds_fail_before_any_upload(s3: Any) -> None:
    too_many = deps(s3, jobs=Synthetic(1_048_576))
    with pytest.raises(NonRetryableError, match="do not fit in xlsx"):
        data_export.export(payload(format="xlsx"), job_context(), too_many)
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
