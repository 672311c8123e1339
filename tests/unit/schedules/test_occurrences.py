"""Occurrence times and tick plans: pure logic, no Redis, no AWS."""

from __future__ import annotations

from itertools import islice, pairwise
from types import ModuleType
from typing import Any

import pytest
from corral.schedules import CatchUp, Declared, Schedule, ScheduleSpec, declared_in
from corral.schedules.occurrences import first_from, job_id, occurrences_from, plan
from pydantic import ValidationError

from tests.functions.schedules.conftest import ms

MINUTE = 60_000
HOUR = 60 * MINUTE


def schedule(now: int, **fields: Any) -> Schedule:
    spec = ScheduleSpec(queue="reports", **fields)
    return Schedule(
        **spec.model_dump(),
        id="s1",
        tenant="acme",
        next_run=first_from(spec, now, now),
        created_at=now,
    )


def times(spec: ScheduleSpec, start: int, n: int) -> list[int]:
    return list(islice(occurrences_from(spec, start, start), n))


def test_cron_in_a_zone_keeps_local_time_across_spring_forward() -> None:
    spec = ScheduleSpec(queue="reports", cron="0 9 * * *", tz="Europe/Paris")
    got = times(spec, ms("2026-03-28T00:00", "Europe/Paris"), 2)
    # 09:00 in Paris is 08:00 UTC before the change and 07:00 UTC after it.
    assert got == [ms("2026-03-28T08:00"), ms("2026-03-29T07:00")]


def test_cron_time_skipped_by_spring_forward_runs_at_the_jump() -> None:
    spec = ScheduleSpec(queue="reports", cron="30 2 * * *", tz="Europe/Paris")
    got = times(spec, ms("2026-03-28T12:00", "Europe/Paris"), 3)
    # 02:30 does not exist on 29 March (02:00 jumps to 03:00): it runs at 03:00 CEST.
    assert got == [ms("2026-03-29T01:00"), ms("2026-03-30T00:30"), ms("2026-03-31T00:30")]


def test_cron_time_in_the_repeated_hour_runs_once_at_fall_back() -> None:
    spec = ScheduleSpec(queue="reports", cron="30 1 * * *", tz="America/New_York")
    got = times(spec, ms("2026-10-31T12:00", "America/New_York"), 2)
    # 01:30 happens twice on 1 November; the job runs at the first (EDT) one only.
    assert got == [ms("2026-11-01T05:30"), ms("2026-11-02T06:30")]


def test_hourly_cron_runs_every_real_hour_through_fall_back() -> None:
    spec = ScheduleSpec(queue="reports", cron="0 * * * *", tz="America/New_York")
    got = times(spec, ms("2026-11-01T00:30", "America/New_York"), 3)
    assert [b - a for a, b in pairwise(got)] == [HOUR, HOUR]


def test_every_counts_from_the_start_date() -> None:
    start = ms("2026-06-01T12:00:00")
    spec = ScheduleSpec(queue="reports", every=10_000, start_date=start)
    assert times(spec, start + 25_000, 3) == [start + 30_000, start + 40_000, start + 50_000]


def test_start_date_accepts_iso_8601() -> None:
    body = {"queue": "reports", "every": 10_000, "startDate": "2026-06-01T14:00:00+02:00"}
    spec = ScheduleSpec.model_validate(body)
    assert spec.start_date == ms("2026-06-01T12:00")


def test_every_plan_enqueues_what_falls_before_the_horizon() -> None:
    now = ms("2026-06-01T12:00:00")
    s = schedule(now, every=10_000)
    p = plan(s, now, now + 75_000)
    assert p.times == [now + i * 10_000 for i in range(8)]
    assert p.next_run == now + 80_000
    assert p.count == 8


@pytest.mark.parametrize(("policy", "expected"), [(CatchUp.ALL, 7), (CatchUp.LAST, 1)])
def test_missed_occurrences_follow_the_catch_up_policy(policy: CatchUp, expected: int) -> None:
    start = ms("2026-06-01T12:00:00")
    s = schedule(start, every=MINUTE, catch_up=policy)
    now = start + 6 * MINUTE + 30_000  # occurrences at +0 .. +6 min were never enqueued
    p = plan(s, now, now + 95_000)
    missed = [t for t in p.times if t < now]
    assert len(missed) == expected
    assert missed[-1] == start + 6 * MINUTE
    assert [t for t in p.times if t >= now] == [start + 7 * MINUTE, start + 8 * MINUTE]
    assert p.skipped == 7 - expected
    assert p.count == expected + 2


def test_limit_stops_the_schedule() -> None:
    now = ms("2026-06-01T12:00:00")
    p = plan(schedule(now, every=10_000, limit=3), now, now + 75_000)
    assert p.times == [now, now + 10_000, now + 20_000]
    assert (p.next_run, p.count) == (None, 3)


def test_end_date_stops_the_schedule() -> None:
    now = ms("2026-06-01T12:00:00")
    p = plan(schedule(now, every=10_000, end_date=now + 25_000), now, now + 75_000)
    assert p.times == [now, now + 10_000, now + 20_000]
    assert p.next_run is None


def test_job_ids_are_stable_and_differ_by_tenant_and_generation() -> None:
    now = ms("2026-06-01T12:00:00")
    s = schedule(now, every=10_000)
    assert job_id(s, now) == job_id(s.model_copy(), now)
    assert job_id(s, now) != job_id(s, now + 10_000)
    assert job_id(s, now) != job_id(s.model_copy(update={"tenant": "other"}), now)
    assert job_id(s, now) != job_id(s.model_copy(update={"generation": 1}), now)


@pytest.mark.parametrize(
    "fields",
    [
        {"cron": "* * * * *", "every": 10_000},
        {},
        {"cron": "61 * * * *"},
        {"cron": "0 9 * * *", "tz": "Mars/Olympus"},
        {"every": 999},
        {"every": 10_000, "start_date": 2_000, "end_date": 1_000},
        {"every": 10_000, "limit": 0},
    ],
)
def test_bad_specs_are_rejected(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ScheduleSpec(queue="reports", **fields)


def test_declared_in_reads_the_schedules_of_queue_modules() -> None:
    nightly = Declared(id="nightly", queue="reports", cron="0 2 * * *", tenant="acme")
    module = ModuleType("reports_queue")
    module.schedules = (nightly,)  # type: ignore[attr-defined]
    bare = ModuleType("other_queue")
    assert declared_in([module, bare]) == [nightly]
    assert nightly.owner() == "acme"
    module.schedules = ("0 2 * * *",)  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        declared_in([module])
