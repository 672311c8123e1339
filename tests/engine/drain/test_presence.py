"""Poller presence: the wake-up flag is held while any poller runs and cleared by the
last one out; pollers being started count for a while. One Redis and a cluster."""

from __future__ import annotations

from typing import Any

from corral.keys import QueueKeys
from corral.poller import Presence

from tests.conftest import FakeClock


def presence(redis: Any, prefix: str, clock: FakeClock, worker: str) -> Presence:
    return Presence(redis, QueueKeys("jobs", prefix), worker, ttl_ms=15_000, clock=clock)


async def test_the_last_poller_out_clears_the_flag(
    redis: Any, prefix: str, clock: FakeClock
) -> None:
    a, b = presence(redis, prefix, clock, "a"), presence(redis, prefix, clock, "b")
    await a.join()
    await b.join()
    assert await a.count() == 2

    assert await a.leave() is False
    assert await redis.exists(a.flag) == 1
    assert await b.leave() is True
    assert await redis.exists(a.flag) == 0


async def test_a_crashed_poller_stops_counting_when_its_registration_lapses(
    redis: Any, prefix: str, clock: FakeClock
) -> None:
    crashed, alive = presence(redis, prefix, clock, "c"), presence(redis, prefix, clock, "d")
    await crashed.join()
    await alive.join()
    clock.advance(10_000)
    await alive.refresh()
    clock.advance(6_000)

    assert await alive.count() == 1
    assert await alive.leave() is True


async def test_pollers_being_started_count_until_their_grace_ends(
    redis: Any, prefix: str, clock: FakeClock
) -> None:
    p = presence(redis, prefix, clock, "p")
    await p.join()
    await p.reserve(3, grace_ms=10_000)
    assert await p.count() == 4
    clock.advance(10_001)
    await p.refresh()
    assert await p.count() == 1


async def test_one_poller_at_a_time_decides_on_fan_out(
    redis: Any, prefix: str, clock: FakeClock
) -> None:
    a, b = presence(redis, prefix, clock, "a"), presence(redis, prefix, clock, "b")

    assert await a.take_fanout_turn(5_000) is True
    assert await b.take_fanout_turn(5_000) is False
