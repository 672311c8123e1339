"""Schedules declared in code, next to their queue, kept in sync with the store.

A queue module lists its schedules beside its definition::

    queue = QueueDefinition(name="data-export", ...)
    schedules = (
        Declared(id="nightly-export", queue="data-export", cron="0 2 * * *",
                 tz="Europe/Paris", data={"subAccountId": "acme", ...}),
    )

Each tick the scheduler creates the declared schedules that are missing, updates those
whose spec changed in code (keeping their count and pause), and deletes code-declared
schedules that are no longer declared. A schedule created through the API is never
touched, even if a declaration has the same id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType

from corral.schedules.model import Declared, Schedule
from corral.schedules.occurrences import first_from
from corral.schedules.service import ScheduleService

logger = logging.getLogger(__name__)


def declared_in(modules: Iterable[ModuleType]) -> list[Declared]:
    """The ``schedules`` tuples of queue modules, in order."""
    found: list[Declared] = []
    for module in modules:
        for item in getattr(module, "schedules", ()):
            if not isinstance(item, Declared):
                raise TypeError(f"{module.__name__}.schedules holds {item!r}, not a Declared")
            found.append(item)
    return found


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    deleted: int = 0


def _from_declaration(declared: Declared, data: dict[str, object], now: int) -> Schedule:
    fields = declared.model_dump(exclude={"id", "tenant", "data"})
    return Schedule(
        **fields,
        data=data,
        id=declared.id,
        tenant=declared.owner(),
        source="code",
        next_run=first_from(declared, now, now),
        created_at=now,
        updated_at=now,
    )


async def sync_declared(service: ScheduleService, declared: Iterable[Declared]) -> SyncReport:
    """Make the store's code-declared schedules match ``declared``."""
    now = service.clock()
    report = SyncReport()
    wanted: dict[tuple[str, str], Schedule] = {}
    for item in declared:
        tenant = item.owner()
        wanted[(tenant, item.id)] = _from_declaration(item, service.checked_data(tenant, item), now)
    for stored in service.store.scan():
        key = (stored.tenant, stored.id)
        target = wanted.pop(key, None)
        if stored.source != "code":
            if target is not None:
                logger.warning("declared schedule %s/%s shadowed by an API one", *key)
            continue
        if target is None:
            await service.delete(stored.tenant, stored.id)
            report.deleted += 1
        elif target.spec() != stored.spec():
            update = target.model_dump(exclude={"paused", "count", "generation", "created_at"})
            changed = stored.model_copy(update={**update, "version": stored.version + 1})
            if service.store.save(changed, stored.version):
                report.updated += 1
    for target in wanted.values():
        if service.store.create(target):
            report.created += 1
    return report
