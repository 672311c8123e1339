"""Stalled jobs, as a drainer sees them: how often to look, when a blocked claim means a
lease already ran out, and taking such jobs back."""

from __future__ import annotations

from corral.drain_hooks import DrainHooks, DrainStats
from corral.queue import ClaimResult, Queue


def housekeeping_interval(queue: Queue, stall_check_ms: int) -> float:
    """Seconds between heartbeats and stall checks: well inside the shortest lease."""
    lease = queue.lease
    shortest = min(queue.definition.timeout_ms, lease.cap_ms) + lease.margin_ms
    return min(stall_check_ms, shortest / 3) / 1000


def lease_ran_out(result: ClaimResult | None) -> bool:
    """The claim was blocked by leases and the earliest of them has already run out."""
    return result is not None and result.code.held_by_leases and result.hint_ms == 0


async def recover_stalled(queue: Queue, stats: DrainStats, hooks: DrainHooks) -> int:
    """Requeue (or fail) jobs whose lease ran out; returns how many were taken back."""
    requeued, failed = await queue.recover_stalled()
    stats.stalled_requeued += len(requeued)
    stats.stalled_failed += len(failed)
    if requeued:
        await hooks.stalled(requeued)
    if failed:
        await hooks.failed_elsewhere(failed, "stalled")
    return len(requeued) + len(failed)
