"""Bodies of the operator controls: job logs, cancelling a running job, changing a waiting
job (see ``corral.controls``)."""

from __future__ import annotations

from typing import Any, Literal

from corral.job import MAX_PRIORITY, CamelModel
from corral.job_logs import LogPage
from corral.limits import EffectiveLimits, RateLimitSetting
from pydantic import Field, model_validator


class LogLine(CamelModel):
    ts: int = Field(description="when the handler wrote it (epoch ms)")
    message: str


class JobLogs(CamelModel):
    """A page of a job's log, oldest first; ``nextCursor`` is null once all are read."""

    logs: list[LogLine]
    next_cursor: str | None = None

    @classmethod
    def of(cls, page: LogPage) -> JobLogs:
        cursor = None if page.next_cursor is None else str(page.next_cursor)
        return cls(logs=[LogLine(**line) for line in page.lines], next_cursor=cursor)


class Cancelling(CamelModel):
    """A running job was asked to stop; it ends ``cancelled`` (never retried)."""

    job_id: str
    status: Literal["cancelling"] = "cancelling"


class JobChangeRequest(CamelModel):
    """What to change in a job that has not started; what is left out stays."""

    data: dict[str, Any] | None = Field(default=None, description="replaces the data")
    priority: int | None = Field(default=None, ge=0, le=MAX_PRIORITY, description="lower first")
    delay: int | None = Field(
        default=None, ge=0, le=365 * 86_400_000, description="ms from now; 0 runs it now"
    )

    @model_validator(mode="after")
    def _something(self) -> JobChangeRequest:
        if self.data is None and self.priority is None and self.delay is None:
            raise ValueError("give at least one of data, priority or delay")
        return self


class QueueSettings(CamelModel):
    """The limits a queue's claims use now; ``runtime`` names those set with PATCH."""

    concurrency: int = Field(description="most jobs running at once (0: no limit)")
    rate_limit: RateLimitSetting | None = None
    group_concurrency: int = Field(description="most jobs of one tenant at once (0: no limit)")
    runtime: list[str] = Field(
        default_factory=list, description="fields set at runtime, not deployed"
    )

    @classmethod
    def of(cls, limits: EffectiveLimits) -> QueueSettings:
        return cls.model_validate(limits.as_dict())


class QueueLimits(CamelModel):
    queue: str
    settings: QueueSettings


class KeyGroupPublic(CamelModel):
    """A key group's limits set at runtime; they win over its jobs' ``options.group``.
    A limit that is null was not set at runtime: each job's own applies; 0: no limit."""

    id: str
    concurrency: int | None = Field(description="most of its jobs at once, set at runtime")
    rate_limit: RateLimitSetting | None = Field(description="its rate, set at runtime")
    active: int = Field(description="jobs of this key group running now")
    waiting: int = Field(default=0, description="jobs of this key group waiting (due)")
    held: bool = Field(
        default=False, description="some of its waiting jobs wait for a slot or its rate window"
    )
    job_concurrency: int | None = Field(
        default=None, description="the concurrency its next waiting job carries"
    )
    job_rate_limit: RateLimitSetting | None = Field(
        default=None, description="the rate its next waiting job carries"
    )


class KeyGroupList(CamelModel):
    """A queue's key groups with jobs waiting or running or limits set at runtime, busiest
    first; ``total`` counts them all."""

    groups: list[KeyGroupPublic]
    total: int
