"""The ``file-processing`` queue: read an S3 object, write the processed result beside it
(gzip, csv validation, image thumbnail), reporting progress by bytes read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from corral.context import JobContext
from corral.definition import QueueDefinition
from corral.errors import NonRetryableError
from corral.settings import get_settings
from pydantic import BaseModel, Field, ValidationError, model_validator

from queues._common import TenantPayload, aws_client, final_unless_transient
from queues._file_ops import (
    CsvOptions,
    GzipOptions,
    Source,
    ThumbnailOptions,
    gzip_object,
    thumbnail,
    validate_csv,
)

Operation = Literal["gzip", "validate-csv", "thumbnail"]

OPTIONS: dict[str, type[BaseModel]] = {
    "gzip": GzipOptions,
    "validate-csv": CsvOptions,
    "thumbnail": ThumbnailOptions,
}
OPERATIONS: dict[str, Callable[[Source, Any], dict[str, Any]]] = {
    "gzip": gzip_object,
    "validate-csv": validate_csv,
    "thumbnail": thumbnail,
}


class FileJobPayload(TenantPayload):
    """``bucket``, ``key``, ``operation`` and its ``options`` (checked against the operation)."""

    bucket: str = Field(min_length=3, max_length=63)
    key: str = Field(min_length=1, max_length=1024)
    operation: Operation
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _options_fit_operation(self) -> FileJobPayload:
        try:
            OPTIONS[self.operation].model_validate(self.options)
        except ValidationError as exc:
            raise ValueError(f"options for {self.operation}: {exc}") from None
        return self


@dataclass(frozen=True)
class FileDeps:
    """The S3 client, and where a tenant's files may be.

    Attributes:
        buckets: buckets jobs may name (None: any the function's role can reach).
        key_prefix: keys must start with this, ``{tenant}`` replaced by the payload's
            tenant, so one tenant cannot read or write beside another's files ("": any key).
    """

    s3: Any
    buckets: frozenset[str] | None = None
    key_prefix: str = ""


def check_access(payload: FileJobPayload, deps: FileDeps) -> None:
    """Refuse objects outside the allowed buckets or the tenant's key prefix."""
    if deps.buckets is not None and payload.bucket not in deps.buckets:
        raise NonRetryableError(f"bucket {payload.bucket!r} is not one jobs may use")
    prefix = deps.key_prefix.replace("{tenant}", payload.sub_account_id)
    if not payload.key.startswith(prefix) or ".." in payload.key.split("/"):
        raise NonRetryableError(f"key must be under {prefix!r}")


def process(payload: FileJobPayload, job: JobContext, deps: FileDeps) -> dict[str, Any]:
    """Open the object and run the operation on it."""
    check_access(payload, deps)
    options = OPTIONS[payload.operation].model_validate(payload.options)
    with final_unless_transient():
        reply = deps.s3.get_object(Bucket=payload.bucket, Key=payload.key)
        job.log(f"{payload.operation}: reading {payload.key} ({reply['ContentLength']} bytes)")
        source = Source(
            deps.s3,
            payload.bucket,
            payload.key,
            reply["ContentLength"],
            reply["Body"],
            job.progress,
        )
        result = OPERATIONS[payload.operation](source, options)
    job.progress(100)
    summary = ", ".join(f"{k} {v}" for k, v in result.items() if not isinstance(v, list | dict))
    job.log(f"{payload.operation} done: {summary}")
    return {"operation": payload.operation, "bucket": payload.bucket, "key": payload.key, **result}


def handle(payload: FileJobPayload, job: JobContext) -> dict[str, Any]:
    """The queue's handler: ``{operation, bucket, key, outputKey, ...}`` (see ``_file_ops``)."""
    settings = get_settings()
    named = [b.strip() for b in settings.file_buckets.split(",") if b.strip()]
    buckets = frozenset(named or [settings.bucket])
    return process(payload, job, FileDeps(aws_client("s3"), buckets, settings.file_key_prefix))


queue = QueueDefinition(
    name="file-processing",
    payload=FileJobPayload,
    handler=handle,
    grants=("file-buckets",),
    extras=("imaging",),
    concurrency=4,
    attempts=3,
    timeout_ms=300_000,
    poller_memory_mb=1024,
    poller_timeout_s=900,
    description="S3 object in, processed object beside it: gzip, csv validation, thumbnails",
)
