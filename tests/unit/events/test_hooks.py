"""``EventHooks`` on its own: answers passed through unchanged, nothing announced for
outcomes not made durable, progress throttled per job, one ``Queue Drained`` per stretch."""

from __future__ import annotations

from collections.abc import Sequence

from corral.definition import QueueDefinition
from corral.drain import DrainHooks
from corral.events import EventHooks
from corral.events.model import LifecycleEvent
from corral.job import Backoff, ResolvedOptions
from corral.queue import ClaimedJob, Outcome, Queue

from tests.conftest import Payload, noop


class Collect:
    def __init__(self) -> None:
        self.events: list[LifecycleEvent] = []

    async def emit(self, events: Sequence[LifecycleEvent]) -> None:
        self.events.extend(events)

    async def flush(self) -> None:
        return None

    def types(self) -> list[str]:
        return [e.type.value for e in self.events]


class Refuses(DrainHooks):
    def __init__(self, refused: set[str]) -> None:
        self.refused = refused

    async def persist(self, outcomes: Sequence[Outcome]) -> Sequence[str]:
        return [o.job.id for o in outcomes if o.job.id in self.refused]


def claimed(job_id: str, attempt: int = 1) -> ClaimedJob:
    opts = ResolvedOptions(
        attempts=3, backoff=Backoff(), timeout=1_000, webhook={"url": "https://example.com/h"}
    )
    return ClaimedJob(job_id, '{"n":1}', opts, attempt, "acme", 1, f"w:{attempt}")


def hooks(refused: set[str] | None = None) -> tuple[EventHooks, Collect]:
    queue = Queue(None, QueueDefinition(name="jobs", payload=Payload, handler=noop))  # type: ignore[arg-type]
    sink = Collect()
    return EventHooks(queue, Refuses(refused or set()), sink, clock=lambda: 5), sink


async def test_outcomes_not_made_durable_are_not_announced() -> None:
    h, sink = hooks({"b"})
    outcomes = [Outcome(claimed("a"), "c", '{"ok":1}'), Outcome(claimed("b"), "c", "1")]
    assert list(await h.persist(outcomes)) == ["b"]
    assert [(e.type.value, e.job_id) for e in sink.events] == [("Job Completed", "a")]
    assert sink.events[0].webhook == {"url": "https://example.com/h"}


async def test_a_final_failure_is_failed_then_dead_lettered() -> None:
    h, sink = hooks()
    error = '{"message":"no","type":"ValueError","stack":"..."}'
    await h.persist([Outcome(claimed("a", 3), "f", error), Outcome(claimed("b"), "r", error, 99)])
    assert sink.types() == ["Job Failed", "Job Dead-Lettered", "Job Failed"]
    retry = sink.events[2].detail
    assert retry["willRetry"] is True and retry["retryAt"] == 99
    assert sink.events[0].detail["error"] == {"message": "no", "type": "ValueError"}


async def test_progress_is_throttled_per_job() -> None:
    h, sink = hooks()
    h.progress_interval_s = 3600
    for value in (10, 20, 30):
        await h.progressed([(claimed("a"), value), (claimed("b"), value)])
    assert [(e.job_id, e.detail["progress"]) for e in sink.events] == [("a", 10), ("b", 10)]


async def test_drained_once_per_stretch_of_work() -> None:
    h, sink = hooks()
    await h.drained()
    assert sink.types() == []  # an idle poller that ran nothing says nothing
    await h.persist([Outcome(claimed("a"), "c", "1")])
    await h.drained()
    await h.drained()
    assert sink.types() == ["Job Completed", "Queue Drained"]


async def test_large_results_are_left_out() -> None:
    h, sink = hooks()
    await h.persist([Outcome(claimed("a"), "c", '"' + "x" * 5000 + '"')])
    detail = sink.events[0].detail
    assert "result" not in detail and detail["resultOmitted"] is True
