"""Write an S3 object as a stream of parts (multipart upload), so memory stays flat."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

MIN_PART_BYTES = 5 * 1024 * 1024
"""S3's smallest part (all but the last)."""
PART_BYTES = 8 * 1024 * 1024


class MultipartWriter(io.RawIOBase):
    """A writable binary stream that uploads every ``part_bytes`` as one part.

    Use through ``open_multipart`` so that the upload is completed on success and
    aborted (no partial object, no stored parts left to pay for) on any error.
    """

    def __init__(
        self, s3: Any, bucket: str, key: str, upload_id: str, part_bytes: int = PART_BYTES
    ) -> None:
        super().__init__()
        if part_bytes < MIN_PART_BYTES:
            raise ValueError("S3 parts are at least 5 MiB")
        self.s3, self.bucket, self.key, self.upload_id = s3, bucket, key, upload_id
        self.part_bytes = part_bytes
        self.bytes_written = 0
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._buffer += view
        self.bytes_written += view.nbytes
        if len(self._buffer) >= self.part_bytes:
            # The whole buffer goes as one part (a little over part_bytes at most): no copy
            # of a remainder, and a fresh buffer instead of shifting the old one.
            body, self._buffer = bytes(self._buffer), bytearray()
            self._upload(body)
        return view.nbytes

    def _upload(self, body: bytes) -> None:
        number = len(self._parts) + 1
        reply = self.s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self._parts.append({"PartNumber": number, "ETag": reply["ETag"]})

    def complete(self) -> None:
        """Upload what is buffered as the last part and assemble the object."""
        if self._buffer or not self._parts:
            self._upload(bytes(self._buffer))
            self._buffer.clear()
        self.s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    @property
    def parts(self) -> int:
        return len(self._parts)


@contextmanager
def open_multipart(
    s3: Any, bucket: str, key: str, content_type: str, part_bytes: int = PART_BYTES
) -> Iterator[MultipartWriter]:
    """A ``MultipartWriter`` whose upload completes when the block ends, or aborts on error."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)
    writer = MultipartWriter(s3, bucket, key, upload["UploadId"], part_bytes)
    try:
        yield writer
        writer.complete()
    except BaseException:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"])
        raise
    finally:
        writer.close()
