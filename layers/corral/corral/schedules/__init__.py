"""Repeatable jobs: cron (with time zones) or every N ms, stored in DynamoDB, applied via Redis.

The scheduler function runs every minute and enqueues each occurrence due before its next
run as a delayed job whose id derives from the schedule and the occurrence time, so a
duplicated or overlapping tick never runs an occurrence twice.
"""

from corral.intake import TenantMismatchError
from corral.schedules.declared import declared_in, sync_declared
from corral.schedules.model import CatchUp, Declared, Schedule, ScheduleCreate, ScheduleSpec
from corral.schedules.service import (
    ScheduleConflictError,
    ScheduleExistsError,
    ScheduleNotFoundError,
    ScheduleService,
    TickReport,
)
from corral.schedules.sink import JobSink, QueueSink, ServiceSink
from corral.schedules.store import ScheduleStore, create_table

__all__ = [
    "CatchUp",
    "Declared",
    "JobSink",
    "QueueSink",
    "Schedule",
    "ScheduleConflictError",
    "ScheduleCreate",
    "ScheduleExistsError",
    "ScheduleNotFoundError",
    "ScheduleService",
    "ScheduleSpec",
    "ScheduleStore",
    "ServiceSink",
    "TenantMismatchError",
    "TickReport",
    "create_table",
    "declared_in",
    "sync_declared",
]
