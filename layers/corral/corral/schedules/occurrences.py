"""When a schedule's jobs run: occurrence times and the plan for one tick (pure logic)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import count

from cronsim import CronSim

from corral.schedules.model import CatchUp, Schedule, ScheduleSpec

MAX_PER_TICK = 1000
"""Most jobs one schedule enqueues in one tick; a longer catch-up goes on next tick."""


def _after_cron(spec: ScheduleSpec, t: int) -> Iterator[int]:
    start = datetime.fromtimestamp(t / 1000, spec.zone)
    # cronsim walks wall-clock time in the zone: a time skipped by DST runs at the jump,
    # and a fixed-hour time inside a repeated hour runs once.
    for moment in CronSim(spec.cron or "", start):
        yield int(moment.timestamp() * 1000)


def occurrences_from(spec: ScheduleSpec, t: int, anchor: int) -> Iterator[int]:
    """Occurrence times (ms) at or after ``t``, within the spec's dates, without end.

    Args:
        spec: the schedule.
        t: earliest time wanted.
        anchor: where ``every`` counts from when the spec has no ``start_date``.
    """
    if spec.start_date is not None:
        t = max(t, spec.start_date)
    if spec.every is not None:
        base = spec.start_date if spec.start_date is not None else anchor
        steps = max(0, -(-(t - base) // spec.every))  # ceil: first step at or after t
        times: Iterator[int] = (base + (steps + i) * spec.every for i in count())
    else:
        times = _after_cron(spec, t - 1)
    for when in times:
        if spec.end_date is not None and when > spec.end_date:
            return
        yield when


def first_from(spec: ScheduleSpec, t: int, anchor: int) -> int | None:
    """The first occurrence at or after ``t``, or None if the spec has ended."""
    return next(occurrences_from(spec, t, anchor), None)


@dataclass(frozen=True)
class Plan:
    """What one tick does for one schedule.

    Attributes:
        times: occurrence times (ms) to enqueue now, oldest first.
        next_run: the schedule's new cursor (None: finished).
        count: the schedule's new count.
        skipped: missed occurrences dropped by ``CatchUp.LAST``.
    """

    times: list[int]
    next_run: int | None
    count: int
    skipped: int = 0


def plan(schedule: Schedule, now: int, horizon: int) -> Plan:
    """The occurrences of ``schedule`` due before ``horizon`` that are not yet enqueued.

    Occurrences before ``now`` were missed (no tick ran in time); the schedule's
    ``catch_up`` decides whether each of them runs or only the last.
    """
    if schedule.next_run is None:
        return Plan([], None, schedule.count)
    times: list[int] = []
    skipped = 0
    left = None if schedule.limit is None else schedule.limit - schedule.count
    upcoming = occurrences_from(schedule, schedule.next_run, schedule.created_at)
    cursor: int | None = None
    for when in upcoming:
        if when >= horizon or (left is not None and len(times) >= left):
            cursor = when
            break
        if len(times) >= MAX_PER_TICK:
            cursor = when
            break
        missed = when < now and times and times[-1] < now
        if missed and schedule.catch_up is CatchUp.LAST:
            skipped += 1
            times[-1] = when
        else:
            times.append(when)
    total = schedule.count + len(times)
    if schedule.limit is not None and total >= schedule.limit:
        cursor = None
    return Plan(times, cursor, total, skipped)


def job_id(schedule: Schedule, when: int) -> str:
    """The id of the job for one occurrence: the same on every tick that enqueues it.

    Job ids are unique per queue, not per tenant, so the tenant and schedule id are
    hashed together (with the generation, which a resume bumps).
    """
    owner = f"{schedule.tenant}\x00{schedule.id}\x00{schedule.generation}".encode()
    digest = hashlib.blake2b(owner, digest_size=8).hexdigest()
    return f"sch.{digest}.{when}"
