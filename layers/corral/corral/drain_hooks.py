"""What plugs into the drain loop (hooks) and what it reports (stats)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from corral.queue import ClaimCode, ClaimedJob, Outcome, OutcomeCounts


class DrainHooks:
    """What a deployment plugs into the loop; the defaults keep everything in Redis only."""

    async def persist(self, outcomes: Sequence[Outcome]) -> Sequence[str]:
        """Make outcomes durable before Redis forgets them; return ids that could not be.

        Outcomes whose ids come back are kept, their leases extended, and tried again.
        """
        return ()

    async def claimed(self, jobs: Sequence[ClaimedJob]) -> None:
        """Jobs that just started."""

    async def failed_elsewhere(self, job_ids: Sequence[str], reason: str) -> None:
        """Jobs that Redis failed by itself: ttl expired before start, or stalled too often."""

    async def progressed(self, updates: Sequence[tuple[ClaimedJob, Any]]) -> None:
        """Progress values just written for running jobs (the latest per job)."""

    async def stalled(self, job_ids: Sequence[str]) -> None:
        """Jobs whose lease lapsed and that Redis put back to run again."""

    async def drained(self) -> None:
        """The queue had nothing left to run when this drainer went idle."""


@dataclass
class DrainStats(OutcomeCounts):
    """What a drainer did: its settled outcomes (``OutcomeCounts``) and the rest."""

    claimed: int = 0
    lease_lost: int = 0
    released: int = 0
    expired: int = 0
    stalled_requeued: int = 0
    stalled_failed: int = 0
    settle_calls: int = 0
    too_long: int = 0
    """Waiting jobs whose timeout could not fit before the deadline even at the run's start."""
    last_code: ClaimCode | None = None
    """What the last claim answered: why an idle drainer left (empty, or a limit)."""
    idle_ms: float = 0.0
    """Time spent waiting with nothing to run (what a Lambda bills for nothing)."""

    def add_settled(self, outcomes: Sequence[Outcome], codes: Sequence[int]) -> None:
        """Count a settle's answers: 1 settled the outcome; anything else, the lease was
        lost (another worker holds the job, or it is gone)."""
        for outcome, code in zip(outcomes, codes, strict=True):
            if code != 1:
                self.lease_lost += 1
            else:
                self.add_outcome(outcome.kind)


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
