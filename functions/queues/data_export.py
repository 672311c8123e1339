"""The ``data-export`` queue: a tenant's rows from a registered data source, streamed to S3
as csv, xlsx or json in multipart parts, with progress and a presigned link."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from corral.context import JobContext
from corral.definition import QueueDefinition
from corral.errors import NonRetryableError
from corral.settings import get_settings
from pydantic import Field

from queues._common import TenantPayload, aws_client, final_unless_transient
from queues._export_formats import CONTENT_TYPES, WRITERS, XLSX_MAX_ROWS, ExportFormat
from queues._export_sources import DataSource, JobHistorySource
from queues._s3stream import PART_BYTES, open_multipart

PROGRESS_EVERY_ROWS = 5000


class ExportPayload(TenantPayload):
    """``exportType`` (a registered source), ``format``, and optional filters and columns."""

    export_type: str = Field(min_length=1, max_length=64)
    format: ExportFormat = "csv"
    filters: dict[str, Any] = Field(default_factory=dict)
    columns: list[str] | None = Field(default=None, min_length=1, max_length=200)


@dataclass(frozen=True)
class ExportDeps:
    """What the export logic talks to; tests pass moto clients and their own sources."""

    s3: Any
    bucket: str
    sources: Mapping[str, DataSource]
    url_ttl_s: int = 3600
    part_bytes: int = PART_BYTES


def _progress(job: JobContext, total: int | None) -> Callable[[int], None]:
    """Report progress every few thousand rows: a percentage, or the count if no total."""

    def on_row(count: int) -> None:
        if count % PROGRESS_EVERY_ROWS:
            return
        job.raise_if_cancelled()  # a cancelled export stops here; its upload is aborted
        if total:
            job.progress(min(99, count * 100 // total))
        else:
            job.progress({"rows": count})

    return on_row


def _columns(payload: ExportPayload, source: DataSource) -> list[str]:
    if payload.columns is None:
        return list(source.columns)
    unknown = [c for c in payload.columns if c not in source.columns]
    if unknown:
        raise NonRetryableError(f"unknown columns {unknown}; known: {list(source.columns)}")
    return payload.columns


def export(payload: ExportPayload, job: JobContext, deps: ExportDeps) -> dict[str, Any]:
    """Stream the rows to ``exports/<tenant>/<type>/<job id>.<format>`` and link to it."""
    source = deps.sources.get(payload.export_type)
    if source is None:
        raise NonRetryableError(
            f"unknown exportType {payload.export_type!r}; known: {sorted(deps.sources)}"
        )
    if not deps.bucket:
        raise NonRetryableError("no export bucket configured (CORRAL_BUCKET)")
    columns = _columns(payload, source)
    tenant = payload.sub_account_id
    # The key depends only on the job, so a retried attempt overwrites its own output.
    key = f"exports/{tenant}/{payload.export_type}/{job.id}.{payload.format}"
    write = WRITERS[payload.format]
    content_type = CONTENT_TYPES[payload.format]
    with final_unless_transient():
        total = source.count(tenant, payload.filters)
        job.log(f"exporting {'?' if total is None else total} rows as {payload.format}")
        if payload.format == "xlsx" and total is not None and total > XLSX_MAX_ROWS:
            raise NonRetryableError(f"{total} rows do not fit in xlsx; use csv or json")
        with open_multipart(deps.s3, deps.bucket, key, content_type, deps.part_bytes) as sink:
            on_row = _progress(job, total)
            rows = write(source.rows(tenant, payload.filters), columns, sink, on_row)
        url = deps.s3.generate_presigned_url(
            "get_object", Params={"Bucket": deps.bucket, "Key": key}, ExpiresIn=deps.url_ttl_s
        )
    job.progress(100)
    job.log(f"wrote {rows} rows, {sink.bytes_written} bytes in {sink.parts} parts to {key}")
    return {
        "bucket": deps.bucket,
        "key": key,
        "format": payload.format,
        "rowCount": rows,
        "bytes": sink.bytes_written,
        "parts": sink.parts,
        "url": url,
        "urlExpiresIn": deps.url_ttl_s,
    }


def default_deps() -> ExportDeps:
    from queues import registry

    settings = get_settings()
    jobs = JobHistorySource(aws_client("dynamodb"), settings.table, registry.names())
    sources: dict[str, DataSource] = {"jobs": jobs}
    return ExportDeps(aws_client("s3"), settings.bucket, sources, settings.export_url_ttl_s)


def handle(payload: ExportPayload, job: JobContext) -> dict[str, Any]:
    """The queue's handler: ``{bucket, key, format, rowCount, bytes, parts, url, urlExpiresIn}``."""
    return export(payload, job, default_deps())


queue = QueueDefinition(
    name="data-export",
    payload=ExportPayload,
    handler=handle,
    grants=("results-multipart",),
    concurrency=2,
    attempts=3,
    timeout_ms=840_000,
    poller_memory_mb=1024,
    poller_timeout_s=900,
    description="A tenant's rows (its job history ships built in) to csv, xlsx or json in S3",
)
