"""Accepting jobs: validate, write the records, add to Redis, and undo what a duplicate left.

The record goes first (invariant 1). Redis decides duplicates (dedup ids are atomic
there), so a duplicate's record is only known to be an orphan after the Redis call;
it is then deleted, conditionally on the job never having started.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from corral.errors import CorralError
from corral.guards import ServiceUnavailableError, aws, redis_guard
from corral.ids import new_job_id
from corral.job import Deduplication, JobOptions, JobStatus
from corral.queue import EnqueueResult, NewJob, Queue
from corral.records import JobRecord
from corral.store import JobStore

logger = logging.getLogger(__name__)

TENANT_FIELD = "sub_account_id"


class TenantMismatchError(CorralError):
    """The payload names a tenant other than the caller's."""


class JobIdTakenError(CorralError):
    """A caller-chosen job id is already used by another tenant's job."""


class InvalidPayloadError(CorralError):
    """A job's data does not validate; ``errors`` are pydantic's, located in the request."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("the payload is invalid")
        self.errors = errors


@dataclass(frozen=True)
class Accepted:
    """The answer to an enqueue: the job's id and whether it was a duplicate."""

    job_id: str
    queue: str
    status: JobStatus
    deduplicated: bool = False


@dataclass(slots=True)
class _Prepared:
    record: JobRecord
    job: NewJob


def scoped_dedup(dedup: Deduplication | None, tenant: str) -> Deduplication | None:
    """Dedup ids are per tenant: another tenant's id must neither match nor be revealed."""
    if dedup is None:
        return None
    return dedup.model_copy(update={"id": f"t{len(tenant)}.{tenant}.{dedup.id}"})


class Intake:
    """One enqueue call (one job or a batch) for one tenant."""

    def __init__(
        self, queue: Queue, store: JobStore, tenant: str, clock: Callable[[], int]
    ) -> None:
        self.queue = queue
        self.store = store
        self.tenant = tenant
        self.clock = clock

    def _fill_tenant(self, data: Any) -> Any:
        field = self.queue.definition.payload.model_fields.get(TENANT_FIELD)
        if field is None or not isinstance(data, dict):
            return data
        alias = field.alias or TENANT_FIELD
        given = data.get(alias, data.get(TENANT_FIELD))
        if given is None:
            return {**data, alias: self.tenant}
        if given != self.tenant:
            raise TenantMismatchError("subAccountId names another tenant")
        return data

    def _validate(self, index: int | None, data: Any) -> BaseModel:
        try:
            return self.queue.validate(self._fill_tenant(data))
        except ValidationError as exc:
            where: list[Any] = ["jobs", index] if index is not None else []
            prefix = ["body", *where, "data"]
            errors = exc.errors(include_url=False, include_context=False)
            for error in errors:
                error["loc"] = (*prefix, *error["loc"])
            raise InvalidPayloadError(list(errors)) from None  # type: ignore[arg-type]

    def _prepare(self, index: int | None, data: Any, options: JobOptions | None) -> _Prepared:
        payload = self._validate(index, data)
        options = options or JobOptions()
        now = self.clock()
        job_id = options.job_id or new_job_id(now)
        record = JobRecord(
            job_id=job_id,
            queue=self.queue.name,
            tenant=self.tenant,
            status=JobStatus.PENDING,
            data=payload.model_dump(mode="json", by_alias=True),
            options=options.model_dump(mode="json", by_alias=True, exclude_none=True),
            attempts=options.attempts or self.queue.definition.attempts,
            created_at=now,
        )
        redis_options = options.model_copy(
            update={
                "job_id": job_id,
                "deduplication": scoped_dedup(options.deduplication, self.tenant),
            }
        )
        return _Prepared(record, NewJob(payload, redis_options, self.tenant))

    def problems(self, datas: Sequence[Any]) -> list[dict[str, Any]]:
        """Every item's field errors, located as in a batch (``body.jobs.<i>.data...``);
        nothing is written. Empty when every item would be accepted.

        Raises TenantMismatchError, as ``run`` does: naming another tenant is refused, not
        a field error.
        """
        found: list[dict[str, Any]] = []
        for index, data in enumerate(datas):
            try:
                self._validate(index, data)
            except InvalidPayloadError as exc:
                found.extend(exc.errors)
        return found

    async def run(self, jobs: Sequence[tuple[Any, JobOptions | None]]) -> list[Accepted]:
        single = len(jobs) == 1
        prepared = [
            self._prepare(None if single else i, data, options)
            for i, (data, options) in enumerate(jobs)
        ]
        created = await aws("dynamodb", self.store.create_many, [p.record for p in prepared])
        fresh = [p for p, ok in zip(prepared, created, strict=True) if ok]
        try:
            taken = {
                p.record.job_id: await self._existing(p.record)
                for p, ok in zip(prepared, created, strict=True)
                if not ok
            }
            with redis_guard():
                results = await self.queue.add_bulk([p.job for p in fresh]) if fresh else []
        except BaseException:
            await self._forget([p.record.job_id for p in fresh])
            raise
        answers = dict(taken)
        for p, result in zip(fresh, results, strict=True):
            answers[p.record.job_id] = await self._settle_duplicate(p, result)
        return [answers[p.record.job_id] for p in prepared]

    async def _existing(self, record: JobRecord) -> Accepted:
        """A caller-chosen id that already has a live record."""
        existing = await aws("dynamodb", self.store.get, record.queue, record.job_id, resolve=False)
        if existing is None or existing.tenant != self.tenant:
            raise JobIdTakenError(f"job id {record.job_id} is not available")
        return Accepted(record.job_id, record.queue, existing.status, deduplicated=True)

    async def _settle_duplicate(self, p: _Prepared, result: EnqueueResult) -> Accepted:
        own = p.record
        if result.job_id == own.job_id:
            return Accepted(own.job_id, own.queue, JobStatus.PENDING, result.deduplicated)
        await self._forget([own.job_id])
        status = JobStatus.PENDING
        if result.debounced:
            update = self.store.update_pending
            await aws("dynamodb", update, own.queue, result.job_id, own.data, own.options)
        else:
            existing = await aws(
                "dynamodb", self.store.get, own.queue, result.job_id, resolve=False
            )
            status = existing.status if existing else status
        return Accepted(result.job_id, own.queue, status, deduplicated=True)

    async def _forget(self, job_ids: list[str]) -> None:
        """Delete records Redis never took; if that fails too, the reconciler adds them."""
        if not job_ids:
            return
        with contextlib.suppress(ServiceUnavailableError):
            await aws("dynamodb", self.store.delete_orphans, self.queue.name, job_ids)
            return
        logger.warning("could not delete %d orphan records of %s", len(job_ids), self.queue.name)
