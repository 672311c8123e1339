"""The drain loop pollers call: claim batches, run handlers with bounded concurrency,
settle in batches, heartbeat, and stop cleanly before a deadline."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from corral.drain_cancel import CHECK_S as CANCEL_CHECK_S
from corral.drain_cancel import CancelRequests
from corral.drain_deadline import RunDeadline
from corral.drain_hooks import DrainHooks, DrainStats, default_worker_id
from corral.drain_idle import Linger
from corral.drain_reports import JobReports
from corral.drain_stalls import housekeeping_interval, lease_ran_out, recover_stalled
from corral.execute import JobExecutor
from corral.queue import ClaimCode, ClaimedJob, ClaimResult, Outcome, Queue

__all__ = ["DrainHooks", "DrainStats", "Drainer", "default_worker_id"]

logger = logging.getLogger(__name__)

PERSIST_RETRY_S = 0.5
"""After a failed persist, wait this long before trying those outcomes again."""
START_MARGIN_MS = 1000
"""A job starts only if its timeout plus this much fits before the deadline."""
BUSY_POLL_MAX_MS = 250
"""While its jobs run and nothing more waits, a drainer asks for more at ``flush_ms``,
then less and less often, up to this far apart: a job that runs for a minute does not
cost three thousand empty claims."""


class Drainer:
    """Drains one queue until a deadline, or until it stays empty for ``linger_ms``.

    Args:
        queue: the queue to drain.
        concurrency: most handlers running at once in this process.
        batch_size: most jobs claimed per round trip; also the prefetch bound.
        linger_ms: once idle, how long to wait for new work before returning
            (None: until the deadline).
        hooks: persistence and notifications (see ``DrainHooks``).
        start_margin_ms: never start a job unless its timeout plus this fits before the deadline.
        claim_after_linger: claim once more when the linger is over (False: the caller
            looks at the queue itself when the drainer returns, as a poller's round does).
        empty_linger_ms: the linger once the queue is empty, if not ``linger_ms`` (a
            linger at a limit is what tells a caller that the limit holds).
    """

    def __init__(
        self,
        queue: Queue,
        *,
        concurrency: int = 8,
        batch_size: int | None = None,
        linger_ms: int | None = None,
        hooks: DrainHooks | None = None,
        worker_id: str | None = None,
        idle_wait_ms: int = 1000,
        flush_ms: int = 20,
        stall_check_ms: int = 5000,
        start_margin_ms: int = START_MARGIN_MS,
        claim_after_linger: bool = True,
        empty_linger_ms: int | None = None,
    ) -> None:
        self.queue = queue
        self.concurrency = concurrency
        self.batch_size = batch_size or max(16, 4 * concurrency)
        self._linger = Linger(queue, linger_ms, empty_linger_ms, idle_wait_ms)
        self.hooks = hooks or DrainHooks()
        self.worker_id = worker_id or default_worker_id()
        self._claims = 0
        self.flush_ms = flush_ms
        self._poll_ms = flush_ms
        self.stall_check_ms = stall_check_ms
        self.claim_after_linger = claim_after_linger
        self.stats = DrainStats()
        self._threads = ThreadPoolExecutor(max_workers=concurrency * 2, thread_name_prefix="job")
        self._reports = JobReports(queue, self.hooks)
        self._executor = JobExecutor(
            queue.definition,
            self._reports.note_progress,
            self._threads,
            report_log=self._reports.note_log,
        )
        self._ready: deque[ClaimedJob] = deque()
        self._running: dict[str, tuple[ClaimedJob, float, asyncio.Task[None]]] = {}
        self._overran: set[str] = set()
        self._done: list[Outcome] = []
        self._unstarted: list[ClaimedJob] = []
        self._cancels = CancelRequests(queue, self._executor)
        self._next_cancel_check = 0.0
        self._low_water = max(self.concurrency, self.batch_size // 2)
        """Claim once this few jobs are left; raised (up to a batch) when workers ran dry
        while a claim was on its way, so that a claim overlaps the jobs before it."""
        definition = queue.definition
        self._limited = bool(definition.concurrency or definition.group_concurrency)
        """A concurrency limit applies (set in code, or seen in a claim refused at one)."""
        self._claim_in_flight = False
        self._ran_dry = False
        self._wakeup = asyncio.Event()
        self._work = asyncio.Event()
        self._pump_waiting = False
        self._stopping = False
        self._time = RunDeadline(queue, start_margin_ms)
        self._persist_after = 0.0

    # -- public --------------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming; jobs already started finish and are settled."""
        self._stopping = True
        self._wakeup.set()

    async def run(
        self,
        deadline: float | None = None,
        *,
        until_empty: bool = False,
        recover_first: bool = True,
    ) -> DrainStats:
        """Drain until ``deadline`` (``time.monotonic()`` seconds) or until idle.

        ``until_empty`` is ``linger_ms=0``: return as soon as nothing is left to run.
        ``recover_first``: recover stalled jobs before the first claim (a caller that has
        just seen that no lease ran out says False and saves the round trip).
        """
        if until_empty:
            self._linger.until_empty()
        self._time.begin(deadline)
        self._stopping = False
        # The first cancel check comes a period in: most jobs are over by then.
        self._next_cancel_check = time.monotonic() + CANCEL_CHECK_S
        workers = [asyncio.create_task(self._worker()) for _ in range(self.concurrency)]
        try:
            if recover_first:
                await recover_stalled(self.queue, self.stats, self.hooks)
            if not self._stopping:
                await self._time.say_if_nothing_fits(self.stats)
            await self._pump()
        except asyncio.CancelledError:
            # Cancelled from outside: without the pump no watchdog runs, so waiting for the
            # handlers could hang. Abandon them; their leases lapse and they are recovered.
            for worker in workers:
                worker.cancel()
            raise
        finally:
            self._stopping = True
            self._work.set()
            await asyncio.gather(*workers, return_exceptions=True)
            await self._finish()
        return self.stats

    # -- workers ---------------------------------------------------------------------

    async def _worker(self) -> None:
        ready, running = self._ready, self._running
        task = asyncio.current_task()
        assert task is not None
        monotonic = time.monotonic
        while True:
            if not ready:
                if self._claim_in_flight:
                    self._ran_dry = True
                if self._stopping and not running and not ready:
                    return
                self._work.clear()
                if self._stopping:
                    return
                await self._work.wait()
                continue
            job = ready.popleft()
            started = monotonic()
            if job.id in self._cancels:
                # Cancelled after it was claimed and before it started: it never runs.
                self._done.append(self._executor.cancelled(job, started))
                self._cancels.discard(job.id)
                continue
            if not self._can_start(job):
                self._unstarted.append(job)
                continue
            running[job.id] = (job, started + job.options.timeout / 1000, task)
            outcome = await self._run_one(job, started, task)
            del running[job.id]
            done = self._done
            done.append(outcome)
            if len(done) >= self.batch_size // 2 or len(ready) <= self._low_water:
                self._wakeup.set()
                if self._pump_waiting:
                    # A handler that never awaits would run the whole batch before the pump
                    # got the loop: let it send its round trip now, to overlap the jobs.
                    await asyncio.sleep(0)

    async def _run_one(self, job: ClaimedJob, started: float, task: asyncio.Task[None]) -> Outcome:
        try:
            outcome = await self._executor.run(job)
        except asyncio.CancelledError:
            if job.id not in self._overran and job.id not in self._cancels:
                raise
            # Cancelled by the watchdog or a cancel request, not by shutdown.
            self._overran.discard(job.id)
            task.uncancel()
            if job.id in self._cancels:
                outcome = self._executor.cancelled(job, started)
            else:
                outcome = self._executor.timed_out(job, started)
        if job.id in self._cancels:
            self._cancels.discard(job.id)
            if task.cancelling():
                task.uncancel()  # the handler swallowed the cancellation and returned
        return outcome

    def _can_start(self, job: ClaimedJob) -> bool:
        return not self._stopping and self._time.can_start(job, self.stats)

    # -- the pump: settle and claim --------------------------------------------------

    def _claiming(self) -> bool:
        return not self._stopping and self._time.claiming()

    async def _pump(self) -> None:
        idle_since: float | None = None
        interval = housekeeping_interval(self.queue, self.stall_check_ms)
        next_housekeeping = time.monotonic() + interval
        while True:
            claiming = self._claiming()
            # Claim while half a batch is still queued, so workers never wait on the round trip.
            want = self._claim_size() if claiming and len(self._ready) <= self._low_water else 0
            result = await self._exchange(want)
            if self._stopping and self._ready:
                # Claimed by a round trip that was in flight when stop() came, perhaps after
                # the workers left: nobody will start these, so hand them back.
                self._unstarted.extend(self._ready)
                self._ready.clear()
            held = len(self._ready) + len(self._running)
            if not claiming and held == 0 and (not self._done or self._time.out_of_time()):
                return
            now = time.monotonic()
            self._cancel_overrunning(now)
            if self._running and now >= self._next_cancel_check:
                self._next_cancel_check = now + CANCEL_CHECK_S
                running = [job for job, _, _ in self._running.values()]
                await self._cancels.heartbeat(running, self._running, self._ready)
            if now >= next_housekeeping:
                next_housekeeping = now + interval
                await self._housekeeping()
            if result is not None:
                self.stats.last_code = result.code
            if result is not None and result.code is ClaimCode.CLAIMED and len(result.jobs) >= want:
                # A full batch: more may wait. After fewer than asked, asking again at once
                # would come back empty: the jobs in hand are waited for below instead.
                idle_since = None
                continue
            if lease_ran_out(result) and await recover_stalled(self.queue, self.stats, self.hooks):
                # Jobs wait behind a lease that ran out: its worker died. Take the slot
                # back now instead of leaving the queue frozen until a stall check.
                continue
            if held or self._done:
                idle_since = None
                await self._wait_for_workers(result)
                continue
            idle_since = idle_since or now
            if await self._rest(idle_since, result):
                return

    def _claim_size(self) -> int:
        """A batch; under a concurrency limit, only as many jobs as free handlers can start.
        A job claimed ahead of a free handler holds one of the limit's slots while it waits,
        a slot another poller's idle handler could have run it in."""
        if not self._limited:
            return self.batch_size
        return max(0, self.concurrency - len(self._running) - len(self._ready))

    def _cancel_overrunning(self, now: float) -> None:
        """The timeout watchdog: one check per loop instead of a timer per job."""
        for job_id, (_, deadline, task) in self._running.items():
            if now > deadline and job_id not in self._overran:
                self._overran.add(job_id)
                task.cancel()

    async def _exchange(self, want: int) -> ClaimResult | None:
        """One round trip: persist and settle finished jobs, claim ``want`` more."""
        if self._reports.logs:
            # Before the outcomes settle: a finished job's log is whole.
            await self._reports.flush_logs()
        outcomes = self._done
        self._done = []
        if outcomes:
            outcomes = await self._persisted(await self._cancels.cancelled_instead(outcomes))
        if not outcomes and want == 0:
            return None
        # Each claim gets its own lease-token prefix: a job released (or retried) and claimed
        # again by this drainer at the same attempt number still gets a new token.
        self._claims += 1
        claimer = f"{self.worker_id}.{self._claims}"
        queued, self._ran_dry, self._claim_in_flight = len(self._ready), False, want > 0
        try:
            codes, result = await self.queue.settle(claimer, outcomes, claim=want)
        finally:
            self._claim_in_flight = False
        if self._ran_dry and queued and result.jobs:
            self._low_water = min(self.batch_size, 2 * self._low_water)
        self.stats.settle_calls += 1
        if self._reports.progress:
            await self._reports.flush_progress(self._running)
        self.stats.add_settled(outcomes, codes)
        if result.jobs:
            self._poll_ms = self.flush_ms
            self.stats.claimed += len(result.jobs)
            self._ready.extend(result.jobs)
            self._work.set()
            await self.hooks.claimed(result.jobs)
        if result.code.held_by_leases:
            self._limited = True  # a limit set at runtime
        if result.expired:
            self.stats.expired += len(result.expired)
            await self.hooks.failed_elsewhere(result.expired, "expired")
        return result if want else None

    async def _persisted(self, outcomes: list[Outcome]) -> list[Outcome]:
        if time.monotonic() < self._persist_after:
            self._done.extend(outcomes)
            return []
        try:
            kept = set(await self.hooks.persist(outcomes))
        except Exception:
            logger.exception("persisting %d outcomes failed; will retry", len(outcomes))
            kept = {o.job.id for o in outcomes}
        if not kept:
            return outcomes
        # Retrying at once would spin against a store that is down.
        self._persist_after = time.monotonic() + PERSIST_RETRY_S
        # Not durable yet: hold on to them (their leases are extended) and try again.
        self._done.extend(o for o in outcomes if o.job.id in kept)
        return [o for o in outcomes if o.job.id not in kept]

    async def _wait_for_workers(self, result: ClaimResult | None) -> None:
        timeout = self._poll_ms / 1000
        if result is not None and result.code is ClaimCode.RATE_LIMITED:
            timeout = max(timeout, result.hint_ms / 1000)
        self._wakeup.clear()
        persisting = time.monotonic() >= self._persist_after
        if persisting and len(self._done) >= max(1, self.batch_size // 2):
            return
        # asyncio.timeout, not wait_for: the pump itself waits on the event, so a worker's
        # set() resumes it on the next turn of the loop, not two turns later.
        self._pump_waiting = True
        try:
            async with asyncio.timeout(timeout):
                await self._wakeup.wait()
        except TimeoutError:
            self._poll_ms = min(2 * self._poll_ms, BUSY_POLL_MAX_MS)
        finally:
            self._pump_waiting = False

    async def _rest(self, idle_since: float, result: ClaimResult | None) -> bool:
        """Idle: wait for work, or say (True) that the linger is over and the run ends."""
        if not self._idle_over(idle_since, result):
            self.stats.idle_ms += await self._linger.wait(result, self._time.at)
            if self.claim_after_linger or not self._idle_over(idle_since, result):
                return False
        if result is not None and result.code is ClaimCode.EMPTY:
            await self.hooks.drained()
        return True

    def _idle_over(self, idle_since: float, result: ClaimResult | None) -> bool:
        return self._stopping or self._linger.over(idle_since, result)

    # -- housekeeping ------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        await self._reports.flush_progress(self._running)
        running = [job for job, _, _ in self._running.values()]
        held = [*running, *self._ready, *(o.job for o in self._done)]
        if held:
            await self._cancels.heartbeat(held, self._running, self._ready)
        await recover_stalled(self.queue, self.stats, self.hooks)

    async def _finish(self) -> None:
        """Settle what finished, and hand back what was claimed but never started."""
        await self._reports.flush_safely(self._running)
        for _ in range(3):
            if not self._done:
                break
            await self._exchange(0)
        unstarted = self._unstarted + list(self._ready)
        self._ready.clear()
        self._unstarted = []
        if unstarted:
            self.stats.released += await self.queue.release(unstarted)
        self._threads.shutdown(wait=False)
