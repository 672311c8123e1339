"""A queue in Redis: every state change is one Lua script (see ``lua/``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from corral.clock import now_ms
from corral.definition import QueueDefinition
from corral.enqueue_args import NO_OPTIONS, JobShaper
from corral.errors import ScriptCode, WaitingQuotaError, raise_for_code
from corral.job import Job, JobOptions, JobState, ResolvedOptions
from corral.keys import PREFIX, QueueKeys
from corral.queue_types import (
    ClaimCode,
    ClaimedJob,
    ClaimResult,
    EnqueueResult,
    LeaseSettings,
    MinuteCount,
    NewJob,
    Outcome,
    OutcomeCounts,
    QueueCounts,
    decode_job,
    decode_options,
    flow_add_args,
)
from corral.scripts import NO_TAIL, PackedArgs, RedisClient, ScriptCall, load_script, run_call
from corral.validation import require_identifier

if TYPE_CHECKING:
    from corral.index_marker import IndexMarker

__all__ = [
    "ClaimCode",
    "ClaimResult",
    "ClaimedJob",
    "EnqueueResult",
    "LeaseSettings",
    "MinuteCount",
    "NewJob",
    "Outcome",
    "OutcomeCounts",
    "Queue",
    "QueueCounts",
    "decode_job",
    "now_ms",
]


ENQUEUE_TAILS_KEPT = 64
"""Most quotas whose packed enqueue arguments a queue keeps (then it forgets them all)."""


class Queue:
    """One typed queue: producer, worker and admin operations."""

    def __init__(
        self,
        redis: RedisClient,
        definition: QueueDefinition,
        *,
        prefix: str = PREFIX,
        lease: LeaseSettings | None = None,
        clock: Callable[[], int] = now_ms,
        marker: IndexMarker | None = None,
    ) -> None:
        self.redis = redis
        self.marker = marker
        """Set: each enqueue tests the queue's marker too, and reports a missing one to it."""
        self.definition = definition
        self.name = definition.name
        self.keys = QueueKeys(definition.name, prefix)
        self.lease = lease or LeaseSettings()
        self.clock = clock
        self._script_calls: dict[str, ScriptCall] = {}
        self._enqueue_tails: dict[int, PackedArgs] = {}
        self._parsed_opts: dict[str, ResolvedOptions] = {}
        self.shaper = JobShaper(definition)
        rate = definition.rate_limit
        self._limits = [
            self.lease.cap_ms,
            self.lease.margin_ms,
            definition.concurrency,
            definition.group_concurrency,
            rate.max if rate else 0,
            rate.duration_ms if rate else 0,
        ]
        retention = definition.retention
        self._retention = [
            retention.completed_count,
            retention.completed_age_ms,
            retention.failed_count,
            retention.failed_age_ms,
        ]

    async def _run(self, name: str, args: list[Any], tail: PackedArgs = NO_TAIL) -> Any:
        call = self._script_calls.get(name)
        if call is None:
            # Encoded and packed once: redis-py would encode each key again on every call.
            names = self.keys.script_keys(load_script(name).keys)
            call = self._script_calls[name] = ScriptCall.of(name, [n.encode() for n in names])
        return await run_call(self.redis, call, args, tail)

    def _enqueue_tail(self, max_waiting: int) -> PackedArgs:
        """``enqueue.lua``'s last arguments, alike for every call with this quota: packed
        once per quota (a queue sees few: none, or its tenants' quota)."""
        tail = self._enqueue_tails.get(max_waiting)
        if tail is None:
            defaults, default_opts = self.shaper.defaults()
            marker = 1 if self.marker else 0
            tail = PackedArgs.of([max_waiting, marker, default_opts, defaults.timeout])
            if len(self._enqueue_tails) >= ENQUEUE_TAILS_KEPT:
                self._enqueue_tails.clear()
            self._enqueue_tails[max_waiting] = tail
        return tail

    # -- producer ---------------------------------------------------------------

    def validate(self, data: Any) -> BaseModel:
        """Validate a payload against the queue's model (raises pydantic's ValidationError)."""
        return self.shaper.validate(data)

    def resolve(self, opts: JobOptions, attempts: int | None = None) -> ResolvedOptions:
        """The options Redis keeps with a job (``JobShaper.resolve``)."""
        return self.shaper.resolve(opts, attempts)

    async def add(
        self, data: Any, options: JobOptions | None = None, *, group: str | None = None
    ) -> EnqueueResult:
        """Enqueue one job."""
        job = NewJob(data, options, group)
        now = self.clock()
        fields = self.shaper.plain(job, now)
        if fields is None:
            return (await self.add_bulk([job]))[0]
        # A lone job that sets no option (the most common call): add_bulk's args, without
        # its batch bookkeeping and its frame (about 5% of a single enqueue's client
        # instructions, measured against a leaner add_bulk too).
        args = [now, self.definition.group_concurrency, 1, 3, *fields]
        reply = await self._run("enqueue", args, self._enqueue_tail(0))
        return (await self._enqueued(reply, 0))[0]

    async def add_bulk(self, jobs: Sequence[NewJob], max_waiting: int = 0) -> list[EnqueueResult]:
        """Enqueue many jobs in one round trip (all validated before any is sent).

        ``max_waiting``: most waiting jobs a group may have, these included (0: no limit);
        over it, nothing is added and WaitingQuotaError is raised.
        """
        now = self.clock()
        defaults, default_opts = self.shaper.defaults()
        default_timeout = defaults.timeout
        rows = []
        short = True
        for job in jobs:
            fields = self.shaper.plain(job, now)
            if fields is None:
                fields = self.shaper.fields(job, now)
                # The queue's defaults are kept once per queue, not in each job's hash.
                if fields[3] == default_opts:
                    fields[3] = ""
                if fields[6] == default_timeout:
                    fields[6] = ""
                short = short and fields[3:] == NO_OPTIONS
            rows.append(fields)
        # Most calls set no option of their own: their jobs go as (id, group, data) alone.
        args: list[Any] = [now, self.definition.group_concurrency, len(jobs), 3 if short else 12]
        for fields in rows:
            args.extend(fields[:3] if short else fields)
            if len(fields) == 3 and not short:
                args.extend(NO_OPTIONS)  # a plain job among jobs with options of their own
        reply = await self._run("enqueue", args, self._enqueue_tail(max_waiting))
        return await self._enqueued(reply, max_waiting)

    async def _enqueued(self, reply: list[Any], max_waiting: int) -> list[EnqueueResult]:
        """What ``enqueue.lua`` answered: each job's result, or the quota's error."""
        if reply[0] == ScriptCode.WAITING_QUOTA:
            raise WaitingQuotaError(int(reply[1]), max_waiting)
        if reply[0] == 1 and self.marker is not None:
            await self.marker.lost(self.name)
        return [
            EnqueueResult(reply[i], created=reply[i + 1] == 1, debounced=reply[i + 1] == 2)
            for i in range(1, len(reply), 2)
        ]

    async def add_parent(self, job: NewJob, children: int) -> bool:
        """Add a flow's parent, waiting for ``children`` children (``flow_add.lua``).

        False if a job with its id already exists (nothing changed).
        """
        now = self.clock()
        if job.parent is None:
            job = replace(job, flow_root=True)
        shaped = self.shaper.shape(job, now)
        args = flow_add_args(
            now,
            shaped.job_id,
            shaped.group,
            shaped.data_json,
            shaped.resolved,
            children,
            self.definition.group_concurrency,
            created_at=now,
        )
        return int(await self._run("flow_add", args)) == 1

    # -- worker -------------------------------------------------------------------

    def _claim_result(self, reply: list[Any], worker: str, now: int) -> ClaimResult:
        flat = reply[2]
        jobs = []
        parsed = self._parsed_opts
        for i in range(0, len(flat), 8):
            attempt = int(flat[i + 3])
            raw = flat[i + 2]
            # Most jobs of a queue share the same options: parse each distinct string once.
            opts = parsed.get(raw)
            if opts is None:
                opts = parsed[raw] = decode_options(raw)
                if len(parsed) > 256:
                    parsed.clear()
            jobs.append(
                ClaimedJob(
                    flat[i],
                    flat[i + 1],
                    opts,
                    attempt,
                    flat[i + 4],
                    int(flat[i + 5]),
                    f"{worker}:{attempt}",
                    flat[i + 6],
                    flat[i + 7],
                )
            )
        return ClaimResult(ClaimCode(reply[0]), int(reply[1]), jobs, list(reply[3]), now)

    async def claim(self, worker: str, n: int) -> ClaimResult:
        """Claim up to ``n`` jobs under the queue's limits, with leases."""
        now = self.clock()
        reply = await self._run("claim", [now, worker, n, *self._limits])
        return self._claim_result(reply, worker, now)

    async def settle(
        self, worker: str, outcomes: Sequence[Outcome], claim: int = 0
    ) -> tuple[list[int], ClaimResult]:
        """Record finished jobs and claim up to ``claim`` more, in one round trip.

        Returns one code per outcome (1 settled, -1 missing, -2 lease lost) and the claim.
        """
        now = self.clock()
        args: list[Any] = [now, worker, claim, *self._limits, *self._retention, len(outcomes)]
        others: list[tuple[int, str, int, str, str]] = []
        for i, o in enumerate(outcomes, start=1):
            job = o.job
            args += (job.id, job.token, o.kind, job.group)
            # What the claim read of the job comes back, so settle.lua reads only its lock.
            if o.payload != "null" or o.retry_at or job.dedup or job.key_group:
                others.append((i, o.payload, o.retry_at, job.dedup, job.key_group))
        args.append(json.dumps(others, ensure_ascii=False, separators=(",", ":")) if others else "")
        codes, claimed = await self._run("settle", args)
        return [int(c) for c in codes], self._claim_result(claimed, worker, now)

    async def extend(self, jobs: Sequence[ClaimedJob], lease_ms: int) -> list[str]:
        """Extend the leases of held jobs; returns the ids whose lease was lost."""
        return (await self.heartbeat(jobs, lease_ms))[0]

    async def heartbeat(
        self, jobs: Sequence[ClaimedJob], lease_ms: int
    ) -> tuple[list[str], list[str]]:
        """Extend the leases of held jobs; returns (ids lost, ids asked to cancel)."""
        args: list[Any] = [self.clock(), lease_ms]
        for job in jobs:
            args.extend((job.id, job.token))
        lost, cancelling = await self._run("extend", args)
        return list(lost), list(cancelling)

    async def progress(self, job_id: str, token: str, value: Any) -> None:
        """Record a running job's progress (raises if the lease was lost)."""
        require_identifier(job_id, "job id")
        code = await self._run("progress", [job_id, token, json.dumps(value)])
        raise_for_code(int(code), job_id)

    async def recover_stalled(self, limit: int = 1000) -> tuple[list[str], list[str]]:
        """Requeue (or fail) jobs whose lease expired; returns (requeued, failed) ids."""
        args = [self.clock(), self.definition.max_stalls, limit, self.definition.group_concurrency]
        requeued, failed = await self._run("recover", args)
        return list(requeued), list(failed)

    async def release(self, jobs: Sequence[ClaimedJob]) -> int:
        """Hand back claimed jobs that were not started; their attempt is not counted."""
        if not jobs:
            return 0
        args: list[Any] = [self.definition.group_concurrency]
        for job in jobs:
            args.extend((job.id, job.token))
        return int(await self._run("release", args))

    # -- admin ---------------------------------------------------------------------

    async def cancel(self, job_id: str) -> None:
        """Cancel a waiting or delayed job."""
        require_identifier(job_id, "job id")
        args = [self.clock(), job_id, *self._cancelled_retention()]
        raise_for_code(int(await self._run("cancel", args)), job_id)

    async def retry(self, job_id: str) -> None:
        """Queue a failed or cancelled job again with a fresh attempt budget."""
        require_identifier(job_id, "job id")
        args = [self.clock(), job_id, self.definition.group_concurrency]
        raise_for_code(int(await self._run("retry", args)), job_id)

    async def promote(self, job_id: str) -> None:
        """Make a delayed job (or one backing off before a retry) due now."""
        require_identifier(job_id, "job id")
        args = [job_id, self.definition.group_concurrency]
        raise_for_code(int(await self._run("promote", args)), job_id)

    async def pause(self) -> bool:
        return int(await self._run("pause", [1])) == 1

    async def resume(self) -> bool:
        return int(await self._run("pause", [0])) == 1

    async def counts(self) -> QueueCounts:
        """The queue's jobs by status, as Redis holds them (``dead_letter`` is 0 here: the
        job table counts those)."""
        w, a, d, c, f, x, p = (int(n) for n in await self._run("counts", []))
        return QueueCounts(
            name=self.name,
            pending=w + d,
            waiting=w,
            delayed=d,
            processing=a,
            completed=c,
            failed=f,
            cancelled=x,
            paused=bool(p),
            dead_letter=0,
        )

    async def list_jobs(
        self, state: JobState, offset: int = 0, limit: int = 50
    ) -> tuple[int, list[Job]]:
        """A page of jobs in ``state`` and the total in that state."""
        reply = await self._run("list_jobs", [state.value, offset, limit])
        jobs = [self._decode(job_id, fields) for job_id, fields in reply[1:]]
        return int(reply[0]), [job for job in jobs if job is not None]

    async def clean(self, state: JobState, grace_ms: int = 0, limit: int = 1000) -> list[str]:
        """Remove finished jobs older than ``grace_ms``, or cancel such pending ones."""
        args = [self.clock(), state.value, grace_ms, limit, *self._cancelled_retention()]
        return list(await self._run("clean", args))

    def _cancelled_retention(self) -> tuple[int, int]:
        """(keep, max age ms) of the cancelled set: cancelled jobs are kept as failed ones."""
        retention = self.definition.retention
        return retention.failed_count, retention.failed_age_ms

    async def throughput(self, minutes: int = 60) -> list[MinuteCount]:
        """Completed and failed jobs per minute, oldest first (at most the last hour)."""
        flat = await self._run("throughput", [self.clock(), max(1, min(minutes, 60))])
        return [
            MinuteCount(
                minute=int(flat[i]) * 60_000, completed=int(flat[i + 1]), failed=int(flat[i + 2])
            )
            for i in range(0, len(flat), 3)
        ]

    async def get_job(self, job_id: str) -> Job | None:
        """The job as Redis holds it, or None."""
        require_identifier(job_id, "job id")
        fields = await self.redis.hgetall(self.keys.job(job_id))
        return self._decode(job_id, fields)

    def _decode(self, job_id: str, fields: Any) -> Job | None:
        if not fields:
            return None
        if isinstance(fields, list):
            fields = dict(zip(fields[::2], fields[1::2], strict=True))
        return decode_job(self.name, job_id, fields, self.shaper.defaults()[1])
