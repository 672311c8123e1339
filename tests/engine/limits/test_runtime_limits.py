"""Limits set at runtime (set_limits.lua, corral.limits): every claim obeys them, a group
parked under the old group limit is served at once under a higher one, a racing older
change cannot win, and Redis is seeded again from the job table after it lost them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from corral.definition import RateLimit
from corral.errors import JobStateError
from corral.limits import (
    EffectiveLimits,
    LimitsChange,
    LimitsStore,
    StoredLimits,
    change_limits,
    mirror,
    runtime_overrides,
)
from corral.queue import NewJob

from tests.conftest import FakeClock, QueueFactory
from tests.support.awsmock import AwsStack, start_aws


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


def store_of(aws: AwsStack) -> LimitsStore:
    return LimitsStore(aws.dynamodb, aws.table)


async def test_a_runtime_concurrency_caps_the_next_claim(make_queue: QueueFactory) -> None:
    queue = make_queue(concurrency=5)
    await queue.add_bulk([NewJob({"n": i}) for i in range(10)])
    assert await mirror(queue, StoredLimits({"concurrency": 2}, 1, []))
    assert len((await queue.claim("w", 10)).jobs) == 2
    # Cleared: back to the deployed 5.
    assert await mirror(queue, StoredLimits({}, 2, []))
    assert len((await queue.claim("w", 10)).jobs) == 3


async def test_a_runtime_rate_limit_and_no_limit(
    make_queue: QueueFactory, clock: FakeClock
) -> None:
    queue = make_queue(rate_limit=RateLimit(max=1, duration_ms=1000))
    await queue.add_bulk([NewJob({"n": i}) for i in range(10)])
    await mirror(queue, StoredLimits({"rateMax": 3, "rateMs": 60_000}, 1, []))
    assert len((await queue.claim("w", 10)).jobs) == 3
    clock.advance(2_000)
    assert (await queue.claim("w", 10)).jobs == []
    await mirror(queue, StoredLimits({"rateMax": 0, "rateMs": 0}, 2, []))
    assert len((await queue.claim("w", 10)).jobs) == 7


async def test_a_higher_group_limit_serves_a_parked_group_at_once(
    make_queue: QueueFactory,
) -> None:
    queue = make_queue(group_concurrency=1)
    await queue.add_bulk([NewJob({"n": i}, group="acme") for i in range(4)])
    assert len((await queue.claim("w", 4)).jobs) == 1
    assert (await queue.claim("w", 4)).jobs == []  # acme is parked at its limit
    await mirror(queue, StoredLimits({"groupConcurrency": 3}, 1, []))
    assert len((await queue.claim("w", 4)).jobs) == 2
    # Enqueues see the runtime limit too: a new job of a full group is parked, not ringed.
    await queue.add({"n": 9}, group="acme")
    assert await queue.redis.sismember(queue.keys.base + "parked", "acme")


async def test_an_older_version_and_a_second_seed_are_ignored(make_queue: QueueFactory) -> None:
    queue = make_queue()
    assert await mirror(queue, StoredLimits({"concurrency": 4}, 2, []))
    assert not await mirror(queue, StoredLimits({"concurrency": 9}, 1, []))
    assert not await mirror(queue, StoredLimits({"concurrency": 9}, 3, []), seed=True)
    assert await queue.redis.hget(queue.keys.limits, "concurrency") == "4"


async def test_a_change_is_durable_audited_and_seeded_again_after_a_flush(
    make_queue: QueueFactory, aws: AwsStack, caplog: pytest.LogCaptureFixture
) -> None:
    queue = make_queue(concurrency=5, group_concurrency=2)
    store = store_of(aws)
    change = LimitsChange.model_validate({"concurrency": 1, "rateLimit": {"max": 50}})
    with caplog.at_level("INFO", logger="corral.limits"):
        limits = await change_limits(queue, store, change, "tenant ops", 1_000)
    assert limits == EffectiveLimits(1, 2, 50, 1000, ["concurrency", "rateMax", "rateMs"])
    (record,) = [r for r in caplog.records if r.name == "corral.limits"]
    assert (record.by, record.old, record.new) == (  # type: ignore[attr-defined]
        "tenant ops",
        {},
        {"concurrency": 1, "rateMax": 50, "rateMs": 1000},
    )

    # Back to the deployed concurrency; the rate limit stays.
    again = LimitsChange.model_validate({"concurrency": None})
    await change_limits(queue, store, again, "tenant ops", 2_000)
    stored = await asyncio.to_thread(store.get, queue.name)
    assert (stored.overrides, stored.version) == ({"rateMax": 50, "rateMs": 1000}, 2)
    assert [h["by"] for h in stored.history] == ["tenant ops", "tenant ops"]

    await queue.redis.delete(queue.keys.limits)  # Redis lost it
    assert await runtime_overrides(queue, store) == {"rateMax": 50, "rateMs": 1000}
    assert await queue.redis.hget(queue.keys.limits, "version") == "2"


async def test_a_change_that_raced_another_is_refused(
    make_queue: QueueFactory, aws: AwsStack
) -> None:
    queue = make_queue()
    store = store_of(aws)
    await change_limits(queue, store, LimitsChange(concurrency=3), "a", 1)
    with pytest.raises(JobStateError):
        store.put(queue.name, StoredLimits({"concurrency": 1}, 1, []), 0)


def test_limits_are_validated() -> None:
    for bad in ({}, {"concurrency": -1}, {"rateLimit": {"max": 1, "durationMs": 0}}):
        with pytest.raises(ValueError):
            LimitsChange.model_validate(bad)
