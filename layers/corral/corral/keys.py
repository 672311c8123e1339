"""Every Redis key corral uses, formatted in this one module.

All keys of a queue share the hash tag ``{queue}`` so that each Lua script touches a
single hash slot and runs unchanged on Redis Cluster and ElastiCache Serverless.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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


NAMED = (
    "prefix",
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
    "marker",
    "limits",
    "wchildren",
    "kgactive",
    "kgversion",
    "poller",
    "pollers",
)
"""The names a script may declare in its ``KEYS:`` header line (see ``scripts``): the
queue's fixed keys, each ``<base><name>``; ``prefix`` is the base itself, from which the
scripts format the keys named by an id (``includes/keys.lua``)."""


@dataclass(frozen=True)
class QueueKeys:
    """The keys of one queue: the fixed ones by name, the others by id."""

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

    def named(self, name: str) -> str:
        """One fixed key by its name in ``NAMED``."""
        if name not in NAMED:
            raise ValueError(f"no queue key is named {name!r}")
        return self.base if name == "prefix" else self.base + name

    def script_keys(self, names: Sequence[str]) -> list[str]:
        """``KEYS`` for a script that declares ``names``, in that order."""
        return [self.named(name) for name in names]

    @property
    def wake(self) -> str:
        return self.base + "wake"

    @property
    def meta(self) -> str:
        return self.base + "meta"

    @property
    def delayed(self) -> str:
        """Zset of the delayed jobs (and retries backing off) by due time."""
        return self.base + "delayed"

    @property
    def limits(self) -> str:
        """Limits set at runtime (``corral.limits``), read by every claim."""
        return self.base + "limits"

    @property
    def waiting_children(self) -> str:
        """Zset of the flow parents waiting for their children (by creation time)."""
        return self.base + "wchildren"

    @property
    def key_groups_active(self) -> str:
        """Hash: key group id -> its jobs running now."""
        return self.base + "kgactive"

    @property
    def key_groups_version(self) -> str:
        """The version of the key groups' runtime limits Redis holds (missing: none seeded)."""
        return self.base + "kgversion"

    def job(self, job_id: str) -> str:
        return f"{self.base}job:{job_id}"

    def logs(self, job_id: str) -> str:
        """The job's log lines (a list kept and deleted with the job's hash)."""
        return f"{self.base}logs:{job_id}"

    def dedup(self, dedup_id: str) -> str:
        return f"{self.base}dedup:{dedup_id}"

    def group(self, group: str) -> str:
        """Zset of a group's (tenant's) waiting jobs, by priority then sequence."""
        return f"{self.base}group:{group}"

    def key_group(self, key_id: str) -> str:
        """Hash of a key group's limits set at runtime."""
        return f"{self.base}kg:{key_id}"

    def key_group_rate(self, key_id: str) -> str:
        """Zset of a key group's recent starts (its rate window)."""
        return f"{self.base}kg:{key_id}:rate"

    def key_group_parked(self, key_id: str) -> str:
        """Set of the tenants whose lane of a key group is held at its limits."""
        return f"{self.base}kg:{key_id}:parked"

    def lane(self, group: str, key_id: str) -> str:
        """Zset of a tenant's waiting jobs of one key group (as ``group``)."""
        return f"{self.base}group:{group}:kg:{key_id}"

    def lanes_turn(self, group: str) -> str:
        """List of a tenant's lanes in turn (key group ids; '' names ``group``)."""
        return f"{self.base}kring:{group}"

    @property
    def key_group_lanes(self) -> str:
        """Set of every lane holding jobs, as ``<tenant>:<key group id>``."""
        return self.base + "kglanes"

    @property
    def key_groups_waiting(self) -> str:
        """Hash: tenant -> its jobs waiting in key group lanes."""
        return self.base + "kgwaiting"

    @property
    def key_groups_held(self) -> str:
        """Zset: key group id -> when its rate window lets its held lanes start again."""
        return self.base + "kgheld"

    @property
    def key_groups_limited(self) -> str:
        """Set of the key group ids with limits set at runtime."""
        return self.base + "kglimited"

    def child_results(self, job_id: str) -> tuple[str, str]:
        """A flow parent's hashes of its children's results and failures."""
        return f"{self.base}job:{job_id}:results", f"{self.base}job:{job_id}:failures"

    def minute(self, epoch_minute: int) -> str:
        """Hash of one minute's completed and failed counts (the dashboard's throughput)."""
        return f"{self.base}minute:{epoch_minute}"

    @property
    def marker(self) -> str:
        """Set while Redis holds this queue; missing, Redis lost it (see ``index_marker``)."""
        return self.base + "marker"

    def poller_flag(self) -> str:
        """Set while a poller of this queue is running (the API's wake-up decision)."""
        return self.named("poller")

    def tallies(self) -> str:
        """The set of daily tallies (``day|tenant``) with counts not yet flushed."""
        return self.base + "x:tallies"

    def tally(self, member: str) -> tuple[str, str, str]:
        """A daily tally's live hash, its snapshot being flushed, and its last flush id."""
        return (
            f"{self.base}x:tally:{member}",
            f"{self.base}x:tally-flush:{member}",
            f"{self.base}x:tally-id:{member}",
        )

    def scratch(self, name: str) -> str:
        """A key in the queue's slot for features built on top of the engine."""
        return f"{self.base}x:{name}"


def tenant_bucket(prefix: str, tenant: str) -> str:
    """A tenant's enqueue-rate bucket, in a slot of its own (``{t.<tenant>}``: queue names
    have no dot, so no queue's hash tag can be the same)."""
    if not valid_identifier(tenant) or KEY_PREFIX.fullmatch(prefix) is None:
        raise ValueError("invalid tenant or key prefix")
    return f"{prefix}:{{t.{tenant}}}:rate"
