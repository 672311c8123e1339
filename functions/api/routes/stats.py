"""``GET /stats``: the caller's history, from the daily counters (``corral.stats``).

A query reads one ``Query`` per queue and at most one item per day of the range, so a
30-day report costs the same for ten jobs or ten million. The app puts a ``StatsReader``
in ``app.state.stats``; without one this route answers 404 (not enabled).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from corral.job import CamelModel
from corral.stats import MAX_DAYS, Report, StatsRangeError, StatsReader
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import Field

from api.deps import Service, TenantScope, optional_part
from api.errors import answers

DEFAULT_DAYS = 30


get_reader = optional_part("stats", "stats", "CORRAL_TENANT_TABLE")


Reader = Annotated[StatsReader, Depends(get_reader)]


class DayStats(CamelModel):
    date: str
    queued: int
    completed: int
    failed: int
    retried: int
    cancelled: int


class Durations(CamelModel):
    p50: int | None = Field(description="ms, interpolated in a fixed histogram")
    p95: int | None
    samples: int


class TopError(CamelModel):
    error: str
    count: int


class Reads(CamelModel):
    queries: int
    items: int


class StatsPublic(CamelModel):
    start: str = Field(serialization_alias="from")
    end: str = Field(serialization_alias="to")
    queues: list[str]
    days: list[DayStats]
    totals: dict[str, int]
    success_rate: float | None = Field(description="completed / (completed + failed)")
    duration_ms: Durations
    top_errors: list[TopError]
    reads: Reads

    @classmethod
    def of(cls, report: Report) -> StatsPublic:
        return cls(
            start=report.start,
            end=report.end,
            queues=report.queues,
            days=[DayStats(date=d.date, **d.counts) for d in report.days],
            totals=report.totals,
            success_rate=report.success_rate,
            duration_ms=Durations(p50=report.p50_ms, p95=report.p95_ms, samples=report.durations),
            top_errors=[TopError(error=e, count=n) for e, n in report.top_errors],
            reads=Reads(**report.reads),
        )


router = APIRouter(tags=["stats"])

FIRST_DAY = date(2000, 1, 1)
"""No counter is older than this; an earlier day (or ``to=0``) is a mistake, not a query."""
DAY: dict[str, Any] = {
    "pattern": r"^\d{4}-\d{2}-\d{2}$",
    "json_schema_extra": {"format": "date"},
    "description": "a UTC day, YYYY-MM-DD",
}


def day_of(value: str, name: str) -> date:
    """The query's day: a real calendar day in YYYY-MM-DD, from 2000 on; otherwise 422."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"'{name}' is not a day (YYYY-MM-DD)") from None
    if day < FIRST_DAY:
        raise HTTPException(422, f"'{name}' is before {FIRST_DAY.isoformat()}")
    return day


def _days_before(day: date, days: int) -> date:
    return max(day - timedelta(days=days), FIRST_DAY)


@router.get(
    "/stats",
    response_model=StatsPublic,
    response_model_by_alias=True,
    responses=answers(
        401,
        403,
        404,
        422,
        503,
        e403="another tenant named by a caller who is not an admin",
        e404="unknown queue, or stats are not enabled",
        e422="a day that is not YYYY-MM-DD from 2000 on, or a range past 92 days",
    ),
)
async def get_stats(
    tenant: TenantScope,
    service: Service,
    reader: Reader,
    start: Annotated[str | None, Query(alias="from", **DAY)] = None,
    end: Annotated[str | None, Query(alias="to", **DAY)] = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    """Counts per day and status, success rate, p50/p95 duration and top errors (UTC days;
    default: the last 30 days; at most 92). An admin may ask for any ``tenant``."""
    last = day_of(end, "to") if end else datetime.now(UTC).date()
    first = day_of(start, "from") if start else _days_before(last, DEFAULT_DAYS - 1)
    if queue is not None:
        service.queue(queue)  # 404 for an unknown queue
    queues = [queue] if queue else list(service.queues)
    try:
        report = await asyncio.to_thread(reader.report, tenant, queues, first, last)
    except StatsRangeError as exc:
        raise HTTPException(422, f"{exc} (max {MAX_DAYS} days)") from None
    return StatsPublic.of(report)
