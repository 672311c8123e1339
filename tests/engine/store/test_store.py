"""The DynamoDB job table (moto): records, conditional state changes, listings, S3 results."""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from corral.errors import JobNotFoundError, JobStateError
from corral.job import JobStatus
from corral.records import JobRecord, OutcomeRecord
from corral.results import HARD_LIMIT, ResultStore
from corral.store import JobStore, RecordRetention

from tests.conftest import FakeClock
from tests.support.awsmock import AwsStack, start_aws

P, X, C, F, R = (
    JobStatus.PENDING,
    JobStatus.PROCESSING,
    JobStatus.COMPLETED,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
)


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


@pytest.fixture
def store(aws: AwsStack, clock: FakeClock) -> Iterator[JobStore]:
    results = ResultStore(aws.s3, aws.bucket, inline_limit=1024)
    built = JobStore(aws.dynamodb, aws.table, results=results, clock=clock)
    yield built
    built.close()


def record(job_id: str, clock: FakeClock, **fields: Any) -> JobRecord:
    values: dict[str, Any] = {
        "queue": "email",
        "tenant": "acme",
        "status": P,
        "data": {"to": "a@example.com", "n": 1.5, "nested": [1, None, "x"]},
        "options": {"priority": 3},
        "attempts": 3,
        "attempts_made": 0,
        "created_at": clock.now,
    }
    values.update(fields)
    return JobRecord(job_id=job_id, **values)


def outcome(job_id: str, status: JobStatus, attempt: int, clock: FakeClock, **kw: Any) -> Any:
    return OutcomeRecord("email", job_id, "acme", status, attempt, clock.now, **kw)


def test_a_record_round_trips_with_exact_json_values(store: JobStore, clock: FakeClock) -> None:
    assert store.create(record("j1", clock))
    got = store.get("email", "j1")
    assert got is not None
    assert got.data == {"to": "a@example.com", "n": 1.5, "nested": [1, None, "x"]}
    assert (got.status, got.tenant, got.options, got.attempts) == (P, "acme", {"priority": 3}, 3)
    assert store.get("email", "missing") is None
    assert store.get("sms", "j1") is None


def test_create_refuses_a_live_id_but_reuses_an_expired_one(
    store: JobStore, clock: FakeClock
) -> None:
    assert store.create(record("j1", clock))
    assert not store.create(record("j1", clock, tenant="other"))
    expired = record("j2", clock, status=C, expires_at=clock.now // 1000 - 1)
    assert store.create(expired)
    assert store.get("email", "j2") is None, "an expired record is filtered on read"
    assert store.create(record("j2", clock))
    assert store.get("email", "j2") is not None


def test_outcomes_walk_a_job_through_its_life(store: JobStore, clock: FakeClock) -> None:
    store.create(record("j1", clock))
    assert store.record_outcomes([outcome("j1", X, 1, clock)]) == []
    assert store.get("email", "j1").status is X  # type: ignore[union-attr]
    clock.advance(10)
    store.record_outcomes([outcome("j1", P, 1, clock, payload='{"message":"boom"}')])
    got = store.get("email", "j1")
    assert got is not None
    assert (got.status, got.attempts_made, got.error) == (P, 1, {"message": "boom"})
    clock.advance(10)
    store.record_outcomes([outcome("j1", X, 2, clock)])
    store.record_outcomes([outcome("j1", C, 2, clock, payload='{"sent":true}')])
    got = store.get("email", "j1")
    assert got is not None
    assert (got.status, got.attempts_made, got.result) == (C, 2, {"sent": True})
    assert got.completed_at == clock.now
    assert got.expires_at == clock.now // 1000 + RecordRetention().completed_s


def test_a_stale_writer_cannot_overwrite_a_newer_state(store: JobStore, clock: FakeClock) -> None:
    store.create(record("j1", clock))
    store.record_outcomes([outcome("j1", X, 2, clock)])
    # A poller that lost attempt 1's lease reports late: neither its retry nor its start lands.
    assert store.record_outcomes([outcome("j1", P, 1, clock, payload='"late"')]) == []
    assert not store.record_outcome(outcome("j1", X, 1, clock))
    store.record_outcomes([outcome("j1", C, 2, clock, payload="1")])
    assert not store.record_outcome(outcome("j1", F, 2, clock, payload='"late"'))
    assert not store.record_outcome(outcome("j1", X, 3, clock))
    got = store.get("email", "j1")
    assert got is not None
    assert (got.status, got.result, got.error) == (C, 1, None)


def test_a_final_outcome_for_a_missing_record_is_kept(store: JobStore, clock: FakeClock) -> None:
    assert store.record_outcome(outcome("ghost", F, 3, clock, payload='"gave up"'))
    got = store.get("email", "ghost")
    assert got is not None
    assert (got.status, got.tenant, got.error, got.attempts_made) == (F, "acme", "gave up", 3)
    assert not store.record_outcome(outcome("ghost2", P, 1, clock))
    assert store.get("email", "ghost2") is None


class FailingClient:
    """Delegates to a real client but throttles writes of chosen jobs."""

    def __init__(self, inner: Any, failing: set[str]) -> None:
        self.inner = inner
        self.failing = failing

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _check(self, key: str) -> None:
        if key.split("#", 1)[1] in self.failing:
            error = {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}
            raise ClientError(error, "UpdateItem")  # type: ignore[arg-type]

    def update_item(self, **kwargs: Any) -> Any:
        self._check(kwargs["Key"]["pk"]["S"])
        return self.inner.update_item(**kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        self._check(kwargs["Item"]["pk"]["S"])
        return self.inner.put_item(**kwargs)


def test_record_outcomes_returns_only_the_ids_worth_retrying(
    aws: AwsStack, store: JobStore, clock: FakeClock
) -> None:
    for job_id in ("a", "b", "c"):
        store.create(record(job_id, clock))
    store.record_outcomes([outcome("c", C, 1, clock, payload="1")])
    flaky = JobStore(FailingClient(aws.dynamodb, {"b"}), aws.table, clock=clock)  # type: ignore[arg-type]
    try:
        items = [outcome(j, C, 1, clock, payload="2") for j in ("a", "b", "c")]
        assert flaky.record_outcomes(items) == ["b"], "c is stale, not failed"
    finally:
        flaky.close()
    assert [store.get("email", j).status for j in "abc"] == [C, P, C]  # type: ignore[union-attr]


def test_create_many_is_all_or_nothing(aws: AwsStack, store: JobStore, clock: FakeClock) -> None:
    flaky = JobStore(FailingClient(aws.dynamodb, {"b"}), aws.table, clock=clock)  # type: ignore[arg-type]
    try:
        with pytest.raises(ClientError):
            flaky.create_many([record(j, clock) for j in ("a", "b", "c")])
    finally:
        flaky.close()
    assert [store.get("email", j) for j in "abc"] == [None, None, None]
    assert store.create_many([record("a", clock), record("b", clock)]) == [True, True]
    assert store.create_many([record("a", clock), record("c", clock)]) == [False, True]


REQUEST: contextvars.ContextVar[str] = contextvars.ContextVar("request", default="none")


def test_parallel_writes_run_in_the_caller_s_context(aws: AwsStack, clock: FakeClock) -> None:
    seen: list[str] = []

    def note(**_: Any) -> None:
        seen.append(REQUEST.get())

    aws.dynamodb.meta.events.register("before-call.dynamodb.PutItem", note)
    store = JobStore(aws.dynamodb, aws.table, clock=clock)
    token = REQUEST.set("r-1")
    try:
        assert store.create_many([record(j, clock) for j in ("a", "b", "c")]) == [True] * 3
    finally:
        REQUEST.reset(token)
        store.close()
        aws.dynamodb.meta.events.unregister("before-call.dynamodb.PutItem", note)
    assert seen == ["r-1"] * 3


def test_large_results_go_to_s3(aws: AwsStack, store: JobStore, clock: FakeClock) -> None:
    store.create(record("big", clock))
    value = {"rows": ["x" * 100] * 50}
    store.record_outcomes([outcome("big", C, 1, clock, payload=json.dumps(value))])
    raw = aws.dynamodb.get_item(TableName=aws.table, Key={"pk": {"S": "email#big"}})["Item"]
    assert "result" not in raw
    assert raw["resultRef"]["S"] == f"s3://{aws.bucket}/results/email/big.json"
    assert store.get("email", "big").result == value  # type: ignore[union-attr]
    listed = store.list_jobs("email", status=C).records[0]
    assert listed.result is None and listed.result_ref, "listings do not fetch from S3"


def test_without_a_bucket_huge_results_are_cut_short(store: JobStore) -> None:
    small = ResultStore(inline_limit=10)
    assert small.offload("q", "j", '"a little past ten"') == ('"a little past ten"', None)
    huge = json.dumps("x" * HARD_LIMIT)
    inline, ref = small.offload("q", "j", huge)
    assert ref is None and json.loads(inline or "") == {"truncated": True, "bytes": len(huge)}


def test_cancel_only_from_a_live_state(store: JobStore, clock: FakeClock) -> None:
    store.create(record("j1", clock))
    store.cancel("email", "j1")
    got = store.get("email", "j1")
    assert got is not None and got.status is R and got.expires_at is not None
    with pytest.raises(JobStateError, match="cancelled"):
        store.cancel("email", "j1")
    with pytest.raises(JobNotFoundError):
        store.cancel("email", "missing")


def test_reopen_resets_the_attempt_budget(store: JobStore, clock: FakeClock) -> None:
    store.create(record("j1", clock))
    store.record_outcomes([outcome("j1", F, 3, clock, payload='"no"')])
    reopened = store.reopen("email", "j1")
    assert (reopened.status, reopened.attempts_made, reopened.expires_at) == (P, 0, None)
    with pytest.raises(JobStateError, match="pending"):
        store.reopen("email", "j1")
    with pytest.raises(JobNotFoundError):
        store.reopen("email", "missing")


def test_orphans_are_deleted_only_if_they_never_started(store: JobStore, clock: FakeClock) -> None:
    store.create(record("a", clock))
    store.create(record("b", clock))
    store.record_outcomes([outcome("b", X, 1, clock)])
    assert store.delete_orphans("email", ["a", "b"]) == [True, False]
    assert store.get("email", "a") is None and store.get("email", "b") is not None


def test_update_pending_replaces_data_until_the_job_starts(
    store: JobStore, clock: FakeClock
) -> None:
    store.create(record("a", clock))
    assert store.update_pending("email", "a", {"n": 2}, {"delay": 5})
    assert store.get("email", "a").data == {"n": 2}  # type: ignore[union-attr]
    store.record_outcomes([outcome("a", X, 1, clock)])
    assert not store.update_pending("email", "a", {"n": 3}, {})


def fill(store: JobStore, clock: FakeClock) -> dict[str, JobStatus]:
    """Ten jobs, one ms apart, alternating tenants and statuses; one expired."""
    statuses = [P, X, C, F, P, C, P, X, C, P]
    made = {}
    for i, status in enumerate(statuses):
        clock.advance(1)
        job_id = f"j{i}"
        tenant = "acme" if i % 2 == 0 else "zeta"
        store.create(record(job_id, clock, status=status, tenant=tenant))
        made[job_id] = status
    store.create(record("old", clock, status=P, expires_at=clock.now // 1000 - 1))
    return made


def walk(store: JobStore, limit: int, **kw: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = store.list_jobs("email", limit=limit, cursor=cursor, **kw)
        pages.append([r.job_id for r in page.records])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_listing_by_status_newest_first_with_cursor(store: JobStore, clock: FakeClock) -> None:
    fill(store, clock)
    assert walk(store, 2, status=P) == [["j9", "j6"], ["j4", "j0"], []]
    assert walk(store, 3, status=C) == [["j8", "j5", "j2"], []]


def test_listing_a_tenant_with_and_without_status(store: JobStore, clock: FakeClock) -> None:
    fill(store, clock)
    assert walk(store, 3, tenant="acme") == [["j8", "j6", "j4"], ["j2", "j0"]]
    assert walk(store, 2, tenant="acme", status=P) == [["j6", "j4"], ["j0"]]
    assert walk(store, 5, tenant="nobody") == [[]]


def test_listing_every_status_merges_them(store: JobStore, clock: FakeClock) -> None:
    fill(store, clock)
    pages = walk(store, 4)
    assert pages[:3] == [["j9", "j8", "j7", "j6"], ["j5", "j4", "j3", "j2"], ["j1", "j0"]]


def test_live_jobs_and_counts(store: JobStore, clock: FakeClock) -> None:
    made = fill(store, clock)
    live = sorted(r.job_id for r in store.live_jobs("email", page_size=2))
    assert live == sorted(j for j, s in made.items() if s in (P, X))
    assert store.count("email", C) == 3
    assert store.count("email", F) == 1
    assert store.count("sms", P) == 0
