"""Every Redis key corral uses, formatted in this one module.

All keys of a queue share the hash tag ``{queue}`` so that each Lua script touches a
single hash slot and runs unchanged on Redis Cluster and ElastiCache Serverless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "corral"

QUEUE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
"""Queue names: lower case, digits, ``-`` and ``_``; nothing that could break a key."""

IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
"""Job ids, dedup ids, schedule ids and group (tenant) names."""

KEY_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
"""Key prefixes: no braces, so the queue's ``{hash tag}`` is the first one in every key."""


def webhooks_version(prefix: str = PREFIX) -> str:
    """Bumped at every webhook registration change: dispatchers drop their cached copy."""
    return f"{prefix}:webhooks:version"


def sign_in_link(digest: str, prefix: str = PREFIX) -> str:
    """A dashboard sign-in link's entry, named by the digest of the link's id."""
    return f"{prefix}:signin:{digest}"


def valid_queue_name(name: str) -> bool:
    """Whether ``name`` may name a queue."""
    return QUEUE_NAME.fullmatch(name) is not None


def valid_identifier(value: str) -> bool:
    """Whether ``value`` may be used as an id inside a key."""
    return IDENTIFIER.fullmatch(value) is not None


FIXED = (
    "meta",
    "ring",
    "parked",
    "gactive",
    "active",
    "delayed",
    "completed",
    "failed",
    "cancelled",
    "limiter",
    "wake",
)


@dataclass(frozen=True)
class QueueKeys:
    """The keys of one queue, in the order the Lua scripts expect them."""

    queue: str
    prefix: str = PREFIX

    def __post_init__(self) -> None:
        # Every key of the queue is formatted from these two; refuse them before any is.
        if not valid_queue_name(self.queue):
            raise ValueError(f"invalid queue name {self.queue!r}")
        if KEY_PREFIX.fullmatch(self.prefix) is None:
            raise ValueError(f"invalid key prefix {self.prefix!r}")

    @property
    def base(self) -> str:
        return f"{self.prefix}:{{{self.queue}}}:"

    @property
    def script_keys(self) -> list[str]:
        """``KEYS`` for every script: the base first, then the fixed keys."""
        return [self.base, *(self.base + name for name in FIXED)]

    @property
    def wake(self) -> str:
        return self.base + "wake"

    @property
    def meta(self) -> str:
        return self.base + "meta"

    @property
    def limits(self) -> str:
        """Limits set at runtime (``corral.limits``), read by every claim."""
        return self.base + "limits"

    @property
    def waiting_children(self) -> str:
        """Zset of the flow parents waiting for their children (by creation time)."""
        return self.base + "wchildren"

    def job(self, job_id: str) -> str:
        return f"{self.base}job:{job_id}"

    def logs(self, job_id: str) -> str:
        """The job's log lines (a list kept and deleted with the job's hash)."""
        return f"{self.base}logs:{job_id}"

    def dedup(self, dedup_id: str) -> str:
        return f"{self.base}dedup:{dedup_id}"

    def poller_flag(self) -> str:
        """Set while a poller of this queue is running (the API's wake-up decision)."""
        return self.base + "poller"

    def scratch(self, name: str) -> str:
        """A key in the queue's slot for features built on top of the engine."""
        return f"{self.base}x:{name}"


def tenant_bucket(prefix: str, tenant: str) -> str:
    """A tenant's enqueue-rate bucket, in a slot of its own (``{t.<tenant>}``: queue names
    have no dot, so no queue's hash tag can be the same)."""
    if not valid_identifier(tenant) or KEY_PREFIX.fullmatch(prefix) is None:
        raise ValueError("invalid tenant or key prefix")
    return f"{prefix}:{{t.{tenant}}}:rate"
