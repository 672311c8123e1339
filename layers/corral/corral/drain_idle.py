"""When an idle drainer leaves, and how it waits for work until then."""

from __future__ import annotations

import asyncio
import time

from corral.queue import ClaimCode, ClaimResult, Queue

REDIS_TICK_MS = 100
"""Redis's cron period at its default ``hz`` of 10: an idle server checks blocking
commands' timeouts only this often."""

TIMER_SLACK_MS = 1
"""How early by ``time.monotonic()`` a sleep may end: uvloop's timers run on a millisecond
clock read once per turn of the loop. A linger slept out counts as over."""


class Linger:
    """An idle drainer's linger: how long it stays for new work, and its waits meanwhile.

    Args:
        queue: the queue drained.
        linger_ms: once idle, how long to stay (None: until the deadline; 0: until the
            queue is empty, a limit being waited out).
        empty_linger_ms: the linger once the queue is empty, if not ``linger_ms`` (a
            linger at a limit is what tells a caller that the limit holds).
        idle_wait_ms: the longest single wait on the queue's wake-up list.
    """

    def __init__(
        self,
        queue: Queue,
        linger_ms: int | None,
        empty_linger_ms: int | None,
        idle_wait_ms: int,
    ) -> None:
        self.queue = queue
        self.linger_ms = linger_ms
        self.empty_linger_ms = linger_ms if empty_linger_ms is None else empty_linger_ms
        self.idle_wait_ms = idle_wait_ms
        self._lease_end_seen: int | None = None

    def until_empty(self) -> None:
        self.linger_ms = self.empty_linger_ms = 0

    def over(self, idle_since: float, result: ClaimResult | None) -> bool:
        """Whether a drainer idle since ``idle_since`` (monotonic s) may leave now."""
        if self._behind_unrenewed_lease(result):
            return False
        empty = result is not None and result.code is ClaimCode.EMPTY
        linger = self.empty_linger_ms if empty else self.linger_ms
        if linger is None:
            return False
        if linger == 0 and not empty:
            return False  # "until empty": a limit is waited out
        waited_ms = (time.monotonic() - idle_since) * 1000
        return waited_ms + TIMER_SLACK_MS >= linger

    def _behind_unrenewed_lease(self, result: ClaimResult | None) -> bool:
        """Whether jobs wait behind a lease nobody has renewed since the last claim.

        Its holder may be dead, and then the slot is ours once the lease runs out: stay for
        it. A later earliest lease end (a heartbeat, or a new lease in a freed slot) shows
        the holders alive, so the limit is real and an idle drainer may leave.
        """
        if result is None or not result.code.held_by_leases or result.hint_ms < 0:
            self._lease_end_seen = None
            return False
        if result.hint_ms == 0:
            return True  # one has run out: recovering it is due, not leaving
        ends = result.at + result.hint_ms
        seen, self._lease_end_seen = self._lease_end_seen, ends
        return seen is None or ends <= seen

    async def wait(self, result: ClaimResult | None, deadline: float | None) -> float:
        """Wait for work: on the queue's wake-up list, or a sleep for a short wait.
        Returns the ms waited."""
        timeout_ms = self.idle_wait_ms
        # Paused, only a resume helps; at a limit, a settle (which wakes us) or a lease
        # running out (the hint) does.
        if result is not None and result.code is not ClaimCode.PAUSED and result.hint_ms >= 0:
            timeout_ms = min(timeout_ms, max(result.hint_ms, 1))
        if self.linger_ms:
            timeout_ms = min(timeout_ms, self.linger_ms)
        if deadline is not None:
            left_ms = (deadline - time.monotonic()) * 1000
            timeout_ms = max(1, min(timeout_ms, int(left_ms)))
        started = time.monotonic()
        if timeout_ms < REDIS_TICK_MS:
            # An idle Redis ends a blocking wait only at its next tick: BLPOP for 25 ms
            # returns after up to 100, all billed. A short sleep ends on time.
            await asyncio.sleep(timeout_ms / 1000)
        else:
            await self.queue.redis.blpop([self.queue.keys.wake], timeout=timeout_ms / 1000)
        return (time.monotonic() - started) * 1000
