"""Update expressions for the job table's state changes (all conditional)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from corral.job import JobStatus
from corral.records import OutcomeRecord

LIVE = "#s IN (:pending, :processing)"

_STATUS_VALUES = {
    ":pending": {"S": JobStatus.PENDING.value},
    ":processing": {"S": JobStatus.PROCESSING.value},
}


def outcome_update(item: OutcomeRecord, retention_s: int | None) -> dict[str, Any]:
    """``UpdateItem`` arguments that record ``item`` unless a newer state is recorded.

    ``attemptsMade`` orders the writes: an attempt starts only over an older attempt, and
    an outcome lands only on a live record whose attempt is not newer. A final outcome
    for a record that is missing creates a minimal one rather than drop a result.
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
    elif item.status is JobStatus.PENDING:
        condition = f"{LIVE} AND attemptsMade <= :a"
    else:
        condition = f"attribute_not_exists(pk) OR ({LIVE} AND attemptsMade <= :a)"
        sets.append("completedAt = :now")
        _identity(item, sets, values)
        names["#q"] = "queue"
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
    expression = "SET " + ", ".join(sets)
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    return {
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _identity(item: OutcomeRecord, sets: list[str], values: dict[str, Any]) -> None:
    """Fields a recreated record needs to be found again (set only where missing)."""
    values.update(
        {
            ":job": {"S": item.job_id},
            ":queue": {"S": item.queue},
            ":tenant": {"S": item.tenant},
            ":tq": {"S": f"{item.queue}#{item.tenant}"},
            ":ts": {"S": f"{item.at:013d}#{item.job_id}"},
        }
    )
    sets.extend(
        [
            "jobId = if_not_exists(jobId, :job)",
            "#q = if_not_exists(#q, :queue)",
            "tenant = if_not_exists(tenant, :tenant)",
            "createdAt = if_not_exists(createdAt, :now)",
            "tq = if_not_exists(tq, :tq)",
            "ts = if_not_exists(ts, :ts)",
        ]
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
