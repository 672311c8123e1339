"""``corral enqueue QUEUE --file FILE``: many jobs from a JSON-lines file, safe to rerun.

The file holds one job per line (blank lines are skipped). A line is the job's data, a
JSON object, or an envelope ``{"data": {...}, "options": {...}}``: an object whose keys are
``data`` and, optionally, ``options`` (nothing else).

Each line's job id is its own ``options.jobId``, or one derived from the line's content
and how many identical lines come before it (and ``--id-seed``). The API answers a known id
as a duplicate, so a rerun after a failure adds only the lines that did not go in. The
content, not the line number, names the job: inserting or fixing a line does not re-key
the others. To enqueue the same file again as new jobs, give another ``--id-seed``.

Nothing is sent until the whole file passed two checks: locally (JSON, shape, repeated
job ids), then by the API (``POST /jobs/{queue}/validate``: every payload against the
queue's model). Either names every bad line.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from corral_client.client import ApiError, Client

BATCH = 100
ENVELOPE_KEYS = frozenset({"data", "options"})


class BadLinesError(Exception):
    """Lines that cannot be enqueued, each named ``line N: why``; nothing was sent."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__(f"{len(problems)} bad line(s); nothing was enqueued")
        self.problems = list(problems)


class PartlyEnqueuedError(Exception):
    """The API failed part way: ``report`` holds the lines it accepted before."""

    def __init__(self, cause: Exception, report: dict[str, Any]) -> None:
        super().__init__(
            f"{cause}\n{len(report['jobs'])} line(s) went in before the failure; rerun the "
            "same command to add the rest (lines already in answer as duplicates)"
        )
        self.report = report


@dataclass(frozen=True)
class Line:
    """One job of the file, with its (1-based) line number."""

    number: int
    data: dict[str, Any]
    options: dict[str, Any]

    @property
    def job(self) -> dict[str, Any]:
        return {"data": self.data, "options": self.options}


def line_job_id(content: Any, occurrence: int, seed: str = "") -> str:
    """The id of the ``occurrence``-th line (0-based) with this content."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{seed}\0{occurrence}\0{canonical}".encode()).hexdigest()
    return "ln-" + digest[:32]


def _shape(item: Any) -> tuple[dict[str, Any], dict[str, Any]] | str:
    """``(data, options)`` of a parsed line, or why it is not a job."""
    if not isinstance(item, dict):
        return f"a job is a JSON object, not {type(item).__name__}"
    if "data" not in item or not set(item) <= ENVELOPE_KEYS:
        return item, {}
    data, options = item["data"], item.get("options") or {}
    if not isinstance(data, dict):
        return "data must be a JSON object"
    if not isinstance(options, dict):
        return "options must be a JSON object"
    return data, options


def read_lines(text: str, seed: str = "") -> list[Line]:
    """The file's jobs, each with its job id (raises BadLinesError naming every bad line)."""
    lines: list[Line] = []
    problems: list[str] = []
    seen: Counter[str] = Counter()
    owners: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg}, column {exc.colno})")
            continue
        shape = _shape(item)
        if isinstance(shape, str):
            problems.append(f"line {number}: {shape}")
            continue
        data, options = shape
        key = json.dumps(item, sort_keys=True)
        job_id = options.get("jobId") or line_job_id(item, seen[key], seed)
        seen[key] += 1
        if job_id in owners:
            problems.append(f"line {number}: jobId {job_id} is also on line {owners[job_id]}")
            continue
        owners[job_id] = number
        lines.append(Line(number, data, {**options, "jobId": job_id}))
    if problems:
        raise BadLinesError(problems)
    if not lines:
        raise BadLinesError(["the file has no jobs"])
    return lines


def chunks(lines: Sequence[Line], size: int) -> Iterator[Sequence[Line]]:
    for start in range(0, len(lines), size):
        yield lines[start : start + size]


def _located(error: ApiError, chunk: Sequence[Line]) -> list[str]:
    """The API's field errors as ``line N: where: what`` (``loc`` is ``body.jobs.<i>...``)."""
    found = []
    details = error.body.get("details") if isinstance(error.body, dict) else None
    for detail in details if isinstance(details, list) else []:
        loc = list(detail.get("loc") or [])
        if loc[:2] == ["body", "jobs"] and len(loc) > 2 and isinstance(loc[2], int):
            where = ".".join(str(part) for part in loc[3:])
            found.append(f"line {chunk[loc[2]].number}: {where}: {detail.get('msg')}")
    if not found:  # an error about the batch as a whole (a refused webhook URL, say)
        found.append(f"lines {chunk[0].number}-{chunk[-1].number}: {error.message}")
    return found


def check_with_api(client: Client, queue: str, lines: Sequence[Line], size: int) -> None:
    """Every line through the API's validation (raises BadLinesError naming the bad ones)."""
    problems: list[str] = []
    for chunk in chunks(lines, size):
        try:
            client.validate_batch(queue, [line.job for line in chunk])
        except ApiError as exc:
            if exc.status != 422:
                raise
            problems.extend(_located(exc, chunk))
    if problems:
        raise BadLinesError(problems)


def enqueue_lines(
    client: Client,
    queue: str,
    lines: Sequence[Line],
    size: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Check every line, then enqueue them in batches.

    Returns ``{jobs: [{line, jobId, status, deduplicated}], accepted, deduplicated}``.
    Raises BadLinesError (nothing sent) or PartlyEnqueuedError (what went in before).
    """
    check_with_api(client, queue, lines, size)
    jobs: list[dict[str, Any]] = []
    for chunk in chunks(lines, size):
        try:
            # Atomic: a batch the API would take only in part is an error here, not a success.
            reply = client.enqueue_batch(queue, [line.job for line in chunk], atomic=True)
        except (ApiError, httpx.TransportError) as exc:
            raise PartlyEnqueuedError(exc, report(jobs)) from exc
        jobs.extend(
            {"line": line.number, **job} for line, job in zip(chunk, reply["jobs"], strict=True)
        )
        if progress is not None:
            progress(len(jobs), len(lines))
    return report(jobs)


def report(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    duplicates = sum(1 for job in jobs if job.get("deduplicated"))
    return {"jobs": jobs, "accepted": len(jobs) - duplicates, "deduplicated": duplicates}
