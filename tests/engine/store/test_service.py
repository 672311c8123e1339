"""The job service: DynamoDB first, then Redis; duplicates, tenancy, cancel, retry, redrive."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from corral.definition import QueueDefinition, QueueRegistry
from corral.dlq import DeadLetter, DeadLetterQueue
from corral.errors import JobNotFoundError, JobStateError, UnknownQueueError
from corral.guards import ServiceUnavailableError
from corral.intake import InvalidPayloadError, JobIdTakenError, TenantMismatchError
from corral.job import Deduplication, DedupMode, JobOptions, JobState, JobStatus
from corral.records import OutcomeRecord
from corral.service import JobService
from corral.store import JobStore
from redis.asyncio import Redis

from tests.conftest import FakeClock, Payload, noop
from tests.engine.helpers import settle_one, state_of
from tests.support.awsmock import AwsStack, BrokenClient, start_aws

P, X, C, F, R = (
    JobStatus.PENDING,
    JobStatus.PROCESSING,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
)


class Wakes:
    def __init__(self) -> None:
        self.queues: list[str] = []

    async def wake(self, queue: str) -> None:
        self.queues.append(queue)


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


@pytest.fixture
def registry() -> QueueRegistry:
    return QueueRegistry([QueueDefinition(name="email", payload=Payload, handler=noop)])


@pytest.fixture
def wakes() -> Wakes:
    return Wakes()


@pytest.fixture
async def service(
    aws: AwsStack,
    single_redis: Redis,
    prefix: str,
    clock: FakeClock,
    registry: QueueRegistry,
    wakes: Wakes,
) -> AsyncIterator[JobService]:
    store = JobStore(aws.dynamodb, aws.table, clock=clock)
    dlq = DeadLetterQueue(aws.sqs, aws.dlq_url, wait_s=0)
    yield JobService.build(
        registry, single_redis, store, prefix=prefix, clock=clock, dlq=dlq, waker=wakes
    )
    store.close()


def records(service: JobService, tenant: str = "acme") -> list[tuple[str, JobStatus]]:
    page = service.store.list_jobs("email", tenant=tenant, limit=100)
    return [(r.job_id, r.status) for r in page.records]


async def test_enqueue_writes_the_record_then_redis(service: JobService, wakes: Wakes) -> None:
    accepted = await service.enqueue("email", {"n": 1}, None, "acme")
    assert (accepted.status, accepted.deduplicated) == (P, False)
    record = service.store.get("email", accepted.job_id)
    assert record is not None
    assert record.data == {"n": 1, "subAccountId": "acme"}, "the tenant is filled in"
    job = await service.queue("email").get_job(accepted.job_id)
    assert job is not None and (job.state, job.group) == (JobState.WAITING, "acme")
    assert wakes.queues == ["email"]


async def test_another_tenant_in_the_payload_is_refused(service: JobService) -> None:
    with pytest.raises(TenantMismatchError):
        await service.enqueue("email", {"subAccountId": "zeta"}, None, "acme")
    same = await service.enqueue("email", {"subAccountId": "acme"}, None, "acme")
    assert records(service) == [(same.job_id, P)]
    assert records(service, "zeta") == []


async def test_invalid_payloads_write_nothing(service: JobService) -> None:
    with pytest.raises(InvalidPayloadError) as caught:
        await service.enqueue_many("email", [({"n": 1}, None), ({"n": "many"}, None)], "acme")
    assert caught.value.errors[0]["loc"] == ("body", "jobs", 1, "data", "n")
    with pytest.raises(InvalidPayloadError) as caught:
        await service.enqueue("email", {"n": "many"}, None, "acme")
    assert caught.value.errors[0]["loc"] == ("body", "data", "n")
    assert records(service) == []
    assert (await service.queue("email").counts()).waiting == 0


async def test_unknown_queue(service: JobService) -> None:
    with pytest.raises(UnknownQueueError):
        await service.enqueue("nope", {}, None, "acme")
    with pytest.raises(UnknownQueueError):
        await service.get("nope", "j1", "acme")


def dedup(dedup_id: str, mode: DedupMode = DedupMode.SIMPLE) -> JobOptions:
    return JobOptions(deduplication=Deduplication(id=dedup_id, mode=mode))


async def test_a_duplicate_leaves_no_orphan_record(service: JobService, wakes: Wakes) -> None:
    first = await service.enqueue("email", {"n": 1}, dedup("d1"), "acme")
    again = await service.enqueue("email", {"n": 2}, dedup("d1"), "acme")
    assert (again.job_id, again.deduplicated, again.status) == (first.job_id, True, P)
    assert records(service) == [(first.job_id, P)]
    assert wakes.queues == ["email"], "a duplicate wakes nobody"
    other = await service.enqueue("email", {"n": 3}, dedup("d1"), "zeta")
    assert not other.deduplicated and other.job_id != first.job_id, "dedup ids are per tenant"


async def test_a_debounced_duplicate_updates_the_record(service: JobService) -> None:
    options = JobOptions(delay=1000, deduplication=Deduplication(id="d", mode=DedupMode.DEBOUNCE))
    first = await service.enqueue("email", {"n": 1}, options, "acme")
    again = await service.enqueue("email", {"n": 2}, options, "acme")
    assert again.job_id == first.job_id and again.deduplicated
    record = service.store.get("email", first.job_id)
    assert record is not None and record.data["n"] == 2
    assert len(records(service)) == 1


async def test_a_chosen_job_id_is_deduplicated_per_tenant(service: JobService) -> None:
    first = await service.enqueue("email", {"n": 1}, JobOptions(job_id="mine"), "acme")
    again = await service.enqueue("email", {"n": 2}, JobOptions(job_id="mine"), "acme")
    assert (first.job_id, again.job_id, again.deduplicated) == ("mine", "mine", True)
    with pytest.raises(JobIdTakenError):
        await service.enqueue("email", {"n": 2}, JobOptions(job_id="mine"), "zeta")
    assert service.store.get("email", "mine").data["n"] == 1  # type: ignore[union-attr]


async def test_a_batch_with_duplicates(service: JobService) -> None:
    jobs: list[tuple[Any, JobOptions | None]] = [
        ({"n": 1}, dedup("x")),
        ({"n": 2}, None),
        ({"n": 3}, dedup("x")),
    ]
    a, b, c = await service.enqueue_many("email", jobs, "acme")
    assert (a.deduplicated, b.deduplicated, c.deduplicated) == (False, False, True)
    assert c.job_id == a.job_id
    assert sorted(records(service)) == sorted([(a.job_id, P), (b.job_id, P)])


async def test_redis_down_answers_unavailable_and_leaves_no_record(
    aws: AwsStack, registry: QueueRegistry, prefix: str, clock: FakeClock
) -> None:
    dead = Redis(host="127.0.0.1", port=1, decode_responses=True)
    store = JobStore(aws.dynamodb, aws.table, clock=clock)
    service = JobService.build(registry, dead, store, prefix=prefix, clock=clock)
    try:
        with pytest.raises(ServiceUnavailableError, match="Redis is unreachable") as caught:
            await service.enqueue("email", {"n": 1}, None, "acme")
        assert caught.value.component == "redis"
        assert records(service) == []
    finally:
        store.close()
        await dead.aclose()


async def test_dynamodb_down_answers_unavailable_and_leaves_redis_alone(
    aws: AwsStack, registry: QueueRegistry, single_redis: Redis, prefix: str, clock: FakeClock
) -> None:
    store = JobStore(BrokenClient(aws.dynamodb, "put_item"), aws.table, clock=clock)  # type: ignore[arg-type]
    service = JobService.build(registry, single_redis, store, prefix=prefix, clock=clock)
    try:
        with pytest.raises(ServiceUnavailableError) as caught:
            await service.enqueue("email", {"n": 1}, None, "acme")
        assert caught.value.component == "dynamodb"
        assert (await service.queue("email").counts()).waiting == 0
    finally:
        store.close()


async def test_get_merges_the_live_state(service: JobService, clock: FakeClock) -> None:
    accepted = await service.enqueue("email", {"n": 1}, None, "acme")
    queue = service.queue("email")
    [job] = (await queue.claim("w1", 1)).jobs
    await queue.progress(job.id, job.token, {"done": 40})
    got = await service.get("email", job.id, "acme")
    assert (got.status, got.progress, got.attempts_made) == (X, {"done": 40}, 1)
    assert got.started_at == clock.now
    with pytest.raises(JobNotFoundError):
        await service.get("email", accepted.job_id, "zeta")


async def test_cancel(service: JobService) -> None:
    a = await service.enqueue("email", {"n": 1}, None, "acme")
    with pytest.raises(JobNotFoundError):
        await service.cancel("email", a.job_id, "zeta")
    await service.cancel("email", a.job_id, "acme")
    assert await state_of(service.queue("email"), a.job_id) is JobState.CANCELLED
    assert service.store.get("email", a.job_id).status is R  # type: ignore[union-attr]
    with pytest.raises(JobStateError):
        await service.cancel("email", a.job_id, "acme")


async def test_a_running_job_cannot_be_cancelled(service: JobService) -> None:
    a = await service.enqueue("email", {"n": 1}, None, "acme")
    await service.queue("email").claim("w1", 1)
    with pytest.raises(JobStateError, match="running"):
        await service.cancel("email", a.job_id, "acme")
    assert service.store.get("email", a.job_id).status is P  # type: ignore[union-attr]


async def test_cancel_after_redis_lost_the_job(service: JobService, single_redis: Redis) -> None:
    a = await service.enqueue("email", {"n": 1}, None, "acme")
    await single_redis.delete(service.queue("email").keys.job(a.job_id))
    await service.cancel("email", a.job_id, "acme")
    assert service.store.get("email", a.job_id).status is R  # type: ignore[union-attr]


async def fail_for_good(service: JobService, job_id: str, clock: FakeClock) -> None:
    queue = service.queue("email")
    [job] = (await queue.claim("w1", 1)).jobs
    assert job.id == job_id
    item = OutcomeRecord("email", job_id, "acme", F, job.attempt, clock.now, '"boom"')
    assert service.store.record_outcomes([item]) == []
    assert await settle_one(queue, job, "f", "boom") == 1


async def test_retry_a_failed_job(service: JobService, clock: FakeClock) -> None:
    a = await service.enqueue("email", {"n": 1}, None, "acme")
    with pytest.raises(JobStateError):
        await service.retry("email", a.job_id, "acme")
    await fail_for_good(service, a.job_id, clock)
    with pytest.raises(JobNotFoundError):
        await service.retry("email", a.job_id, "zeta")
    again = await service.retry("email", a.job_id, "acme")
    assert again.status is P
    record = service.store.get("email", a.job_id)
    assert record is not None and (record.status, record.attempts_made) == (P, 0)
    assert await state_of(service.queue("email"), a.job_id) is JobState.WAITING


async def test_retry_re_adds_a_job_redis_lost(
    service: JobService, single_redis: Redis, clock: FakeClock
) -> None:
    a = await service.enqueue("email", {"n": 7}, JobOptions(priority=2), "acme")
    await fail_for_good(service, a.job_id, clock)
    await single_redis.delete(service.queue("email").keys.job(a.job_id))
    await service.retry("email", a.job_id, "acme")
    job = await service.queue("email").get_job(a.job_id)
    assert job is not None and (job.state, job.data["n"], job.priority) == (JobState.WAITING, 7, 2)


async def test_redrive_makes_the_job_durable_then_deletes_the_letter(
    service: JobService, clock: FakeClock, wakes: Wakes
) -> None:
    a = await service.enqueue("email", {"n": 1}, None, "acme")
    await fail_for_good(service, a.job_id, clock)
    wakes.queues.clear()
    assert service.dlq is not None
    letter = DeadLetter("email", a.job_id, "acme", "boom", 3, clock.now, {"n": 1})
    lost = DeadLetter("email", "lost", "acme", "boom", 3, clock.now, {"n": 9}, {"priority": 1})
    service.dlq.send_many([letter, lost])
    assert (await service.stats("email")).dead_letter == 1
    report = await service.redrive("email")
    assert sorted(report.moved) == sorted([a.job_id, "lost"])
    for job_id in (a.job_id, "lost"):
        record = service.store.get("email", job_id)
        assert record is not None and (record.status, record.attempts_made) == (P, 0)
        assert await state_of(service.queue("email"), job_id) is JobState.WAITING
    assert service.dlq.approximate_count() == 0
    assert (await service.stats("email")).dead_letter == 0
    assert wakes.queues == ["email"]


async def test_stats_pause_and_clean(service: JobService) -> None:
    a = await service.enqueue("email", {"n": 1}, None, "acme")
    assert await service.pause("email", True)
    stats = await service.stats("email")
    assert (stats.waiting, stats.paused) == (1, True)
    assert await service.pause("email", False)
    assert await service.clean("email", (JobState.WAITING,), 0, 10) == [a.job_id]
    assert service.store.get("email", a.job_id).status is R  # type: ignore[union-attr]


async def test_health(service: JobService) -> None:
    assert await service.health() == {"redis": True, "dynamodb": True, "sqs": True}
