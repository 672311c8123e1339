"""The audit trail of admin actions: who did what to whose job.

An admin may cancel, retry and redrive any tenant's jobs (queue-wide operations already
need the admin scope, and an operator must be able to act on what it can see). Each such
action on another tenant's job writes one line: who (the admin's tenant and key id),
whose job (its tenant), what (the action), where (queue, job id). Queue-wide actions
(pause, resume, clean) and key-group limit changes (with the limits before and after)
write one line each. The lines go to the ``corral.audit`` logger
at WARNING, so the default Lambda log level keeps them.
"""

from __future__ import annotations

import logging
from typing import Any

from api.auth import Caller

logger = logging.getLogger("corral.audit")


def job_action(caller: Caller, action: str, queue: str, job_id: str, owner: str) -> None:
    """Record an admin's ``action`` on another tenant's job (nothing for one's own)."""
    if not caller.admin or owner == caller.tenant:
        return
    logger.warning(
        "audit: admin %s of tenant %s did %s on job %s of tenant %s in queue %s",
        caller.key_id or "?",
        caller.tenant,
        action,
        job_id,
        owner,
        queue,
        extra={
            "audit": {
                "who": {"tenant": caller.tenant, "keyId": caller.key_id},
                "owner": owner,
                "action": action,
                "queue": queue,
                "jobId": job_id,
            }
        },
    )


def queue_action(caller: Caller, action: str, queue: str, detail: str = "") -> None:
    """Record a queue-wide admin action (it may touch every tenant's jobs)."""
    logger.warning(
        "audit: admin %s of tenant %s did %s on queue %s%s",
        caller.key_id or "?",
        caller.tenant,
        action,
        queue,
        f" ({detail})" if detail else "",
        extra={
            "audit": {
                "who": {"tenant": caller.tenant, "keyId": caller.key_id},
                "action": action,
                "queue": queue,
            }
        },
    )


def key_group_limits(
    caller: Caller, queue: str, group: str, old: dict[str, Any], new: dict[str, Any]
) -> None:
    """Record a change of a key group's runtime limits (it holds back jobs of any tenant)."""
    logger.warning(
        "audit: admin %s of tenant %s did set-group-limits on queue %s key group %s: %s -> %s",
        caller.key_id or "?",
        caller.tenant,
        queue,
        group,
        old,
        new,
        extra={
            "audit": {
                "who": {"tenant": caller.tenant, "keyId": caller.key_id},
                "action": "set-group-limits",
                "queue": queue,
                "group": group,
                "old": old,
                "new": new,
            }
        },
    )
