"""The operations of the file-processing queue: each reads one S3 object as a stream of
chunks and writes its output beside it."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from corral.errors import NonRetryableError
from corral.job import CamelModel
from pydantic import Field

from queues._s3stream import PART_BYTES, open_multipart

CHUNK_BYTES = 1024 * 1024
MAX_IMAGE_BYTES = 40 * 1024 * 1024


class GzipOptions(CamelModel):
    level: int = Field(default=6, ge=1, le=9)


class CsvOptions(CamelModel):
    """What a valid file looks like; rows that break a rule are reported, not fatal."""

    columns: list[str] | None = None
    required: list[str] = Field(default_factory=list)
    types: dict[str, Literal["int", "float", "string"]] = Field(default_factory=dict)
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    max_errors: int = Field(default=100, ge=0, le=10_000)


class ThumbnailOptions(CamelModel):
    width: int = Field(default=128, ge=1, le=4096)
    height: int = Field(default=128, ge=1, le=4096)
    format: Literal["JPEG", "PNG", "WEBP"] | None = None


@dataclass
class Source:
    """The object being processed, read in chunks with byte-based progress."""

    s3: Any
    bucket: str
    key: str
    size: int
    body: Any
    report: Callable[[int], None]

    def chunks(self) -> Iterator[bytes]:
        done = 0
        for chunk in self.body.iter_chunks(CHUNK_BYTES):
            done += len(chunk)
            yield chunk
            self.report(min(99, done * 100 // max(self.size, 1)))


def gzip_object(src: Source, options: GzipOptions, part_bytes: int = PART_BYTES) -> dict[str, Any]:
    """Compress to ``<key>.gz``."""
    out = f"{src.key}.gz"
    with open_multipart(src.s3, src.bucket, out, "application/gzip", part_bytes) as sink:
        with gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=options.level) as zipped:
            for chunk in src.chunks():
                zipped.write(chunk)
        written = sink.bytes_written
    ratio = round(written / src.size, 4) if src.size else None
    return {"outputKey": out, "inputBytes": src.size, "outputBytes": written, "ratio": ratio}


def text_lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Decode UTF-8 (with or without BOM) chunks into lines, keeping line ends for csv."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending = ""
    try:
        for chunk in chunks:
            lines = (pending + decoder.decode(chunk)).splitlines(keepends=True)
            # A last line without "\n" may continue in the next chunk (or be half a "\r\n").
            pending = lines.pop() if lines and not lines[-1].endswith("\n") else ""
            yield from lines
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise NonRetryableError(f"not UTF-8 text: {exc}") from exc
    if pending:
        yield pending


def _row_errors(row: dict[str, str], options: CsvOptions) -> list[str]:
    errors = [f"{name} is empty" for name in options.required if not row.get(name, "").strip()]
    for name, kind in options.types.items():
        value = row.get(name, "")
        if not value or kind == "string":
            continue
        try:
            int(value) if kind == "int" else float(value)
        except ValueError:
            errors.append(f"{name}={value!r} is not {kind}")
    return errors


def validate_csv(src: Source, options: CsvOptions) -> dict[str, Any]:
    """Check every row; write ``<key>.validation.json`` listing the bad ones."""
    reader = csv.reader(text_lines(src.chunks()), delimiter=options.delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise NonRetryableError("the file is empty")
        if options.columns is not None and header != options.columns:
            raise NonRetryableError(f"header {header} is not the expected {options.columns}")
        missing = [c for c in [*options.required, *options.types] if c not in header]
        if missing:
            raise NonRetryableError(f"columns {missing} are not in the header {header}")
        rows = bad = 0
        errors: list[dict[str, Any]] = []
        for fields in reader:
            rows += 1
            problems = (
                [f"{len(fields)} fields, expected {len(header)}"]
                if len(fields) != len(header)
                else _row_errors(dict(zip(header, fields, strict=True)), options)
            )
            if problems:
                bad += 1
                if len(errors) < options.max_errors:
                    errors.append({"line": reader.line_num, "row": rows, "errors": problems})
    except csv.Error as exc:
        raise NonRetryableError(f"unreadable csv at line {reader.line_num}: {exc}") from exc
    report = {"rows": rows, "validRows": rows - bad, "invalidRows": bad, "errors": errors}
    report["truncated"] = bad > len(errors)
    out = f"{src.key}.validation.json"
    body = json.dumps(report, indent=1).encode()
    src.s3.put_object(Bucket=src.bucket, Key=out, Body=body, ContentType="application/json")
    summary = {k: v for k, v in report.items() if k != "errors"}
    return {"outputKey": out, "valid": bad == 0, **summary, "errors": errors[:10]}


def thumbnail(src: Source, options: ThumbnailOptions) -> dict[str, Any]:
    """Shrink an image to fit ``width`` x ``height`` as ``<name>.thumb.<ext>``."""
    from PIL import Image, UnidentifiedImageError

    if src.size > MAX_IMAGE_BYTES:
        raise NonRetryableError(f"image of {src.size} bytes is over {MAX_IMAGE_BYTES}")
    data = b"".join(src.chunks())
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = options.format or (image.format if image.format in {"PNG", "WEBP"} else "JPEG")
            image.thumbnail((options.width, options.height))
            small: Image.Image = image
            if fmt == "JPEG" and image.mode not in {"RGB", "L"}:
                small = image.convert("RGB")  # JPEG has no alpha channel
            out_bytes = io.BytesIO()
            small.save(out_bytes, fmt)
            size = small.size
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise NonRetryableError(f"not a usable image: {exc}") from exc
    stem, _ = posixpath.splitext(src.key)
    out = f"{stem}.thumb.{fmt.lower().replace('jpeg', 'jpg')}"
    content_type = f"image/{fmt.lower()}"
    src.s3.put_object(
        Bucket=src.bucket, Key=out, Body=out_bytes.getvalue(), ContentType=content_type
    )
    return {"outputKey": out, "width": size[0], "height": size[1], "format": fmt}
