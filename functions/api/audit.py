"""The audit trail of admin actions: who did what to whose job.

An admin may cancel, retry and redrive any tenant's jobs (queue-wide operations already
need the admin scope, and an operator must be able to act on what it can see). Each such
action on another tenant's job writes one line: who (the admin's tenant and key id),
whose job (its tenant), what (the action), where (queue, job id). Queue-wide actions
(pause, resume, clean) write one line each. The lines go to the ``corral.audit`` logger
at WARNING, so the default Lambda log level keeps them.
"""

from __future__ import annotations

import logging

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
