"""Update expressions for the job table's state changes (all conditional)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from corral.job import JobStatus
from corral.records import JobRecord, OutcomeRecord

LIVE = "#s IN (:pending, :processing)"
FINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})

_STATUS_VALUES = {
    ":pending": {"S": JobStatus.PENDING.value},
    ":processing": {"S": JobStatus.PROCESSING.value},
}


def outcome_update(item: OutcomeRecord, retention_s: int | None) -> dict[str, Any]:
    """``UpdateItem`` arguments that record ``item`` unless a newer state is recorded.

    ``attemptsMade`` orders the writes: an attempt starts only over an older attempt, and
    an outcome lands only on a live record whose attempt is not newer. (A record that is
    missing fails the condition too; ``missing_record`` covers that case.)
    """
    names = {"#s": "status"}
    values: dict[str, Any] = {
        **_STATUS_VALUES,
        ":status": {"S": item.status.value},
        ":qs": {"S": f"{item.queue}#{item.status.value}"},
        ":a": {"N": str(item.attempt)},
        ":now": {"N": str(item.at)},
    }
    sets = ["#s = :status", "qs = :qs", "attemptsMade = :a", "updatedAt = :now"]
    removes: list[str] = []
    if item.status is JobStatus.PROCESSING:
        sets.append("startedAt = :now")
        condition = f"{LIVE} AND attemptsMade < :a"
    else:
        condition = f"{LIVE} AND attemptsMade <= :a"
        if item.started_at is not None:
            sets.append("startedAt = :started")
            values[":started"] = {"N": str(item.started_at)}
    if item.status in FINAL:
        sets.append("completedAt = :now")
        if retention_s is not None:
            sets.append("expiresAt = :exp")
            values[":exp"] = {"N": str(item.at // 1000 + retention_s)}
    if item.payload is not None:
        field = "#r" if item.status is JobStatus.COMPLETED else "#e"
        names[field] = "result" if field == "#r" else "error"
        sets.append(f"{field} = :payload")
        values[":payload"] = {"S": item.payload}
    ref = item.extra.get("resultRef")
    if ref:
        sets.append("resultRef = :ref")
        values[":ref"] = {"S": ref}
    elif item.status is JobStatus.COMPLETED:
        removes.append("resultRef")
    if item.status is JobStatus.COMPLETED:
        # An earlier attempt's error would read as this success's: it goes.
        names["#e"] = "error"
        removes.append("#e")
    expression = "SET " + ", ".join(sets)
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    return {
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def missing_record(item: OutcomeRecord, retention_s: int | None) -> JobRecord:
    """A minimal record for a final outcome whose record is gone: a result is never dropped."""
    payload = json.loads(item.payload) if item.payload is not None else None
    completed = item.status is JobStatus.COMPLETED
    return JobRecord(
        job_id=item.job_id,
        queue=item.queue,
        tenant=item.tenant,
        status=item.status,
        data=None,
        options={},
        attempts=item.attempt,
        created_at=item.at,
        attempts_made=item.attempt,
        result=payload if completed else None,
        result_ref=item.extra.get("resultRef"),
        error=None if completed else payload,
        started_at=item.started_at,
        completed_at=item.at,
        expires_at=item.at // 1000 + retention_s if retention_s is not None else None,
    )


def reopen_update(queue: str, statuses: Sequence[JobStatus], now: int) -> dict[str, Any]:
    """``UpdateItem`` arguments that put a finished record back to pending, attempts reset."""
    allowed = {f":from{i}": {"S": s.value} for i, s in enumerate(statuses)}
    return {
        "UpdateExpression": (
            "SET #s = :pending, qs = :qs, attemptsMade = :zero, updatedAt = :now "
            "REMOVE expiresAt, completedAt, startedAt, #r, resultRef, progress"
        ),
        "ConditionExpression": f"#s IN ({', '.join(allowed)})",
        "ExpressionAttributeNames": {"#s": "status", "#r": "result"},
        "ExpressionAttributeValues": {
            ":pending": {"S": JobStatus.PENDING.value},
            ":qs": {"S": f"{queue}#pending"},
            ":zero": {"N": "0"},
            ":now": {"N": str(now)},
            **allowed,
        },
    }
