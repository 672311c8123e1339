"""Poller presence: the wake-up flag is held while any poller runs and cleared by the
last one out; pollers being started count for a while. One Redis and a cluster."""

from __future__ import annotations

from typing import Any

from corral.definition import QueueDefinition
from corral.job import JobOptions
from corral.keys import QueueKeys
from corral.poller import Presence
from corral.queue import Queue

from tests.conftest import FakeClock, Payload, noop


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


async def test_joining_says_whether_redis_lost_the_queue_and_whether_a_lease_ran_out(
    redis: Any, prefix: str, clock: FakeClock
) -> None:
    keys = QueueKeys("jobs", prefix)
    p = presence(redis, prefix, clock, "p")
    first = await p.join()
    assert (first.marker_lost, first.lease_lapsed) == (True, False)
    assert (await p.join()).marker_lost is False

    await redis.zadd(keys.named("active"), {"job-1": clock() + 1})
    assert (await p.join()).lease_lapsed is False
    clock.advance(2)
    assert (await p.join()).lease_lapsed is True


async def joined_with_a_job(
    redis: Any, prefix: str, clock: FakeClock, options: JobOptions | None = None
) -> tuple[Queue, Presence]:
    """A registered poller, then a job enqueued (the flag was set: nobody was woken)."""
    definition = QueueDefinition(name="jobs", payload=Payload, handler=noop)
    queue = Queue(redis, definition, prefix=prefix, clock=clock)
    p = presence(redis, prefix, clock, "p")
    await p.join()
    await queue.add({"n": 1}, options)
    return queue, p


async def test_a_round_ends_by_leaving_when_nothing_waits(
    redis: Any, prefix: str, clock: FakeClock
) -> None:
    p = presence(redis, prefix, clock, "p")
    await p.join()

    end = await p.end_round(stay_for_due_ms=1000)

    assert (end.verdict, end.waiting, end.due_ms) == ("empty", 0, -1)
    assert await redis.exists(p.flag) == 0 and await p.count() == 0


async def test_the_last_poller_stays_for_a_job_that_came_while_it_lingered(
    redis: Any, prefix: str, clock: FakeClock
) -> None:
    _, p = await joined_with_a_job(redis, prefix, clock)

    end = await p.end_round(stay_for_due_ms=1000)

    assert (end.verdict, end.waiting) == ("stay", 1)
    assert await redis.exists(p.flag) == 1 and await p.count() == 1


async def test_a_poller_leaves_waiting_jobs_to_the_others_still_running(
    redis: Any, prefix: str, clock: FakeClock
) -> None:
    _, a = await joined_with_a_job(redis, prefix, clock)
    await presence(redis, prefix, clock, "b").join()

    end = await a.end_round(stay_for_due_ms=1000)

    assert (end.verdict, end.waiting) == ("others", 1)
    assert await redis.exists(a.flag) == 1 and await a.count() == 1


async def test_a_poller_stays_for_a_delayed_job_due_soon_and_not_for_one_due_later(
    redis: Any, prefix: str, clock: FakeClock
) -> None:
    _, p = await joined_with_a_job(redis, prefix, clock, JobOptions(delay=500))

    soon = await p.end_round(stay_for_due_ms=1000)
    assert (soon.verdict, soon.waiting, soon.due_ms) == ("stay", 0, 500)
    later = await p.end_round(stay_for_due_ms=100)
    assert (later.verdict, later.due_ms) == ("empty", 500)
    assert await redis.exists(p.flag) == 0


async def test_a_paused_queue_is_left_even_with_jobs_waiting(
    redis: Any, prefix: str, clock: FakeClock
) -> None:
    queue, p = await joined_with_a_job(redis, prefix, clock)
    await queue.pause()

    end = await p.end_round(stay_for_due_ms=1000)

    assert (end.verdict, end.waiting) == ("paused", 1)
    assert await redis.exists(p.flag) == 0


async def test_leaving_at_the_end_of_a_run_leaves_whatever_waits(
    redis: Any, prefix: str, clock: FakeClock
) -> None:
    _, p = await joined_with_a_job(redis, prefix, clock)

    assert await p.leave() is True
    assert await redis.exists(p.flag) == 0 and await p.count() == 0
