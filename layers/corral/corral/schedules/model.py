"""Schedules: what a user asks for (``ScheduleSpec``) and what the store keeps (``Schedule``)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from corral.job import CamelModel, Identifier
from corral.keys import valid_queue_name

MIN_EVERY_MS = 1000
"""Shortest ``every``: a tick enqueues at most (60 s + margin) / every jobs per schedule."""
CRON_FIELDS = 5
"""minute hour day-of-month month day-of-week: a cron schedule runs at most once a minute.
A sixth (seconds) field is refused, not read: the scheduler ticks once a minute, and
``every`` (from 1 s) is the way to ask for shorter periods."""


def to_epoch_ms(value: Any) -> Any:
    """Accept epoch ms or an ISO 8601 date; a date without an offset is taken as UTC."""
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        try:
            return int(value.timestamp() * 1000)
        except (OverflowError, ValueError):  # year 1 with a positive offset, say
            raise ValueError("the date is out of range") from None
    return value


MAX_EPOCH_MS = 253_402_300_799_999
"""The last millisecond of year 9999: past it no date can be shown or computed."""

EpochMs = Annotated[
    int,
    BeforeValidator(to_epoch_ms),
    Field(ge=0, le=MAX_EPOCH_MS),
    # The validator takes a string too, which the plain int schema would not say.
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_EPOCH_MS},
                {"type": "string", "format": "date-time"},
            ],
            "description": "epoch ms, or an ISO 8601 date and time (UTC without an offset)",
        }
    ),
]


class CatchUp(StrEnum):
    """What a tick does with occurrences whose time passed while no tick ran."""

    ALL = "all"
    """Run each missed occurrence (at most ``MAX_PER_TICK`` per tick)."""
    LAST = "last"
    """Run only the most recent missed occurrence; skipped ones do not count to ``limit``."""


class ScheduleSpec(CamelModel):
    """A repeatable job: ``{queue, data, cron, tz}`` or ``{queue, data, every}``.

    Attributes:
        queue: the queue the jobs go to.
        data: each job's payload, validated against the queue's model.
        cron: a cron expression of 5 fields (no seconds: at most once a minute), read in
            ``tz``.
        tz: an IANA time zone name; cron times follow its DST changes.
        every: the interval in ms, counted from ``start_date`` or the creation time.
        start_date, end_date: no occurrence before / after these (epoch ms or ISO 8601).
        limit: most occurrences ever run.
        catch_up: what to do with occurrences missed while no tick ran.
    """

    queue: str
    data: dict[str, Any] = Field(default_factory=dict)
    cron: str | None = None
    tz: str = "UTC"
    every: int | None = Field(default=None, ge=MIN_EVERY_MS, le=366 * 86_400_000)
    start_date: EpochMs | None = None
    end_date: EpochMs | None = None
    limit: int | None = Field(default=None, ge=1)
    catch_up: CatchUp = CatchUp.LAST

    @field_validator("queue")
    @classmethod
    def _queue_name(cls, value: str) -> str:
        if not valid_queue_name(value):
            raise ValueError("not a valid queue name")
        return value

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("cron")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            if len(value.split()) != CRON_FIELDS:
                raise ValueError(
                    "a cron expression has 5 fields: minute hour day-of-month month "
                    "day-of-week (no seconds; use every for periods under a minute)"
                )
            try:
                CronSim(value, datetime.now(UTC))
            except CronSimError as exc:
                raise ValueError(f"invalid cron expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _one_rule(self) -> ScheduleSpec:
        if (self.cron is None) == (self.every is None):
            raise ValueError("give exactly one of cron and every")
        start, end = self.start_date, self.end_date
        if start is not None and end is not None and end < start:
            raise ValueError("endDate is before startDate")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


class ScheduleCreate(ScheduleSpec):
    """The body of ``POST /schedules``: a spec and, optionally, the caller's own id."""

    id: Identifier | None = None


class Declared(ScheduleSpec):
    """A schedule declared in code next to its queue; the scheduler keeps the store in sync.

    ``tenant`` defaults to the payload's ``subAccountId``.
    """

    id: Identifier
    tenant: Identifier | None = None

    def owner(self) -> str:
        """The tenant the schedule and its jobs belong to."""
        tenant = self.tenant or self.data.get("subAccountId")
        if not isinstance(tenant, str):
            raise ValueError(f"declared schedule {self.id!r} needs a tenant or data.subAccountId")
        return tenant


class Schedule(ScheduleSpec):
    """A stored schedule: its spec, its owner, and where its occurrences stand.

    Attributes:
        id: unique within its tenant.
        tenant: the owner; it only ever sees and touches its own schedules.
        paused: a paused schedule enqueues nothing.
        next_run: the first occurrence not yet enqueued (ms); None once it is finished.
        count: occurrences enqueued so far (compared to ``limit``).
        generation: bumped on resume, so the jobs cancelled by a pause can run again.
        version: bumped on every write; writes are conditional on it.
        source: ``api`` or ``code`` (declared schedules are synced from code).
    """

    id: Identifier
    tenant: Identifier
    paused: bool = False
    next_run: int | None = None
    count: int = 0
    generation: int = 0
    version: int = 0
    source: Literal["api", "code"] = "api"
    created_at: int = 0
    updated_at: int = 0

    def spec(self) -> ScheduleSpec:
        """The user-given part, without the state."""
        return ScheduleSpec.model_validate(self.model_dump(include=SPEC_FIELDS))


SPEC_FIELDS: set[str] = set(ScheduleSpec.model_fields)
