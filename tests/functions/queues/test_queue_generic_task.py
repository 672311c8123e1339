"""The generic-task queue: the allowlist and its decorator, the seeds' built-ins (SNS and
the job table in moto), errors, progress, and one run through the engine."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from corral.errors import NonRetryableError
from corral.job import JobState, JobStatus
from corral.records import JobRecord, table_definition, to_item
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends
from queues import generic_task as gt
from queues._tasks import TaskRegistry, tasks

from tests.functions.queues.queue_helpers import (
    REGION,
    TENANT,
    RecordingContext,
    client,
    client_error,
    drain,
    engine_queue,
    job_context,
    logged,
    stored,
)

pytestmark = pytest.mark.usefixtures("aws")

TABLE = "jobs-test"
DAY_MS = 86_400_000


def payload(function: str, *parameters: Any) -> gt.TaskPayload:
    return gt.TaskPayload.model_validate(
        {
            "subAccountId": TENANT,
            "taskName": f"test {function}",
            "functionName": function,
            "parameters": list(parameters),
        }
    )


def deps(clients: Callable[[str], Any] = client, **fields: Any) -> gt.TaskDeps:
    return gt.TaskDeps(tasks, clients, table=TABLE, queues=("email", "sms"), **fields)


async def call(function: str, *parameters: Any, job: Any = None, **fields: Any) -> Any:
    return await gt.run(payload(function, *parameters), job or job_context(), deps(**fields))


def test_the_seeds_built_ins_are_registered() -> None:
    assert set(tasks.tasks) >= {
        "delay",
        "calculateSum",
        "processData",
        "sendNotification",
        "cleanupOldData",
        "generateReport",
        "customAsyncTask",
        "failThenSucceed",
        "sleepWithProgress",
    }


async def test_calculate_sum_returns_the_sum() -> None:
    assert await call("calculateSum", [1, 2, 3]) == 6
    assert await call("calculateSum", [0.5, 0.25]) == 0.75


@pytest.mark.parametrize(
    ("function", "parameters", "message"),
    [
        ("os.system", ["true"], "unknown function"),
        ("__import__", ["os"], "unknown function"),
        ("calculateSum", [], "bad parameters"),
        ("calculateSum", [[1], [2]], "bad parameters"),
        ("calculateSum", [[1, "2"]], "list of numbers"),
        ("processData", ["abc", "explode"], "unknown operation"),
        ("delay", [10**9], "ms must be"),
        ("cleanupOldData", ["users", 30], "only 'jobs'"),
        ("generateReport", ["revenue", {}], "unknown report type"),
        ("sendNotification", ["hello"], "no notification topic"),
    ],
)
async def test_bad_calls_fail_without_retry(
    function: str, parameters: list[Any], message: str
) -> None:
    with pytest.raises(NonRetryableError, match=message):
        await call(function, *parameters)


@pytest.mark.parametrize(
    ("data", "operation", "expected"),
    [
        ("Hello", "uppercase", "HELLO"),
        (["b", "a", "b"], "unique", ["b", "a"]),
        ([3, 1, 2], "sort", [1, 2, 3]),
        ([3, 1, 2], "reverse", [2, 1, 3]),
        ([3, 1, 2], "sum", 6),
        ("abc", "count", 3),
    ],
)
async def test_process_data(data: Any, operation: str, expected: Any) -> None:
    assert await call("processData", data, operation) == expected


async def test_delay_and_custom_async_task_report_and_return() -> None:
    assert await call("delay", 5) == {"delayedMs": 5}
    job = job_context()
    result = await call("customAsyncTask", "t-1", {"x": 1}, job=job)
    assert result["taskId"] == "t-1" and result["data"] == {"x": 1}
    assert job.seen == [50, 100]


async def test_send_notification_publishes_to_the_topic_tagged_with_the_tenant() -> None:
    arn = client("sns").create_topic(Name="notices")["TopicArn"]
    result = await call("sendNotification", "Backup done", "Backups", topic_arn=arn)
    [sent] = sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[arn].sent_notifications
    assert sent[0] == result["messageId"]
    assert (sent[1], sent[2]) == ("Backup done", "Backups")
    assert sent[3] is not None and sent[3]["tenant"]["Value"] == TENANT


def test_one_decorator_registers_a_function_and_names_are_unique() -> None:
    registry = TaskRegistry()

    @registry.register("double")
    def double(x: int) -> int:
        return 2 * x

    assert registry.get("double").function is double
    with pytest.raises(ValueError, match="twice"):
        registry.register("double")(double)


async def test_a_registered_function_runs_through_its_own_registry() -> None:
    registry = TaskRegistry()

    @registry.register("greet")
    async def greet(ctx: Any, name: str) -> str:
        return f"hello {name} from {ctx.tenant}"

    own = gt.TaskDeps(registry, client)
    assert await gt.run(payload("greet", "Ann"), job_context(), own) == "hello Ann from tenant-a"
    with pytest.raises(NonRetryableError):
        await gt.run(payload("calculateSum", [1]), job_context(), own)


def put_jobs(dynamodb: Any) -> None:
    now = int(time.time() * 1000)
    dynamodb.create_table(**table_definition(TABLE))
    for job_id, queue, tenant, status, age_days in (
        ("OLD1", "email", TENANT, JobStatus.COMPLETED, 40),
        ("OLD2", "sms", TENANT, JobStatus.FAILED, 35),
        ("OLD3", "email", TENANT, JobStatus.CANCELLED, 31),
        ("LIVE", "email", TENANT, JobStatus.PENDING, 60),
        ("NEW1", "email", TENANT, JobStatus.COMPLETED, 2),
        ("OTHR", "email", "tenant-b", JobStatus.COMPLETED, 90),
    ):
        created = now - age_days * DAY_MS
        record = JobRecord(
            job_id=job_id, queue=queue, tenant=tenant, status=status, attempts=3,
            attempts_made=0, created_at=created,
        )  # fmt: skip
        dynamodb.put_item(TableName=TABLE, Item=to_item(record))


def remaining(dynamodb: Any) -> set[str]:
    return {item["jobId"]["S"] for item in dynamodb.scan(TableName=TABLE)["Items"]}


async def test_cleanup_deletes_only_the_tenants_old_finished_jobs() -> None:
    dynamodb = client("dynamodb")
    put_jobs(dynamodb)
    job = job_context()
    result = await call("cleanupOldData", "jobs", 30, job=job)
    assert result["deleted"] == 3
    assert remaining(dynamodb) == {"LIVE", "NEW1", "OTHR"}
    # Every old record of the tenant is tried (the index has no status to select by);
    # the live one's delete fails its condition.
    assert job.seen == [25, 50, 75, 100]


class ThrottleOnce:
    """DynamoDB that throttles the first delete of one key."""

    def __init__(self, dynamodb: Any, job_id: str) -> None:
        self.dynamodb, self.job_id, self.done = dynamodb, job_id, False

    def delete_item(self, **request: Any) -> Any:
        if request["Key"]["pk"]["S"].endswith(self.job_id) and not self.done:
            self.done = True
            raise client_error("ProvisionedThroughputExceededException", "DeleteItem")
        return self.dynamodb.delete_item(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dynamodb, name)


async def test_a_partly_throttled_cleanup_retries_and_the_retry_finishes() -> None:
    dynamodb = client("dynamodb")
    put_jobs(dynamodb)
    flaky = ThrottleOnce(dynamodb, "OLD2")
    with pytest.raises(RuntimeError, match="deleted 2, 1 throttled"):
        await call("cleanupOldData", "jobs", 30, clients=lambda _: flaky)
    assert "OLD2" in remaining(dynamodb)
    result = await call("cleanupOldData", "jobs", 30, clients=lambda _: flaky)
    assert result["deleted"] == 1
    assert remaining(dynamodb) == {"LIVE", "NEW1", "OTHR"}


async def test_generate_report_counts_the_tenants_jobs() -> None:
    put_jobs(client("dynamodb"))
    report = await call("generateReport", "jobSummary", {})
    assert report["total"] == 5
    assert report["byQueue"] == {
        "email": {"completed": 2, "cancelled": 1, "pending": 1},
        "sms": {"failed": 1},
    }


async def test_through_the_engine_calculate_sum_completes_with_6(redis: Any, prefix: str) -> None:
    async def handler(data: gt.TaskPayload, job: Any) -> Any:
        return await gt.run(data, job, deps())

    queue = engine_queue(redis, prefix, gt.queue, handler)
    good = await queue.add(payload("calculateSum", [1, 2, 3]).model_dump(by_alias=True))
    unknown = await queue.add(payload("rmrf", "/").model_dump(by_alias=True))
    await drain(queue)
    done = await stored(queue, good.job_id)
    assert (done.state, done.result) == (JobState.COMPLETED, 6)
    assert await logged(queue, good.job_id) == [
        "calling calculateSum (test calculateSum)",
        "calculateSum returned int",
    ]
    failed = await stored(queue, unknown.job_id)
    assert failed.state is JobState.FAILED and failed.attempts_made == 1
    assert "unknown function 'rmrf'" in failed.error["message"]


def test_recording_context_is_a_job_context() -> None:
    assert isinstance(job_context(), RecordingContext)


async def test_a_result_that_is_not_json_fails_without_retry() -> None:
    registry = TaskRegistry()

    @registry.register("opaque")
    def opaque() -> object:
        return object()

    with pytest.raises(NonRetryableError, match="non-JSON"):
        await gt.run(payload("opaque"), job_context(), gt.TaskDeps(registry, client))


async def test_fail_then_succeed_fails_the_first_attempts_then_returns_the_attempt() -> None:
    for attempt in (1, 2):
        with pytest.raises(RuntimeError, match=f"attempt {attempt} of 2 to fail"):
            await call("failThenSucceed", 2, job=job_context(attempt=attempt))

    assert await call("failThenSucceed", 2, job=job_context(attempt=3)) == {
        "attempt": 3,
        "failedAttempts": 2,
    }


@pytest.mark.parametrize("failures", [-1, 21, "2", 1.5])
async def test_fail_then_succeed_refuses_a_bad_count(failures: Any) -> None:
    with pytest.raises(NonRetryableError, match="failures must be an integer"):
        await call("failThenSucceed", failures)


async def test_sleep_with_progress_reports_each_step() -> None:
    job = job_context()

    assert await call("sleepWithProgress", 40, 4, job=job) == {"sleptMs": 40, "steps": 4}

    assert job.seen == [25, 50, 75, 100]


@pytest.mark.parametrize(("ms", "steps"), [(-1, 1), (900_001, 1), (10, 0), (10, 101)])
async def test_sleep_with_progress_refuses_bad_parameters(ms: int, steps: int) -> None:
    with pytest.raises(NonRetryableError, match="must be an integer"):
        await call("sleepWithProgress", ms, steps)
