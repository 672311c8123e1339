"""The file-processing queue: gzip, csv validation and thumbnails on S3 objects in moto,
their errors, progress, and one run through the engine."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from corral.errors import NonRetryableError
from corral.job import JobState
from corral.settings import get_settings
from PIL import Image
from pydantic import ValidationError
from queues import file_processing as fp
from queues._file_ops import CHUNK_BYTES, text_lines

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

BUCKET = "files-test"
CSV = (
    "id,name,age\r\n"
    "1,Ann,31\r\n"
    "2,Bob\r\n"  # too few fields
    "3,,40\r\n"  # name is required
    '4,"Lee, Jr.",forty\r\n'  # age is not an int
    "5,Zoë,22\r\n"
)


@pytest.fixture
def s3() -> Any:
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def payload(key: str, operation: str, **options: Any) -> fp.FileJobPayload:
    return fp.FileJobPayload.model_validate(
        {
            "subAccountId": TENANT,
            "bucket": BUCKET,
            "key": key,
            "operation": operation,
            "options": options,
        }
    )


def read(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_options_are_checked_against_the_operation() -> None:
    with pytest.raises(ValidationError, match="level"):
        payload("a.txt", "gzip", level=12)
    with pytest.raises(ValidationError, match="operation"):
        payload("a.txt", "rm -rf")
    assert payload("a.csv", "validate-csv", required=["id"]).options == {"required": ["id"]}


def test_gzip_writes_the_compressed_object_beside_the_original(s3: Any) -> None:
    original = b"".join(b"line %d of a log file\n" % i for i in range(150_000))
    s3.put_object(Bucket=BUCKET, Key="logs/app.log", Body=original)
    job = job_context()
    result = fp.process(payload("logs/app.log", "gzip", level=9), job, fp.FileDeps(s3))
    assert result["outputKey"] == "logs/app.log.gz"
    assert gzip.decompress(read(s3, "logs/app.log.gz")) == original
    assert result["inputBytes"] == len(original) and result["ratio"] < 0.5
    assert len(original) > 3 * CHUNK_BYTES
    assert job.seen == sorted(job.seen) and len(job.seen) >= 4 and job.seen[-1] == 100


def test_csv_validation_reports_bad_rows_and_completes(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="in/people.csv", Body=CSV.encode())
    options = {"columns": ["id", "name", "age"], "required": ["name"], "types": {"age": "int"}}
    result = fp.process(
        payload("in/people.csv", "validate-csv", **options), job_context(), fp.FileDeps(s3)
    )
    assert (result["rows"], result["validRows"], result["invalidRows"]) == (5, 2, 3)
    assert result["valid"] is False
    report = json.loads(read(s3, "in/people.csv.validation.json"))
    assert [(e["line"], e["errors"]) for e in report["errors"]] == [
        (3, ["2 fields, expected 3"]),
        (4, ["name is empty"]),
        (5, ["age='forty' is not int"]),
    ]
    assert report["truncated"] is False


def test_csv_validation_caps_the_listed_errors(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="bad.csv", Body=b"a,b\n" + b"1\n" * 50)
    result = fp.process(
        payload("bad.csv", "validate-csv", maxErrors=5), job_context(), fp.FileDeps(s3)
    )
    report = json.loads(read(s3, "bad.csv.validation.json"))
    assert result["invalidRows"] == 50 and len(report["errors"]) == 5 and report["truncated"]


@pytest.mark.parametrize(
    ("body", "options", "message"),
    [
        (b"x,y\n1,2\n", {"columns": ["id", "name"]}, "not the expected"),
        (b"id\n1\n", {"required": ["name"]}, "not in the header"),
        (b"id,name\n\xff\xfe,1\n", {}, "not UTF-8"),
        (b"", {}, "empty"),
    ],
)
def test_unusable_csv_fails_without_retry(
    s3: Any, body: bytes, options: dict[str, Any], message: str
) -> None:
    s3.put_object(Bucket=BUCKET, Key="x.csv", Body=body)
    with pytest.raises(NonRetryableError, match=message):
        fp.process(payload("x.csv", "validate-csv", **options), job_context(), fp.FileDeps(s3))


def test_lines_survive_chunk_boundaries_inside_crlf_and_utf8() -> None:
    data = "a,b\r\nZoë,1\r\nlast".encode()
    cut = data.index(b"\r\n") + 1
    split_char = data.index("ë".encode()) + 1
    chunks = [data[:cut], data[cut:split_char], data[split_char:]]
    assert list(text_lines(iter(chunks))) == ["a,b\r\n", "Zoë,1\r\n", "last"]


def image_bytes(size: tuple[int, int], mode: str = "RGB", fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode == "RGB" else (255, 0, 0, 128)).save(out, fmt)
    return out.getvalue()


def test_thumbnail_fits_the_box_and_keeps_the_format(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="photos/cat.png", Body=image_bytes((400, 300)))
    result = fp.process(payload("photos/cat.png", "thumbnail"), job_context(), fp.FileDeps(s3))
    assert result["outputKey"] == "photos/cat.thumb.png"
    with Image.open(io.BytesIO(read(s3, "photos/cat.thumb.png"))) as thumb:
        assert thumb.size == (128, 96) and thumb.format == "PNG"


def test_thumbnail_to_jpeg_drops_transparency(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="a.png", Body=image_bytes((64, 64), "RGBA"))
    chosen = payload("a.png", "thumbnail", width=32, height=32, format="JPEG")
    result = fp.process(chosen, job_context(), fp.FileDeps(s3))
    assert result == result | {"outputKey": "a.thumb.jpg", "width": 32, "format": "JPEG"}


def test_a_file_that_is_not_an_image_fails_without_retry(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="notes.png", Body=b"just text")
    with pytest.raises(NonRetryableError, match="not a usable image"):
        fp.process(payload("notes.png", "thumbnail"), job_context(), fp.FileDeps(s3))


def test_a_missing_object_fails_without_retry(s3: Any) -> None:
    with pytest.raises(NonRetryableError, match="NoSuchKey"):
        fp.process(payload("nothing.txt", "gzip"), job_context(), fp.FileDeps(s3))


class SlowDown:
    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def get_object(self, **request: Any) -> Any:
        raise client_error("SlowDown", "GetObject")


def test_s3_throttling_is_retried(s3: Any) -> None:
    with pytest.raises(ClientError) as raised:
        fp.process(payload("a.txt", "gzip"), job_context(), fp.FileDeps(SlowDown(s3)))
    assert not isinstance(raised.value, NonRetryableError)


async def test_through_the_engine(s3: Any, redis: Any, prefix: str) -> None:
    s3.put_object(Bucket=BUCKET, Key="in/people.csv", Body=CSV.encode())

    def handler(data: fp.FileJobPayload, job: Any) -> Any:
        return fp.process(data, job, fp.FileDeps(s3))

    queue = engine_queue(redis, prefix, fp.queue, handler)
    added = await queue.add(payload("in/people.csv", "validate-csv").model_dump(by_alias=True))
    await drain(queue)
    job = await stored(queue, added.job_id)
    assert job.state is JobState.COMPLETED
    assert job.result["outputKey"] == "in/people.csv.validation.json"
    assert job.result["invalidRows"] == 1  # only the short row breaks the default rules
    lines = await logged(queue, added.job_id)
    assert lines[0] == f"validate-csv: reading in/people.csv ({len(CSV.encode())} bytes)"
    assert lines[1].startswith("validate-csv done: ") and "invalidRows 1" in lines[1]


@pytest.mark.parametrize(
    ("bucket", "key", "message"),
    [
        ("other-bucket", f"{TENANT}/a.txt", "not one jobs may use"),
        (BUCKET, "tenant-b/a.txt", "must be under 'tenant-a/'"),
        (BUCKET, f"{TENANT}/../tenant-b/a.txt", "must be under"),
    ],
)
def test_a_tenant_reaches_only_its_own_files(s3: Any, bucket: str, key: str, message: str) -> None:
    guarded = fp.FileDeps(s3, frozenset({BUCKET}), "{tenant}/")
    chosen = payload(key, "gzip").model_copy(update={"bucket": bucket})
    with pytest.raises(NonRetryableError, match=message):
        fp.process(chosen, job_context(), guarded)


def test_the_handler_keeps_tenants_to_their_prefix_in_the_deployments_bucket(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORRAL_BUCKET", BUCKET)
    get_settings.cache_clear()
    s3.put_object(Bucket=BUCKET, Key=f"{TENANT}/a.txt", Body=b"hello")
    result = fp.handle(payload(f"{TENANT}/a.txt", "gzip"), job_context())
    assert gzip.decompress(read(s3, result["outputKey"])) == b"hello"
    with pytest.raises(NonRetryableError, match="must be under"):
        fp.handle(payload("tenant-b/a.txt", "gzip"), job_context())
