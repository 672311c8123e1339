"""The job table's indexes (moto): a keys-only tenant index, and the records behind it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from corral.job import JobStatus
from corral.records import BY_QUEUE_STATUS, BY_TENANT, Item, JobRecord, OutcomeRecord, pk
from corral.store import JobStore
from corral.store_index import fetch_items

from tests.conftest import FakeClock
from tests.support.awsmock import AwsStack, start_aws

P, C, F = JobStatus.PENDING, JobStatus.COMPLETED, JobStatus.FAILED


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


@pytest.fixture
def store(aws: AwsStack, clock: FakeClock) -> Iterator[JobStore]:
    built = JobStore(aws.dynamodb, aws.table, clock=clock)
    yield built
    built.close()


def create(store: JobStore, clock: FakeClock, job_id: str, tenant: str = "acme") -> None:
    clock.advance(1)
    record = JobRecord(
        job_id=job_id, queue="email", tenant=tenant, status=P, data={"n": job_id},
        attempts=2, attempts_made=0, created_at=clock.now,
    )  # fmt: skip
    assert store.create(record)


def finish(store: JobStore, clock: FakeClock, job_id: str, status: JobStatus) -> None:
    payload = '{"ok":true}' if status is C else '{"message":"no"}'
    item = OutcomeRecord("email", job_id, "acme", status, 1, clock.now, payload=payload)
    assert store.record_outcome(item)


def entries(aws: AwsStack, index: str, partition: tuple[str, str]) -> list[dict[str, Any]]:
    reply = aws.dynamodb.query(
        TableName=aws.table,
        IndexName=index,
        KeyConditionExpression="#p = :p",
        ExpressionAttributeNames={"#p": partition[0]},
        ExpressionAttributeValues={":p": {"S": partition[1]}},
    )
    items: list[dict[str, Any]] = reply["Items"]
    return items


def test_the_tenant_index_holds_keys_only(aws: AwsStack, store: JobStore, clock: FakeClock) -> None:
    create(store, clock, "j1")
    [entry] = entries(aws, BY_TENANT, ("tq", "email#acme"))
    assert set(entry) == {"pk", "tq", "ts"}
    [full] = entries(aws, BY_QUEUE_STATUS, ("qs", "email#pending"))
    assert {"data", "status", "tenant"} <= set(full)


def test_a_tenant_listing_shows_each_job_as_it_is_after_its_outcome(
    store: JobStore, clock: FakeClock
) -> None:
    for job_id in ("j1", "j2", "j3"):
        create(store, clock, job_id)
    create(store, clock, "z1", tenant="zeta")
    finish(store, clock, "j1", C)
    finish(store, clock, "j3", F)
    page = store.list_jobs("email", tenant="acme")
    got = {r.job_id: (r.status, r.result, r.error, r.data) for r in page.records}
    assert got == {
        "j3": (F, None, {"message": "no"}, {"n": "j3"}),
        "j2": (P, None, None, {"n": "j2"}),
        "j1": (C, {"ok": True}, None, {"n": "j1"}),
    }
    assert [r.job_id for r in page.records] == ["j3", "j2", "j1"]
    assert [r.job_id for r in store.list_jobs("email", tenant="acme", status=C).records] == ["j1"]
    assert [r.job_id for r in store.list_jobs("email", tenant="acme", status=P).records] == ["j2"]
    assert [r.job_id for r in store.list_jobs("email", status=C).records] == ["j1"]


def test_a_status_filtered_tenant_listing_pages_through_other_statuses(
    store: JobStore, clock: FakeClock
) -> None:
    for i in range(7):
        create(store, clock, f"j{i}")
        if i % 3:
            finish(store, clock, f"j{i}", C)
    pages, cursor = [], None
    while True:
        page = store.list_jobs("email", tenant="acme", status=P, limit=2, cursor=cursor)
        pages.append([r.job_id for r in page.records])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == [["j6", "j3"], ["j0"]]


def test_fetch_items_keeps_the_order_across_batches_and_skips_deleted(
    aws: AwsStack, store: JobStore, clock: FakeClock
) -> None:
    ids = [f"j{i:03d}" for i in range(150)]
    for job_id in ids:
        create(store, clock, job_id)
    assert store.delete_orphan("email", "j007")
    keys: list[Item] = [{"pk": {"S": pk("email", job_id)}} for job_id in reversed(ids)]
    items = fetch_items(aws.dynamodb, aws.table, keys)
    assert [item["jobId"]["S"] for item in items] == [j for j in reversed(ids) if j != "j007"]


class Unprocessing:
    """A DynamoDB client whose batch reads leave every key after the first unprocessed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gets = 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        [(table, request)] = RequestItems.items()
        first, *rest = request["Keys"]
        reply: dict[str, Any] = self.inner.batch_get_item(RequestItems={table: {"Keys": [first]}})
        reply["UnprocessedKeys"] = {table: {"Keys": rest}} if rest else {}
        return reply

    def get_item(self, **request: Any) -> Any:
        self.gets += 1
        return self.inner.get_item(**request)


def test_unprocessed_keys_are_read_one_by_one(
    aws: AwsStack, store: JobStore, clock: FakeClock
) -> None:
    for job_id in ("a", "b", "c"):
        create(store, clock, job_id)
    flaky = Unprocessing(aws.dynamodb)
    keys: list[Item] = [{"pk": {"S": pk("email", job_id)}} for job_id in ("c", "a", "b")]
    items = fetch_items(flaky, aws.table, keys)  # type: ignore[arg-type]
    assert [item["jobId"]["S"] for item in items] == ["c", "a", "b"]
    assert flaky.gets == 2
