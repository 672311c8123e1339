"""Results too large for a DynamoDB item go to S3; the record keeps a pointer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

INLINE_LIMIT = 64 * 1024
"""Bytes of result JSON kept in the item (an item holds 400 KB in all)."""

HARD_LIMIT = 300 * 1024
"""Without a bucket, results past this are replaced by a note of their size."""


class ResultStore:
    """Keeps large results in S3 (``results/{queue}/{jobId}.json``) when a bucket is set."""

    def __init__(
        self, s3: S3Client | None = None, bucket: str = "", inline_limit: int = INLINE_LIMIT
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.inline_limit = inline_limit

    def offload(self, queue: str, job_id: str, payload: str) -> tuple[str | None, str | None]:
        """``(inline payload, s3 pointer)``: one of the two is None."""
        size = len(payload.encode())
        if size <= self.inline_limit:
            return payload, None
        if self.s3 is not None and self.bucket:
            key = f"results/{queue}/{job_id}.json"
            self.s3.put_object(
                Bucket=self.bucket, Key=key, Body=payload.encode(), ContentType="application/json"
            )
            return None, f"s3://{self.bucket}/{key}"
        if size <= HARD_LIMIT:
            return payload, None
        return json.dumps({"truncated": True, "bytes": size}), None

    def load(self, ref: str) -> Any:
        """The result a pointer names."""
        if self.s3 is None:
            raise RuntimeError(f"result {ref} is in S3 but no S3 client was given")
        bucket, _, key = ref.removeprefix("s3://").partition("/")
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return json.loads(body)
