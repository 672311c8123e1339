"""What a drain costs Redis when there is little to do: a lone job's poller run makes two
claims, a linger shorter than Redis's tick never blocks in Redis, and a long job is not
polled for more work every 20 ms while it runs. One Redis."""

from __future__ import annotations

import asyncio

from corral.drain import Drainer
from corral.poller import Poller, PollerSettings
from redis.asyncio import Redis

from tests.conftest import noop, shared_client
from tests.engine.drain_helpers import CountingRedis, real_queue


async def test_a_lone_job_costs_its_poller_run_two_claims(single_redis: Redis, prefix: str) -> None:
    counting = shared_client(CountingRedis)
    try:
        queue = real_queue(counting, prefix, noop)
        await queue.add({"n": 1})
        counting.sent.clear()

        report = await Poller(queue, settings=PollerSettings(linger_ms=25)).run(lambda: 60_000)

        assert (report.completed, report.stop_reason) == (1, "empty")
        # Join; claim it; settle it and find nothing; the round's end (look and leave).
        assert counting.sent == {"EVALSHA": 4}
    finally:
        await counting.aclose()


async def test_without_a_look_of_its_own_after_the_linger_a_drainer_claims_once_more(
    single_redis: Redis, prefix: str
) -> None:
    queue = real_queue(single_redis, prefix, noop)
    for looks in (True, False):
        await queue.add({"n": 1})
        drainer = Drainer(queue, linger_ms=25, claim_after_linger=looks)
        stats = await drainer.run()
        assert stats.completed == 1
        assert stats.settle_calls == (3 if looks else 2)


async def test_a_linger_shorter_than_a_redis_tick_does_not_block_in_redis(
    single_redis: Redis, prefix: str
) -> None:
    counting = shared_client(CountingRedis)
    try:
        queue = real_queue(counting, prefix, noop)
        stats = await Drainer(queue, linger_ms=25).run()
        assert stats.claimed == 0
        assert counting.sent["BLPOP"] == 0
        stats = await Drainer(queue, linger_ms=150).run()
        assert counting.sent["BLPOP"] >= 1, "a longer one waits for a wake-up in Redis"
    finally:
        await counting.aclose()


async def test_a_long_job_is_not_polled_for_more_work_every_few_ms(
    single_redis: Redis, prefix: str
) -> None:
    async def slow(payload: object, job: object) -> None:
        await asyncio.sleep(0.8)

    queue = real_queue(single_redis, prefix, slow)
    await queue.add({"n": 1})
    drainer = Drainer(queue, linger_ms=0)

    async def late_job() -> None:
        await asyncio.sleep(0.3)
        await queue.add({"n": 2})

    stats, _ = await asyncio.gather(drainer.run(), late_job())

    assert stats.completed == 2, "a job that comes while the first runs is still claimed"
    # At a steady 20 ms the first job alone would have cost 40 claims.
    assert stats.settle_calls <= 16
