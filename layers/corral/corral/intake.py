"""Accepting jobs: validate, write the records, add to Redis, and undo what a duplicate left.

The record goes first (invariant 1). Redis decides duplicates (dedup ids are atomic
there), so a duplicate's record is only known to be an orphan after the Redis call;
it is then deleted, conditionally on the job never having started.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class Rejected:
    """A job of a batch that was not accepted: its index and its field errors.

    ``cause`` is the error an atomic call raises for it (None: a payload error).
    """

    index: int
    errors: list[dict[str, Any]]
    cause: CorralError | None = None


@dataclass(slots=True)
class _Prepared:
    index: int | None
    record: JobRecord
    job: NewJob


def item_loc(index: int | None, part: str) -> list[Any]:
    """Where a job's ``part`` sits in the request body."""
    return ["body", *(["jobs", index] if index is not None else []), part]


def raise_rejection(rejected: Sequence[Rejected]) -> None:
    """An atomic call's answer to bad jobs: the first refusal, else every payload error."""
    for r in rejected:
        if r.cause is not None:
            raise r.cause
    raise InvalidPayloadError([error for r in rejected for error in r.errors])


def scoped_dedup(dedup: Deduplication | None, tenant: str) -> Deduplication | None:
    """Dedup ids are per tenant: another tenant's id must neither match nor be revealed."""
    if dedup is None:
        return None
    return dedup.model_copy(update={"id": f"t{len(tenant)}.{tenant}.{dedup.id}"})


class Intake:
    """One enqueue call (one job or a batch) for one tenant."""

    def __init__(
        self,
        queue: Queue,
        store: JobStore,
        tenant: str,
        clock: Callable[[], int],
        max_waiting: int = 0,
    ) -> None:
        self.queue = queue
        self.store = store
        self.tenant = tenant
        self.clock = clock
        self.max_waiting = max_waiting

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
            errors = exc.errors(include_url=False, include_context=False)
            for error in errors:
                error["loc"] = (*item_loc(index, "data"), *error["loc"])
            raise InvalidPayloadError(list(errors)) from None  # type: ignore[arg-type]

    def validate_data(self, data: Any) -> BaseModel:
        """One job's data, checked as an enqueue checks it (raises InvalidPayloadError)."""
        return self._validate(None, data)

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
            attempts_made=0,
            created_at=now,
        )
        redis_options = options.model_copy(
            update={
                "job_id": job_id,
                "deduplication": scoped_dedup(options.deduplication, self.tenant),
            }
        )
        return _Prepared(index, record, NewJob(payload, redis_options, self.tenant))

    def prepare(self, data: Any, options: JobOptions | None) -> tuple[JobRecord, NewJob]:
        """One job validated and shaped as ``run`` would, for callers that write it
        themselves (flows). Raises InvalidPayloadError, TenantMismatchError."""
        prepared = self._prepare(None, data, options)
        return prepared.record, prepared.job

    def _prepare_all(
        self, jobs: Sequence[tuple[Any, JobOptions | None]], positions: Sequence[int] | None
    ) -> list[_Prepared | Rejected]:
        """Each job prepared, or its rejection (a payload error or another tenant's id)."""
        single = len(jobs) == 1 and positions is None
        out: list[_Prepared | Rejected] = []
        for i, (data, options) in enumerate(jobs):
            index = None if single else (positions[i] if positions is not None else i)
            try:
                out.append(self._prepare(index, data, options))
            except InvalidPayloadError as exc:
                out.append(Rejected(index or 0, exc.errors))
            except TenantMismatchError as exc:
                error = {"loc": [*item_loc(index, "data"), "subAccountId"], "msg": str(exc)}
                out.append(Rejected(index or 0, [{**error, "type": "forbidden"}], exc))
        return out

    def problems(
        self, datas: Sequence[Any], positions: Sequence[int] | None = None
    ) -> list[dict[str, Any]]:
        """Every item's field errors, located as in a batch (``body.jobs.<i>.data...``);
        nothing is written. Empty when every item would be accepted.

        Raises TenantMismatchError, as ``run`` does: naming another tenant is refused, not
        a field error.
        """
        found: list[dict[str, Any]] = []
        for i, data in enumerate(datas):
            try:
                self._validate(positions[i] if positions is not None else i, data)
            except InvalidPayloadError as exc:
                found.extend(exc.errors)
        return found

    async def run(self, jobs: Sequence[tuple[Any, JobOptions | None]]) -> list[Accepted]:
        """Accept every job or none: a bad one raises InvalidPayloadError (with every
        job's errors), TenantMismatchError or JobIdTakenError, and nothing is written."""
        answers = await self.run_each(jobs, atomic=True)
        return [a for a in answers if isinstance(a, Accepted)]

    async def run_each(
        self,
        jobs: Sequence[tuple[Any, JobOptions | None]],
        *,
        atomic: bool = False,
        positions: Sequence[int] | None = None,
    ) -> list[Accepted | Rejected]:
        """Accept the jobs; one answer each, in order.

        Each bad job is answered with a ``Rejected`` (nothing written for it) and the
        others are accepted; ``atomic`` is ``run``. ``positions`` are the jobs' indexes
        in the request (for error locations).
        """
        items = self._prepare_all(jobs, positions)
        rejected = [item for item in items if isinstance(item, Rejected)]
        if atomic and rejected:
            raise_rejection(rejected)
        # The same id twice in one call is one job: only its first entry is written.
        firsts: dict[str, _Prepared] = {}
        for item in items:
            if isinstance(item, _Prepared):
                firsts.setdefault(item.record.job_id, item)
        answers = await self._write(list(firsts.values()), atomic)
        out: list[Accepted | Rejected] = []
        for item in items:
            if isinstance(item, Rejected):
                out.append(item)
                continue
            answer = answers[item.record.job_id]
            if item is not firsts[item.record.job_id] and isinstance(answer, Accepted):
                answer = replace(answer, deduplicated=True)
            out.append(answer)
        return out

    async def _write(
        self, prepared: list[_Prepared], atomic: bool
    ) -> dict[str, Accepted | Rejected]:
        """Records first, then Redis; answers by job id."""
        if not prepared:
            return {}
        created = await aws("dynamodb", self.store.create_many, [p.record for p in prepared])
        fresh = [p for p, ok in zip(prepared, created, strict=True) if ok]
        answers: dict[str, Accepted | Rejected] = {}
        try:
            for p, ok in zip(prepared, created, strict=True):
                if not ok:
                    answers[p.record.job_id] = await self._existing(p, atomic)
            with redis_guard():
                new = [p.job for p in fresh]
                results = await self.queue.add_bulk(new, self.max_waiting) if fresh else []
        except BaseException:
            await self._forget([p.record.job_id for p in fresh])
            raise
        for p, result in zip(fresh, results, strict=True):
            answers[p.record.job_id] = await self._settle_duplicate(p, result)
        return answers

    async def _existing(self, p: _Prepared, atomic: bool) -> Accepted | Rejected:
        """A caller-chosen id that already has a live record."""
        record = p.record
        existing = await aws("dynamodb", self.store.get, record.queue, record.job_id, resolve=False)
        if existing is None or existing.tenant != self.tenant:
            taken = JobIdTakenError(f"job id {record.job_id} is not available")
            if atomic:
                raise taken
            loc = [*item_loc(p.index, "options"), "jobId"]
            return Rejected(p.index or 0, [{"loc": loc, "msg": str(taken), "type": "conflict"}])
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
