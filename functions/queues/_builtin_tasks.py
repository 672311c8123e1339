"""The seeds' built-in generic tasks, registered on the shared allowlist at import."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from corral.errors import NonRetryableError
from corral.job import JobStatus
from corral.records import BY_TENANT, sort_key

from queues._common import error_code, final_unless_transient, is_transient
from queues._export_sources import JobHistorySource
from queues._tasks import TaskContext, task

DAY_MS = 86_400_000
FINISHED = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


def _numbers(values: Any) -> list[float]:
    if not isinstance(values, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        raise NonRetryableError("numbers must be a list of numbers")
    return values


@task("delay")
async def delay(ctx: TaskContext, ms: int) -> dict[str, Any]:
    """Wait ``ms`` milliseconds (less than the job's timeout)."""
    if not isinstance(ms, int) or not 0 <= ms < ctx.job.timeout_ms:
        raise NonRetryableError(f"ms must be an integer from 0 to {ctx.job.timeout_ms - 1}")
    await asyncio.sleep(ms / 1000)
    return {"delayedMs": ms}


@task("calculateSum")
def calculate_sum(numbers: list[float]) -> float:
    """The sum of a list of numbers."""
    return sum(_numbers(numbers))


def _sorted(data: Any) -> Any:
    try:
        return sorted(data)
    except TypeError as exc:
        raise NonRetryableError(f"cannot sort: {exc}") from None


PROCESSORS: dict[str, Callable[[Any], Any]] = {
    "uppercase": lambda d: d.upper() if isinstance(d, str) else [str(x).upper() for x in d],
    "lowercase": lambda d: d.lower() if isinstance(d, str) else [str(x).lower() for x in d],
    "reverse": lambda d: d[::-1],
    "sort": _sorted,
    "unique": lambda d: list(dict.fromkeys(d)),
    "count": len,
    "sum": lambda d: sum(_numbers(d)),
    "min": lambda d: min(_numbers(d)),
    "max": lambda d: max(_numbers(d)),
}


@task("processData")
def process_data(data: Any, operation: str) -> Any:
    """Apply one named operation (``PROCESSORS``) to a string or a list."""
    processor = PROCESSORS.get(operation)
    if processor is None:
        raise NonRetryableError(f"unknown operation {operation!r}; known: {sorted(PROCESSORS)}")
    if not isinstance(data, str | list):
        raise NonRetryableError("data must be a string or a list")
    return processor(data)


@task("sendNotification")
def send_notification(ctx: TaskContext, message: str, subject: str | None = None) -> dict[str, Any]:
    """Publish to the deployment's notification topic, tagged with the tenant."""
    if not ctx.topic_arn:
        raise NonRetryableError("no notification topic configured (CORRAL_NOTIFICATION_TOPIC_ARN)")
    request: dict[str, Any] = {
        "TopicArn": ctx.topic_arn,
        "Message": str(message),
        "MessageAttributes": {"tenant": {"DataType": "String", "StringValue": ctx.tenant}},
    }
    if subject:
        request["Subject"] = str(subject)[:100]
    with final_unless_transient():
        reply = ctx.clients("sns").publish(**request)
    return {"messageId": reply["MessageId"], "topicArn": ctx.topic_arn}


FINISHED_CONDITION = {
    "ConditionExpression": "#s IN (:s0, :s1, :s2)",
    "ExpressionAttributeNames": {"#s": "status"},
    "ExpressionAttributeValues": {f":s{i}": {"S": s.value} for i, s in enumerate(FINISHED)},
}
"""Deletes only a finished record: the tenant index projects no status to select by, and
the condition also spares a job retried since it was listed."""


def _old_keys(ctx: TaskContext, cutoff_ms: int) -> list[dict[str, Any]]:
    dynamodb = ctx.clients("dynamodb")
    keys: list[dict[str, Any]] = []
    for queue in ctx.queues:
        query: dict[str, Any] = {
            "TableName": ctx.table,
            "IndexName": BY_TENANT,
            "KeyConditionExpression": "tq = :tq AND ts < :cut",
            "ExpressionAttributeValues": {
                ":tq": {"S": f"{queue}#{ctx.tenant}"},
                ":cut": {"S": sort_key(cutoff_ms, "")},
            },
            "ProjectionExpression": "pk",
        }
        while True:
            reply = dynamodb.query(**query)
            keys.extend({"pk": item["pk"]} for item in reply.get("Items", []))
            if "LastEvaluatedKey" not in reply:
                break
            query["ExclusiveStartKey"] = reply["LastEvaluatedKey"]
    return keys


@task("cleanupOldData")
def cleanup_old_data(ctx: TaskContext, table_name: str, days_old: int) -> dict[str, Any]:
    """Delete the tenant's finished job records created more than ``days_old`` days ago.

    ``tableName`` names a logical table; only ``"jobs"`` (the job table) exists. Deletes
    are idempotent, so when some fail for a transient reason the task raises and the
    retry deletes what is left.
    """
    if table_name != "jobs":
        raise NonRetryableError(f"unknown table {table_name!r}; only 'jobs' can be cleaned")
    if not isinstance(days_old, int) or days_old < 1:
        raise NonRetryableError("daysOld must be a whole number of days, at least 1")
    from botocore.exceptions import ClientError

    cutoff = int(time.time() * 1000) - days_old * DAY_MS
    dynamodb = ctx.clients("dynamodb")
    with final_unless_transient():
        keys = _old_keys(ctx, cutoff)
    deleted = failed = 0
    for index, key in enumerate(keys, 1):
        try:
            dynamodb.delete_item(TableName=ctx.table, Key=key, **FINISHED_CONDITION)
            deleted += 1
        except ClientError as exc:
            # Not finished (a pending or running job keeps its record), or throttled.
            if error_code(exc) != "ConditionalCheckFailedException":
                if not is_transient(exc):
                    raise NonRetryableError(str(exc)) from exc
                failed += 1
        ctx.job.progress(index * 100 // len(keys))
    if failed:
        raise RuntimeError(f"deleted {deleted}, {failed} throttled; the retry deletes the rest")
    return {"tableName": table_name, "daysOld": days_old, "cutoff": cutoff, "deleted": deleted}


@task("generateReport")
def generate_report(ctx: TaskContext, type: str, filters: dict[str, Any] | None = None) -> Any:
    """``jobSummary``: the tenant's jobs counted by queue and status."""
    if type != "jobSummary":
        raise NonRetryableError(f"unknown report type {type!r}; known: ['jobSummary']")
    source = JobHistorySource(ctx.clients("dynamodb"), ctx.table, ctx.queues)
    by_queue: dict[str, Counter[str]] = defaultdict(Counter)
    with final_unless_transient():
        for row in source.rows(ctx.tenant, filters or {}):
            by_queue[row["queue"]][row["status"]] += 1
    return {
        "type": type,
        "generatedAt": int(time.time() * 1000),
        "total": sum(sum(c.values()) for c in by_queue.values()),
        "byQueue": {queue: dict(counts) for queue, counts in sorted(by_queue.items())},
    }


@task("customAsyncTask")
async def custom_async_task(ctx: TaskContext, task_id: str, data: Any) -> dict[str, Any]:
    """An example async task: reports progress and echoes its input with a timestamp."""
    ctx.job.progress(50)
    await asyncio.sleep(0)
    ctx.job.progress(100)
    return {"taskId": task_id, "data": data, "processedAt": int(time.time() * 1000)}


MAX_DEMO_FAILURES = 20
MAX_DEMO_SLEEP_MS = 900_000


@task("failThenSucceed")
def fail_then_succeed(ctx: TaskContext, failures: int) -> dict[str, Any]:
    """Fail the first ``failures`` attempts, then succeed: retries and backoff to watch.

    With ``failures`` at or above the job's ``attempts`` it fails for good (the dead-letter
    queue and ``retry`` to watch).
    """
    if not isinstance(failures, int) or not 0 <= failures <= MAX_DEMO_FAILURES:
        raise NonRetryableError(f"failures must be an integer from 0 to {MAX_DEMO_FAILURES}")
    if ctx.job.attempt <= failures:
        raise RuntimeError(f"failing on purpose: attempt {ctx.job.attempt} of {failures} to fail")
    return {"attempt": ctx.job.attempt, "failedAttempts": failures}


@task("sleepWithProgress")
async def sleep_with_progress(ctx: TaskContext, ms: int, steps: int = 10) -> dict[str, Any]:
    """Sleep ``ms`` milliseconds in ``steps`` steps, reporting progress after each.

    A job to follow (``corral status --wait`` draws the bar); with a ``timeout`` option
    shorter than ``ms`` it shows a job that times out and is retried.
    """
    if not isinstance(ms, int) or not 0 <= ms <= MAX_DEMO_SLEEP_MS:
        raise NonRetryableError(f"ms must be an integer from 0 to {MAX_DEMO_SLEEP_MS}")
    if not isinstance(steps, int) or not 1 <= steps <= 100:
        raise NonRetryableError("steps must be an integer from 1 to 100")
    for step in range(1, steps + 1):
        await asyncio.sleep(ms / steps / 1000)
        ctx.job.progress(step * 100 // steps)
    return {"sleptMs": ms, "steps": steps}
