"""quota_rate.lua: a tenant's enqueue budget, a token bucket taken whole or not at all."""

from __future__ import annotations

from typing import Any

import pytest
from corral.errors import QuotaExceededError
from corral.keys import tenant_bucket
from corral.quotas import Quotas, admit_enqueue
from corral.scripts import run_script

NOW = 1_800_000_000_000


async def take(redis: Any, key: str, now: int, n: int, rate: int = 10, burst: int = 20) -> Any:
    return await run_script(redis, "quota_rate", [key], [now, rate, burst, n])


async def test_a_full_bucket_admits_a_burst_then_refuses_with_the_wait(
    redis: Any, prefix: str
) -> None:
    key = tenant_bucket(prefix, "acme")
    assert await take(redis, key, NOW, 15) == [1, 0]
    assert await take(redis, key, NOW, 5) == [1, 0]
    # Empty: one job needs 1/10 s; nothing is taken by a refusal.
    assert await take(redis, key, NOW, 1) == [0, 100]
    assert await take(redis, key, NOW, 4) == [0, 400]
    # Half a second refills five.
    assert await take(redis, key, NOW + 500, 5) == [1, 0]
    assert await take(redis, key, NOW + 500, 1) == [0, 100]
    # The bucket never holds more than the burst, and expires once it would be full.
    assert await take(redis, key, NOW + 60_000, 21) == [0, 100]
    assert 0 < await redis.pttl(key) <= 3_000


async def test_tenants_have_buckets_of_their_own(redis: Any, prefix: str) -> None:
    acme, zeta = tenant_bucket(prefix, "acme"), tenant_bucket(prefix, "zeta")
    assert await take(redis, acme, NOW, 20) == [1, 0]
    assert await take(redis, zeta, NOW, 20) == [1, 0]
    assert acme != zeta and "{t.acme}" in acme


async def test_a_clock_behind_refills_nothing(redis: Any, prefix: str) -> None:
    key = tenant_bucket(prefix, "acme")
    assert await take(redis, key, NOW, 20) == [1, 0]
    assert await take(redis, key, NOW - 5_000, 1) == [0, 100]


async def test_admit_raises_with_retry_after_and_allows_with_no_quota(
    redis: Any, prefix: str
) -> None:
    quotas = Quotas(enqueue_rate=2, enqueue_burst=4)
    await admit_enqueue(redis, quotas, "acme", 4, NOW, prefix)
    with pytest.raises(QuotaExceededError, match="2 jobs/s") as refused:
        await admit_enqueue(redis, quotas, "acme", 3, NOW, prefix)
    assert refused.value.retry_after_s == 2  # 1.5 s, rounded up
    with pytest.raises(QuotaExceededError, match="burst"):
        await admit_enqueue(redis, quotas, "zeta", 5, NOW, prefix)
    await admit_enqueue(redis, Quotas(enqueue_rate=0), "acme", 10_000, NOW, prefix)


def test_bucket_keys_refuse_what_could_leave_their_slot() -> None:
    for tenant in ("a}b", "a:b", "", "{x}"):
        with pytest.raises(ValueError):
            tenant_bucket("corral", tenant)
