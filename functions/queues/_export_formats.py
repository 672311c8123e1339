"""Row writers for data exports: csv, json and xlsx, each streaming to a binary sink."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from corral.errors import NonRetryableError

ExportFormat = Literal["csv", "xlsx", "json"]

CONTENT_TYPES: dict[str, str] = {
    "csv": "text/csv",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

XLSX_MAX_ROWS = 1_048_575
"""A worksheet holds 1,048,576 rows, one of them the header."""

Sink = io.RawIOBase
Row = Mapping[str, Any]
OnRow = Callable[[int], None]
"""Called with the running row count (cheaply: once per row)."""


def _cell(value: Any) -> Any:
    """A scalar for csv/xlsx cells: structures as JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    return value


def _text(sink: Sink) -> tuple[io.TextIOWrapper, io.BufferedWriter[Sink]]:
    buffered = io.BufferedWriter(sink, buffer_size=256 * 1024)
    return io.TextIOWrapper(buffered, encoding="utf-8", newline=""), buffered


def _release(text: io.TextIOWrapper, buffered: io.BufferedWriter[Sink]) -> None:
    """Flush everything into the sink without closing it (the caller completes it)."""
    text.detach()
    buffered.detach()


def write_csv(rows: Iterable[Row], columns: Sequence[str], sink: Sink, on_row: OnRow) -> int:
    text, buffered = _text(sink)
    writer = csv.writer(text)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
        count += 1
        on_row(count)
    _release(text, buffered)
    return count


def write_json(rows: Iterable[Row], columns: Sequence[str], sink: Sink, on_row: OnRow) -> int:
    """A JSON array of objects, written one object at a time."""
    text, buffered = _text(sink)
    text.write("[")
    count = 0
    for row in rows:
        if count:
            text.write(",\n")
        text.write(json.dumps({c: row.get(c) for c in columns}, default=str))
        count += 1
        on_row(count)
    text.write("]\n")
    _release(text, buffered)
    return count


def write_xlsx(rows: Iterable[Row], columns: Sequence[str], sink: Sink, on_row: OnRow) -> int:
    """xlsx through XlsxWriter's ``constant_memory`` mode (each row is flushed to a temp
    file as the next begins); the finished zip is then copied to ``sink`` in chunks."""
    import xlsxwriter  # type: ignore[import-untyped]

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "export.xlsx")
        options = {"constant_memory": True, "tmpdir": tmp, "strings_to_numbers": False}
        workbook = xlsxwriter.Workbook(path, options)
        sheet = workbook.add_worksheet("export")
        sheet.write_row(0, 0, columns)
        count = 0
        for row in rows:
            if count == XLSX_MAX_ROWS:
                workbook.close()
                raise NonRetryableError(f"xlsx holds at most {XLSX_MAX_ROWS} rows; use csv or json")
            count += 1
            sheet.write_row(count, 0, [_cell(row.get(c)) for c in columns])
            on_row(count)
        workbook.close()
        with open(path, "rb") as built:
            shutil.copyfileobj(built, sink, 1024 * 1024)
    return count


WRITERS: dict[str, Callable[[Iterable[Row], Sequence[str], Sink, OnRow], int]] = {
    "csv": write_csv,
    "json": write_json,
    "xlsx": write_xlsx,
}
