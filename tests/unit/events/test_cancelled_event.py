"""A job cancelled while it ran is announced as cancelled: not failed, not dead-lettered."""

from __future__ import annotations

from corral.events.model import EventFactory, EventType
from corral.job import Backoff, ResolvedOptions
from corral.queue import ClaimedJob, Outcome

OPTIONS = ResolvedOptions(attempts=3, backoff=Backoff(), timeout=1_000)


def test_a_job_cancelled_while_running_is_one_cancelled_event() -> None:
    job = ClaimedJob("j1", "{}", OPTIONS, 1, "acme", 1_000, "w:1")
    outcome = Outcome(job, "x", '{"message": "cancelled", "type": "JobCancelledError"}')

    (event,) = EventFactory("email").finished(outcome, 2_000)

    assert event.type is EventType.CANCELLED
    assert (event.detail["status"], event.detail["tenant"]) == ("cancelled", "acme")
