"""What ``enqueue.lua`` takes for each job: its payload validated, its group chosen, and its
options resolved against the queue's defaults and encoded, in the script's field order."""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from pydantic import BaseModel

from corral.definition import QueueDefinition
from corral.errors import InvalidIdentifierError
from corral.ids import new_job_id
from corral.job import JobOptions, ResolvedOptions
from corral.keys import valid_identifier
from corral.queue_types import NewJob, encode_options

DEFAULT_GROUP = "default"
NO_OPTIONS = ["", 0, 0, "", 0, "", "", 0, 0]
"""``enqueue.lua``'s fields after (id, group, data) of a job that sets no option."""


class Shaped(NamedTuple):
    job_id: str
    group: str
    data_json: str
    options: JobOptions
    """The job's own options (its id and dedup settings)."""
    resolved: ResolvedOptions
    opts_json: str
    """``resolved`` as the scripts take it."""


@cache
def default_options() -> JobOptions:
    """A job's options when it sets none (built on first use: models build lazily)."""
    return JobOptions()


VALID_GROUPS_KEPT = 10_000
"""Most valid groups a shaper remembers (then it forgets them all and starts again)."""


class JobShaper:
    """Shapes one queue's new jobs for ``enqueue.lua``; its defaults resolved once."""

    def __init__(self, definition: QueueDefinition) -> None:
        self.definition = definition
        self._defaults: tuple[ResolvedOptions, str] | None = None
        self._valid_groups: set[str] = set()
        """Groups already found valid: a queue's jobs repeat a few tenants, and the check
        is a regular expression (a tenth of a single enqueue's Python)."""

    def validate(self, data: Any) -> BaseModel:
        """Validate a payload against the queue's model (raises pydantic's ValidationError)."""
        if isinstance(data, self.definition.payload):
            return data
        return self.definition.payload.model_validate(data)

    def resolve(self, opts: JobOptions, attempts: int | None = None) -> ResolvedOptions:
        """The options Redis keeps with a job: its own, with the queue's defaults filled in.
        Enqueue and restore both use it, so a restored job is the job enqueued.

        Args:
            opts: the job's own options.
            attempts: its attempt budget when ``opts`` sets none (default: the queue's; a
                restore passes the budget recorded at enqueue).
        """
        d = self.definition
        return ResolvedOptions(
            attempts=opts.attempts or attempts or d.attempts,
            backoff=opts.backoff or d.backoff,
            timeout=opts.timeout or d.timeout_ms,
            priority=opts.priority,
            delay=opts.delay,
            ttl=opts.ttl or None,
            # Carried with the job so the poller's events can reach it without a read.
            webhook=opts.webhook,
            # Read by the scripts (includes/key_groups.lua): the key group and its limits.
            group=opts.group,
        )

    def defaults(self) -> tuple[ResolvedOptions, str]:
        """The options of a job that sets none, resolved and encoded once per queue."""
        if self._defaults is None:
            resolved = self.resolve(default_options())
            self._defaults = resolved, encode_options(resolved)
        return self._defaults

    def _group(self, job: NewJob, payload: BaseModel) -> str:
        group = job.group or self.definition.group_by(payload) or DEFAULT_GROUP
        if group not in self._valid_groups:
            if not valid_identifier(group):
                raise InvalidIdentifierError(f"invalid group {group!r}")
            if len(self._valid_groups) >= VALID_GROUPS_KEPT:
                self._valid_groups.clear()
            self._valid_groups.add(group)
        return group

    def plain(self, job: NewJob, now: int) -> list[Any] | None:
        """``enqueue.lua``'s (id, group, data) of a job that sets no option and is no part
        of a flow (most jobs), which is all the script needs of it; None for another job.

        The same fields as ``fields`` gives, without resolving and comparing options that
        are the queue's defaults anyway. The data is the JSON bytes pydantic's serializer
        writes: ``model_dump_json`` wraps the same call in more than as much Python again,
        and decodes the bytes that packing the command encodes once more.
        """
        if job.options is not None or job.parent is not None or job.flow_root:
            return None
        payload = self.validate(job.data)
        group = self._group(job, payload)
        data = type(payload).__pydantic_serializer__.to_json(payload, by_alias=True)
        return [new_job_id(now), group, data]

    def shape(self, job: NewJob, now: int) -> Shaped:
        """A job validated, its group chosen, its options resolved and encoded."""
        payload = self.validate(job.data)
        group = self._group(job, payload)
        if job.options is None:
            # Most jobs take the queue's defaults: resolve and encode those once per queue.
            opts = default_options()
            resolved, opts_json = self.defaults()
        else:
            opts = job.options
            resolved = self.resolve(opts)
            opts_json = ""
        if job.parent is not None or job.flow_root:
            # Flows: the poller that settles a child finds its parent here, without a read;
            # a root parent's settling (run or failed) raises the flow's event.
            flow = {"parent": job.parent, "flow_root": job.flow_root or None}
            resolved = resolved.model_copy(update=flow)
            opts_json = ""
        return Shaped(
            opts.job_id or new_job_id(now),
            group,
            payload.model_dump_json(by_alias=True),
            opts,
            resolved,
            opts_json or encode_options(resolved),
        )

    def fields(self, job: NewJob, now: int) -> list[Any]:
        """``enqueue.lua``'s fields for one job (Python to Lua)."""
        shaped = self.shape(job, now)
        opts, resolved = shaped.options, shaped.resolved
        dedup = opts.deduplication
        return [
            shaped.job_id,
            shaped.group,
            shaped.data_json,
            shaped.opts_json,
            resolved.priority,
            resolved.delay,
            resolved.timeout,
            now + resolved.delay + resolved.ttl if resolved.ttl else 0,
            dedup.id if dedup else "",
            dedup.mode.value if dedup else "",
            (dedup.ttl or 0) if dedup else 0,
            1 if opts.job_id else 0,
        ]
