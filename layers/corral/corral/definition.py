"""One definition per queue: everything the API, pollers, template and dashboard read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from pydantic import BaseModel

from corral.errors import UnknownQueueError
from corral.job import Backoff
from corral.keys import valid_queue_name

if TYPE_CHECKING:
    from corral.context import JobContext

Handler = Callable[[Any, "JobContext"], Any | Awaitable[Any]]
"""``handler(payload, job)``: sync or async; its return value is the job's result."""


@dataclass(frozen=True)
class RateLimit:
    """At most ``max`` jobs start in any window of ``duration_ms``, across all pollers."""

    max: int
    duration_ms: int = 1000

    def __post_init__(self) -> None:
        if self.max < 1 or self.duration_ms < 1:
            raise ValueError("a rate limit needs max >= 1 and duration_ms >= 1")


@dataclass(frozen=True)
class Retention:
    """How many finished jobs Redis keeps, and for how long (``-1`` / ``0`` = no bound).

    Cancelled jobs are kept under the ``failed_*`` bounds, in a set of their own.
    """

    completed_count: int = 1000
    completed_age_ms: int = 86_400_000
    failed_count: int = 10_000
    failed_age_ms: int = 7 * 86_400_000


def tenant_of(payload: Any) -> str | None:
    """Default group: the payload's tenant (``subAccountId``), if it has one."""
    cls = type(payload)
    may = _tenanted.get(cls)
    if may is None:
        may = _tenanted[cls] = _may_have_tenant(cls)
    return getattr(payload, "sub_account_id", None) if may else None


_tenanted: WeakKeyDictionary[type, bool] = WeakKeyDictionary()
"""Per payload class: whether its instances may have a tenant. A pydantic model answers
a missing attribute with a raised and caught ``AttributeError``: about 2 µs per job on a
queue whose payload has no tenant, when asked of each payload."""


def _may_have_tenant(cls: type) -> bool:
    if not issubclass(cls, BaseModel) or cls.model_config.get("extra") == "allow":
        return True
    return "sub_account_id" in cls.model_fields or hasattr(cls, "sub_account_id")


@dataclass(frozen=True)
class QueueDefinition:
    """A typed queue.

    Attributes:
        name: queue name, also its Redis hash tag.
        payload: pydantic model every job's data must validate against.
        handler: ``handler(payload, job)``, sync or async.
        concurrency: most jobs running at once across all pollers (0 = no limit).
        rate_limit: most jobs started per window across all pollers.
        group_concurrency: most jobs of one group (tenant) running at once (0 = no limit).
        attempts, backoff, timeout_ms: defaults for jobs that do not set them.
        retention: how many finished jobs Redis keeps.
        max_stalls: lease expiries a job survives before it fails.
        poller_memory_mb, poller_timeout_s: the poller function's size in the template.
        events_include_payload: lifecycle events carry the job's data (off: ids only).
        task_name: what lists call a job, from its data (None, or None returned: the
            queue's name).
        grants: what the handler calls beyond the engine, by name (``send-email``,
            ``send-sms``, ...); the template gives the queue's poller only these permissions
            (infra/deploy/queues.py maps each name to a policy).
        extras: the optional dependencies (pyproject extras, ``imaging``) the handler imports
            beyond what every function has; the template adds their layer to the queue's
            poller only.
    """

    name: str
    payload: type[BaseModel]
    handler: Handler
    concurrency: int = 0
    rate_limit: RateLimit | None = None
    group_concurrency: int = 0
    attempts: int = 3
    backoff: Backoff = field(default_factory=Backoff)
    timeout_ms: int = 30_000
    retention: Retention = field(default_factory=Retention)
    max_stalls: int = 1
    group_by: Callable[[Any], str | None] = tenant_of
    poller_memory_mb: int = 512
    poller_timeout_s: int = 300
    description: str = ""
    events_include_payload: bool = False
    task_name: Callable[[Any], str | None] | None = None
    grants: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()

    def name_of(self, data: Any) -> str:
        """The name lists show for a job with ``data``."""
        named = self.task_name(data) if self.task_name is not None else None
        return named or self.name

    def __post_init__(self) -> None:
        if not valid_queue_name(self.name):
            raise ValueError(f"invalid queue name {self.name!r}")
        if self.concurrency < 0 or self.group_concurrency < 0:
            raise ValueError("concurrency limits cannot be negative")


class QueueRegistry:
    """The queues a deployment defines, by name."""

    def __init__(self, definitions: Iterable[QueueDefinition] = ()) -> None:
        self._queues: dict[str, QueueDefinition] = {}
        for definition in definitions:
            self.add(definition)

    def add(self, definition: QueueDefinition) -> QueueDefinition:
        if definition.name in self._queues:
            raise ValueError(f"queue {definition.name!r} is defined twice")
        self._queues[definition.name] = definition
        return definition

    def get(self, name: str) -> QueueDefinition:
        try:
            return self._queues[name]
        except KeyError:
            raise UnknownQueueError(f"unknown queue {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._queues

    def __iter__(self) -> Iterator[QueueDefinition]:
        return iter(self._queues.values())

    def names(self) -> list[str]:
        return list(self._queues)
