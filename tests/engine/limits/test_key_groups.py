"""Key groups (options.group): per-key concurrency and rate, enforced by the claim script
and released by every path that ends an active job."""

from __future__ import annotations

import pytest
from corral.enqueue_args import DEFAULT_GROUP
from corral.errors import WaitingQuotaError
from corral.job import Deduplication, DedupMode, JobOptions, JobState, KeyGroupOption, KeyGroupRate
from corral.key_groups import StoredKeyGroups, in_force, mirror
from corral.queue import ClaimCode, LeaseSettings, NewJob, Queue

from tests.conftest import FakeClock, QueueFactory
from tests.engine.helpers import claim_ids, raw, settle_one


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

    # The key groups and the jobs without one take turns; a's second and third wait
    # behind its first, and b's second goes past them.
    assert await claim_ids(queue, n=10) == [a[0], b[0], plain, b[1]]
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


async def test_key_groups_take_turns_so_a_small_one_is_not_starved(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    big = [
        r.job_id for r in await queue.add_bulk([NewJob({"n": i}, keyed("a")) for i in range(1000)])
    ]
    small = await add_keyed(queue, "b", 10)

    claimed: list[str] = []
    while len(claimed) < 20:
        claimed += await claim_ids(queue, n=4)
    # One job of each key group in turn: b's ten are all among the first twenty.
    assert claimed == [job for pair in zip(big, small, strict=False) for job in pair]
    # Then a, alone, takes whole batches.
    assert await claim_ids(queue, n=8) == big[10:18]


async def test_a_held_key_group_does_not_block_others_however_deep_its_line(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    deep = [NewJob({"n": i}, keyed("a", 1)) for i in range(2000)]
    held = [r.job_id for r in await queue.add_bulk(deep)]
    (first,) = (await queue.claim("w1", 1)).jobs
    others = [(await queue.add({"n": 0})).job_id, *await add_keyed(queue, "b", 2)]

    # The jobs behind a's 1,999 held ones start at once; a's lane waits out of turn.
    assert await claim_ids(queue, n=10) == others
    assert await raw(queue).smembers(queue.keys.key_group_parked("a")) == {first.group}
    later = (await queue.add({"n": 1})).job_id
    assert await claim_ids(queue, n=10) == [later]
    assert (await queue.counts()).waiting == 1999
    state = await in_force(queue, "a")
    assert (state["waiting"], state["active"], state["held"]) == (1999, 1, True)

    # a's job ends: its lane takes turns again, for one job (its limit).
    await settle_one(queue, first, "c", 1)
    assert await claim_ids(queue, n=10) == [held[1]]


async def test_key_group_lanes_are_counted_listed_cancelled_and_cleaned(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    a = await add_keyed(queue, "a", 2, concurrency=1)
    plain = (await queue.add({"n": 0})).job_id
    b = await add_keyed(queue, "b", 1)
    assert (await queue.counts()).waiting == 4
    total, jobs = await queue.list_jobs(JobState.WAITING)
    assert (total, [j.id for j in jobs]) == (4, [*a, plain, *b])

    await queue.cancel(b[0])
    assert (await queue.counts()).waiting == 3
    assert await raw(queue).smembers(queue.keys.key_group_lanes) == {f"{DEFAULT_GROUP}:a"}
    assert sorted(await queue.clean(JobState.WAITING)) == sorted([*a, plain])
    assert (await queue.counts()).waiting == 0
    keys = queue.keys
    left = [keys.key_group_lanes, keys.key_groups_waiting, keys.named("ring")]
    left.append(keys.lanes_turn(DEFAULT_GROUP))
    assert await raw(queue).exists(*left) == 0


async def test_a_tenants_waiting_quota_counts_its_key_group_jobs(make_queue: QueueFactory) -> None:
    queue = make_queue()
    await queue.add_bulk([NewJob({"n": i}, keyed("a")) for i in range(2)], max_waiting=3)
    await queue.add({"n": 2})
    with pytest.raises(WaitingQuotaError):
        await queue.add_bulk([NewJob({"n": 3}, keyed("b"))], max_waiting=3)


async def test_a_runtime_limit_hands_held_lanes_their_turn_back(make_queue: QueueFactory) -> None:
    queue = make_queue()
    one = (await queue.add({"n": 1}, keyed("a", 1), group="t1")).job_id
    two = (await queue.add({"n": 2}, keyed("a", 1), group="t2")).job_id
    assert await claim_ids(queue, n=10) == [one]
    assert await claim_ids(queue, n=10) == []  # t2's lane of a is parked

    await mirror(queue, StoredKeyGroups({"a": {"concurrency": 2}}, 1, []))
    assert await claim_ids(queue, n=10) == [two]


async def test_a_key_group_job_from_before_lanes_is_still_cancelled(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue()
    (job_id,) = await add_keyed(queue, "a", 1)
    # As Redis held it before key groups had lanes: among the tenant's own jobs.
    r, keys = raw(queue), queue.keys
    await r.delete(keys.lane(DEFAULT_GROUP, "a"), keys.lanes_turn(DEFAULT_GROUP))
    await r.delete(keys.key_group_lanes, keys.key_groups_waiting)
    await r.zadd(keys.group(DEFAULT_GROUP), {job_id: 0})

    await queue.cancel(job_id)
    assert await r.exists(keys.group(DEFAULT_GROUP)) == 0
    assert await claim_ids(queue) == []
