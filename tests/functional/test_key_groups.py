"""Key groups (options.group): per-key concurrency and rate, enforced by the claim script
and released by every path that ends an active job."""

from __future__ import annotations

from corral.job import Deduplication, DedupMode, JobOptions, KeyGroupOption, KeyGroupRate
from corral.key_groups import StoredKeyGroups, in_force, mirror
from corral.queue import ClaimCode, LeaseSettings, NewJob, Queue

from tests.conftest import FakeClock, QueueFactory
from tests.functional.helpers import claim_ids, settle_one


def keyed(key: str, concurrency: int | None = None, rate: KeyGroupRate | None = None) -> JobOptions:
    return JobOptions(group=KeyGroupOption(id=key, concurrency=concurrency, rate_limit=rate))


async def add_keyed(queue: Queue, key: str, count: int, **limits: object) -> list[str]:
    return [(await queue.add({"n": i}, keyed(key, **limits))).job_id for i in range(count)]  # type: ignore[arg-type]


async def test_a_key_group_runs_at_most_its_concurrency_and_others_go_past_it(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    a = await add_keyed(queue, "a", 3, concurrency=1)
    b = await add_keyed(queue, "b", 2, concurrency=2)
    plain = (await queue.add({"n": 9})).job_id

    # a's second and third wait behind its first; b's and the plain job go past them.
    assert await claim_ids(queue, n=10) == [a[0], *b, plain]
    nothing = await queue.claim("w2", 10)
    assert (nothing.code, nothing.hint_ms, nothing.jobs) == (ClaimCode.EMPTY, -1, [])
    assert (await queue.counts()).waiting == 2


async def test_settling_frees_the_key_groups_slot(make_queue: QueueFactory) -> None:
    queue = make_queue()
    a = await add_keyed(queue, "a", 2, concurrency=1)
    (first,) = (await queue.claim("w1", 10)).jobs
    assert await claim_ids(queue) == []

    assert await settle_one(queue, first, "c", 1) == 1
    assert await claim_ids(queue) == [a[1]]


async def test_a_failed_or_cancelled_attempt_frees_the_slot_too(make_queue: QueueFactory) -> None:
    queue = make_queue()
    a = await add_keyed(queue, "a", 3, concurrency=1)
    (first,) = (await queue.claim("w1", 10)).jobs
    await settle_one(queue, first, "f", {"message": "no"})
    (second,) = (await queue.claim("w1", 10)).jobs
    assert second.id == a[1]
    await settle_one(queue, second, "x", {"message": "cancelled"})
    assert await claim_ids(queue) == [a[2]]


async def test_releasing_a_claimed_job_frees_its_slot(make_queue: QueueFactory) -> None:
    queue = make_queue()
    a = await add_keyed(queue, "a", 2, concurrency=1)
    (first,) = (await queue.claim("w1", 10)).jobs
    assert await queue.release([first]) == 1
    # Back at the front, and the slot it held is free again.
    assert await claim_ids(queue) == [a[0]]


async def test_a_stalled_job_frees_its_slot(make_queue: QueueFactory, clock: FakeClock) -> None:
    queue = make_queue(timeout_ms=1_000, lease=LeaseSettings(cap_ms=1_000, margin_ms=0))
    a = await add_keyed(queue, "a", 2, concurrency=1)
    (first,) = (await queue.claim("w1", 10)).jobs
    clock.advance(2_000)
    assert await queue.recover_stalled() == ([first.id], [])
    # Requeued behind a[1] (a new turn), and only one of the two starts.
    assert await claim_ids(queue) == [a[1]]


async def test_a_key_groups_rate_holds_and_the_claim_says_when_it_opens(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    a = await add_keyed(queue, "a", 3, rate=KeyGroupRate(max=2, duration_ms=1_000))
    assert await claim_ids(queue) == a[:2]
    clock.advance(400)
    limited = await queue.claim("w1", 10)
    assert (limited.code, limited.hint_ms, limited.jobs) == (ClaimCode.EMPTY, 600, [])
    clock.advance(600)
    assert await claim_ids(queue) == [a[2]]


async def test_tenants_still_take_turns_with_key_groups(make_queue: QueueFactory) -> None:
    queue = make_queue()
    big = [(await queue.add({"n": i}, keyed("k"), group="big")).job_id for i in range(3)]
    small = (await queue.add({"n": 0}, keyed("k"), group="small")).job_id

    assert await claim_ids(queue, n=2) == [big[0], small]


async def test_a_tenant_whose_jobs_are_all_held_does_not_stop_the_claim(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    held = await add_keyed(queue, "a", 3, concurrency=1)
    other = (await queue.add({"n": 0}, group="other")).job_id

    assert await claim_ids(queue, n=10) == [held[0], other]
    assert await claim_ids(queue, n=10) == []


async def test_limits_set_at_runtime_win_over_the_jobs_own(make_queue: QueueFactory) -> None:
    queue = make_queue()
    a = await add_keyed(queue, "a", 4, concurrency=3)
    await mirror(queue, StoredKeyGroups({"a": {"concurrency": 1}}, 1, []))
    assert await claim_ids(queue, n=10) == a[:1]

    # Raised at runtime: the next claim takes up to the new limit.
    await mirror(queue, StoredKeyGroups({"a": {"concurrency": 2}}, 2, []))
    assert await claim_ids(queue, n=10) == a[1:2]
    # Cleared: the jobs' own limit (3) applies again.
    await mirror(queue, StoredKeyGroups({"a": {}}, 3, []))
    assert await claim_ids(queue, n=10) == a[2:3]


async def test_a_runtime_rate_limits_a_key_group_whose_jobs_carry_none(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue()
    a = await add_keyed(queue, "a", 3)
    await mirror(queue, StoredKeyGroups({"a": {"rateMax": 1, "rateMs": 500}}, 1, []))
    assert await claim_ids(queue, n=10) == a[:1]
    assert (await queue.claim("w1", 10)).hint_ms == 500
    clock.advance(500)
    assert await claim_ids(queue, n=10) == a[1:2]


async def test_an_older_or_seeded_version_never_replaces_a_newer_one(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    assert await mirror(queue, StoredKeyGroups({"a": {"concurrency": 2}}, 2, []))
    assert not await mirror(queue, StoredKeyGroups({"a": {"concurrency": 9}}, 1, []))
    assert not await mirror(queue, StoredKeyGroups({"a": {"concurrency": 9}}, 5, []), seed=True)
    assert (await in_force(queue, "a"))["concurrency"] == 2


async def test_a_key_group_is_shared_by_tenants(make_queue: QueueFactory) -> None:
    queue = make_queue()
    one = (await queue.add({"n": 1}, keyed("a", 1), group="t1")).job_id
    await queue.add({"n": 2}, keyed("a", 1), group="t2")

    assert await claim_ids(queue, n=10) == [one]


async def test_a_debounced_job_takes_the_new_options_key_group(make_queue: QueueFactory) -> None:
    queue = make_queue()
    busy = await add_keyed(queue, "a", 1, concurrency=1)
    assert await claim_ids(queue) == busy

    def options(key: str) -> JobOptions:
        return JobOptions(
            group=KeyGroupOption(id=key, concurrency=1),
            deduplication=Deduplication(id="d", mode=DedupMode.DEBOUNCE),
        )

    first = await queue.add({"n": 1}, options("a"))
    assert await claim_ids(queue) == []
    # Debounced into key group b, which has room: it starts although a is full.
    second = await queue.add({"n": 2}, options("b"))
    assert second.debounced and second.job_id == first.job_id
    assert await claim_ids(queue) == [first.job_id]


async def test_a_claim_looks_100_jobs_deep_into_a_tenants_line(make_queue: QueueFactory) -> None:
    queue = make_queue()
    held = [NewJob({"n": i}, keyed("a", 1)) for i in range(101)]
    ids = [r.job_id for r in await queue.add_bulk([*held, NewJob({"n": 0})])]
    (first,) = (await queue.claim("w1", 10)).jobs
    assert first.id == ids[0]

    # a's next 100 fill the window: the plain job behind them is not reached.
    assert await claim_ids(queue, n=10) == []
    await settle_one(queue, first, "c", 1)
    # One of a's started: the plain job is within the first 100 now.
    assert await claim_ids(queue, n=10) == [ids[1], ids[101]]
