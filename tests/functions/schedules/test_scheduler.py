"""The scheduler against moto DynamoDB and the shared Redis, with a controlled clock."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pytest
from corral.queue import EnqueueResult, NewJob
from corral.schedules import (
    CatchUp,
    Schedule,
    ScheduleCreate,
    ScheduleService,
    ScheduleStore,
    TenantMismatchError,
)
from corral.schedules.occurrences import job_id

from tests.functions.schedules.conftest import QUEUE, Clock, Jobs, ms

MINUTE = 60_000
TENANT = "acme"


def every(ms_: int, **fields: object) -> ScheduleCreate:
    return ScheduleCreate.model_validate(
        {"queue": QUEUE, "data": {"kind": "x"}, "every": ms_, **fields}
    )


async def test_a_new_schedule_runs_its_first_occurrence_on_time(
    service: ScheduleService, clock: Clock, jobs: Jobs
) -> None:
    clock.set(ms("2026-06-01T12:04:30"))
    s = await service.create(TENANT, ScheduleCreate(queue=QUEUE, cron="*/5 * * * *"))
    # Due at 12:05, before the next tick (12:05:30): enqueued now, not a minute late.
    assert list((await jobs.delayed()).values()) == [ms("2026-06-01T12:05")]
    assert s.next_run == ms("2026-06-01T12:10")
    assert s.data == {"subAccountId": TENANT}


async def test_every_10s_across_several_ticks_runs_each_occurrence_once(
    service: ScheduleService, clock: Clock, jobs: Jobs
) -> None:
    start = clock.now
    await service.create(TENANT, every(10_000, id="ten"))
    for _ in range(4):
        clock.advance(MINUTE)
        report = await service.tick()
        assert report.errors == 0
    # Ticks at +1..+4 min each look 75 s ahead: everything up to +5:15 is enqueued, once.
    assert await jobs.runs() == [start + i * 10_000 for i in range(32)]
    delayed = await jobs.delayed()
    assert all(delayed[i] == int(i.rsplit(".", 1)[1]) for i in delayed)  # each on its time


async def test_duplicated_and_overlapping_ticks_never_double_a_run(
    service: ScheduleService, clock: Clock, jobs: Jobs
) -> None:
    created = await service.create(TENANT, every(10_000, id="dup"))
    clock.advance(MINUTE)
    first = await service.tick()
    again = await service.tick()  # the same tick delivered twice
    assert first.enqueued == 6
    assert again.enqueued == 0
    # An overlapping tick that read the schedule before the first one moved it on.
    _, applied = await service.apply(created, clock.now)
    assert applied.enqueued == 0
    assert applied.duplicates > 0
    assert not applied.saved
    runs = await jobs.runs()
    assert Counter(runs).most_common(1)[0][1] == 1
    assert runs == [created.created_at + i * 10_000 for i in range(14)]


@pytest.mark.parametrize("policy", [CatchUp.ALL, CatchUp.LAST])
async def test_a_missed_tick_catches_up_by_policy(
    service: ScheduleService, clock: Clock, jobs: Jobs, policy: CatchUp
) -> None:
    start = clock.now
    await service.create(TENANT, every(MINUTE, id="missed", catch_up=policy))
    # Create enqueued +0 and +1 min. The ticks at +1 .. +4 min never ran.
    clock.set(start + 5 * MINUTE + 20_000)
    report = await service.tick()
    created = service.get(TENANT, "missed")
    runs = await jobs.runs()
    missed = [start + m * MINUTE for m in (2, 3, 4, 5)]
    upcoming = [start + 6 * MINUTE]
    expected = missed if policy is CatchUp.ALL else missed[-1:]
    assert runs == [start, start + MINUTE, *expected, *upcoming]
    assert report.skipped == (0 if policy is CatchUp.ALL else 3)
    assert created.count == len(runs)
    # Missed occurrences run now; the upcoming one waits for its time.
    for when in expected:
        assert await jobs.state(job_id(created, when)) == "waiting"
    assert await jobs.state(job_id(created, upcoming[0])) == "delayed"


async def test_cron_with_tz_across_spring_forward(
    service: ScheduleService, clock: Clock, jobs: Jobs
) -> None:
    clock.set(ms("2026-03-29T00:58:50"))  # 01:58:50 in Paris; at 02:00 clocks jump to 03:00
    body = ScheduleCreate(queue=QUEUE, cron="30 2 * * *", tz="Europe/Paris", id="dst")
    await service.create(TENANT, body)
    for _ in range(3):
        clock.advance(MINUTE)
        await service.tick()
    clock.set(ms("2026-03-30T00:29:10"))  # the next day, 02:29:10 CEST
    await service.tick()
    runs = sorted((await jobs.delayed()).values())
    # 02:30 did not exist on the 29th: it ran at 03:00 CEST (01:00 UTC); then 02:30 CEST.
    assert runs == [ms("2026-03-29T01:00"), ms("2026-03-30T00:30")]


async def test_limit_and_end_date_stop_a_schedule(
    service: ScheduleService, clock: Clock, jobs: Jobs
) -> None:
    start = clock.now
    limited = await service.create(TENANT, every(20_000, id="limited", limit=3))
    ended = await service.create(TENANT, every(20_000, id="ended", end_date=start + 150_000))
    for _ in range(4):
        clock.advance(MINUTE)
        await service.tick()
    limited, ended = service.get(TENANT, "limited"), service.get(TENANT, "ended")
    assert (limited.count, limited.next_run) == (3, None)
    assert (ended.count, ended.next_run) == (8, None)  # +0 s .. +140 s
    ids = await jobs.all_ids()
    assert {job_id(limited, start + i * 20_000) for i in range(3)} <= ids
    assert {job_id(ended, start + i * 20_000) for i in range(8)} <= ids
    assert len(ids) == 3 + 8


async def test_pause_cancels_waiting_runs_and_resume_starts_from_now(
    service: ScheduleService, clock: Clock, jobs: Jobs
) -> None:
    start = clock.now
    created = await service.create(TENANT, every(10_000, id="p"))
    clock.advance(30_000)
    paused = await service.pause(TENANT, "p")
    assert paused.paused
    # The runs still in the future were cancelled; the past ones were left alone.
    for when in range(start, start + 80_000, 10_000):
        expected = "delayed" if when <= clock.now else "cancelled"
        if when == start:
            expected = "waiting"  # due at creation: no delay
        assert await jobs.state(job_id(created, when)) == expected
    clock.advance(5 * MINUTE)
    assert (await service.tick()).enqueued == 0
    resumed = await service.resume(TENANT, "p")
    assert not resumed.paused
    assert resumed.generation == 1
    # Nothing from the pause is run; new runs start at the first occurrence from now.
    new = [t for t in await jobs.runs() if await jobs.state(job_id(resumed, t)) is not None]
    assert new == [start + 330_000 + i * 10_000 for i in range(8)]
    assert resumed.count == 4 + 8  # four before the pause (kept), eight enqueued on resume


async def test_delete_cancels_waiting_runs(
    service: ScheduleService, clock: Clock, jobs: Jobs
) -> None:
    created = await service.create(TENANT, every(10_000, id="gone"))
    await service.delete(TENANT, "gone")
    assert await jobs.state(job_id(created, created.created_at + 10_000)) == "cancelled"
    clock.advance(MINUTE)
    assert (await service.tick()).schedules == 0


async def test_data_cannot_name_another_tenant(service: ScheduleService) -> None:
    body = every(10_000, data={"subAccountId": "other"})
    with pytest.raises(TenantMismatchError):
        await service.create(TENANT, body)


class DownSink:
    """A sink whose Redis is unreachable."""

    async def enqueue(self, queue: str, jobs: Sequence[NewJob]) -> list[EnqueueResult]:
        raise ConnectionError("redis is down")

    async def cancel(self, queue: str, tenant: str, job_ids: Sequence[str]) -> int:
        raise ConnectionError("redis is down")


async def test_a_schedule_created_while_redis_is_down_runs_from_the_next_tick(
    service: ScheduleService, clock: Clock, jobs: Jobs
) -> None:
    start = clock.now
    down = ScheduleService(service.store, DownSink(), service.registry, clock=clock)
    created = await down.create(TENANT, every(MINUTE, id="later", catch_up=CatchUp.ALL))
    assert (created.count, created.next_run) == (0, start)
    clock.advance(MINUTE)
    await service.tick()
    # The first run is late, not lost.
    assert await jobs.runs() == [start, start + MINUTE, start + 2 * MINUTE]
    assert await jobs.state(job_id(created, start)) == "waiting"


class ConflictOnce(ScheduleStore):
    """A store whose next write loses a race (another writer got there first)."""

    conflicts = 1

    def save(self, schedule: Schedule, expected_version: int) -> bool:
        if self.conflicts:
            self.conflicts -= 1
            return False
        return super().save(schedule, expected_version)


async def test_pause_and_resume_retry_after_a_concurrent_write(
    service: ScheduleService, clock: Clock
) -> None:
    await service.create(TENANT, every(10_000, id="race"))
    store = ConflictOnce(service.store.table)
    racy = ScheduleService(store, service.sink, service.registry, clock=clock)
    assert (await racy.pause(TENANT, "race")).paused
    store.conflicts = 1
    assert not (await racy.resume(TENANT, "race")).paused


async def test_the_tenant_may_be_given_by_field_name(service: ScheduleService) -> None:
    created = await service.create(TENANT, every(10_000, data={"sub_account_id": TENANT}))
    assert created.data == {"sub_account_id": TENANT}
