"""How the ``corral`` command prints: tables for people, JSON for scripts, a progress bar."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from corral_client import flow


def cell(column: str, value: Any) -> str:
    """A value as a table shows it: epoch-ms times as UTC, nothing for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int) and (column.endswith("At") or column == "nextRun"):
        return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    """Print rows as aligned columns (those no row has are left out)."""
    columns = [c for c in columns if any(c in row for row in rows)] or columns
    cells = [[cell(c, row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)), file=out)
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)), file=out)


def progress_bar(done: int, total: int, out: TextIO, width: int = 30) -> None:
    filled = width * done // max(total, 1)
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    out.flush()


def show(result: Any, args: argparse.Namespace, out: TextIO) -> None:
    """Tables for people; ``--json`` for scripts."""
    if args.json or not isinstance(result, dict):
        print(json.dumps(result, indent=2), file=out)
        return
    if flow.is_tree(result):
        flow.print_tree(result, out)
        return
    for key, columns in (
        (
            "queues",
            [
                "name",
                "waiting",
                "delayed",
                "processing",
                "completed",
                "failed",
                "deadLetter",
                "paused",
            ],
        ),
        (
            "jobs",
            [
                *("line", "jobId", "status", "deduplicated", "attemptsMade", "attempts"),
                *("name", "tenant", "createdAt", "completedAt"),
            ],
        ),
        ("schedules", ["id", "queue", "cron", "tz", "every", "nextRun", "count", "paused"]),
    ):
        if isinstance(result.get(key), list):
            table(result[key], columns, out)
            if result.get("nextCursor"):
                print(f"next: --cursor {result['nextCursor']}", file=out)
            if "accepted" in result:  # a bulk enqueue's totals
                totals = f"accepted {result['accepted']}, deduplicated {result['deduplicated']}"
                print(totals, file=out)
            return
    width = max(len(k) for k in result) if result else 0
    for key, value in result.items():
        text = cell(key, value) if isinstance(value, str | int) else json.dumps(value)
        print(f"{key.ljust(width)}  {text}", file=out)
