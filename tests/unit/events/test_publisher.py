"""The EventBridge publisher without moto: at most 10 entries per call, entries reported
as failed sent again (and only those), errors never raised; the background sink."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from corral.events import EventBridgePublisher, EventBridgeSink
from corral.events.eventbridge import parse_types
from corral.events.model import EventType, LifecycleEvent, job_event
from corral.events.sink import BackgroundSink


class FakeEvents:
    """Fails the entries whose job id is in ``flaky`` the first ``times`` times they come."""

    def __init__(self, flaky: set[str] | None = None, times: int = 1, down: bool = False) -> None:
        self.flaky = flaky or set()
        self.times = times
        self.down = down
        self.calls: list[list[str]] = []
        self.seen: dict[str, int] = {}

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        ids = [json.loads(e["Detail"])["jobId"] for e in Entries]
        self.calls.append(ids)
        if self.down:
            raise ConnectionError("no route to EventBridge")
        results = []
        for job_id in ids:
            self.seen[job_id] = self.seen.get(job_id, 0) + 1
            failing = job_id in self.flaky and self.seen[job_id] <= self.times
            results.append({"ErrorCode": "ThrottlingException"} if failing else {"EventId": "e"})
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}


def events(n: int, kind: EventType = EventType.COMPLETED, name: str = "j") -> list[LifecycleEvent]:
    return [
        job_event(kind, queue="q", job_id=f"{name}{i}", tenant="t", status="x",
                  now=1_800_000_000_000)
        for i in range(n)
    ]  # fmt: skip


def test_entries_go_in_calls_of_at_most_ten() -> None:
    client = FakeEvents()
    assert EventBridgePublisher(client, "bus").publish(events(25)) == 0  # type: ignore[arg-type]
    assert sorted(len(c) for c in client.calls) == [5, 10, 10]


def test_only_the_failed_entries_are_sent_again() -> None:
    client = FakeEvents(flaky={"j3", "j7"}, times=2)
    publisher = EventBridgePublisher(client, "bus")  # type: ignore[arg-type]
    assert publisher.publish(events(10)) == 0
    assert client.calls[1:] == [["j3", "j7"], ["j3", "j7"]]


def test_what_keeps_failing_is_dropped_and_counted_never_raised() -> None:
    client = FakeEvents(flaky={"j1"}, times=99)
    publisher = EventBridgePublisher(client, "bus", attempts=3)  # type: ignore[arg-type]
    assert publisher.publish(events(3)) == 1
    assert publisher.failed == 1 and len(client.calls) == 3
    down = EventBridgePublisher(FakeEvents(down=True), "bus")  # type: ignore[arg-type]
    assert down.publish(events(12)) == 12


async def test_emit_returns_at_once_and_flush_waits_for_the_send() -> None:
    client = FakeEvents()
    every = frozenset(EventType)
    sink = EventBridgeSink(EventBridgePublisher(client, "bus", types=every))  # type: ignore[arg-type]
    await sink.emit(events(3))
    await sink.emit(events(2))
    await sink.flush()
    assert sum(len(c) for c in client.calls) == 5


async def test_a_failing_sink_never_raises_into_the_caller() -> None:
    class Broken(BackgroundSink):
        async def send(self, events: list[LifecycleEvent]) -> None:
            raise RuntimeError("boom")

    sink = Broken()
    await sink.emit(events(2))
    await sink.flush()
    await sink.emit(events(1))
    await asyncio.sleep(0)
    await sink.flush()


async def test_a_slow_sink_drops_the_oldest_beyond_its_bound() -> None:
    release = asyncio.Event()
    got: list[str] = []

    class Slow(BackgroundSink):
        async def send(self, events: list[LifecycleEvent]) -> None:
            await release.wait()
            got.extend(e.job_id for e in events)

    sink = Slow(max_buffered=5)
    await sink.emit(events(1))
    await asyncio.sleep(0)  # the task takes the first event and waits
    await sink.emit(events(8))
    release.set()
    await sink.flush()
    assert sink.dropped == 3 and got == ["j0", "j3", "j4", "j5", "j6", "j7"]


async def test_by_default_only_failures_are_sent_and_in_calls_of_ten() -> None:
    client = FakeEvents()
    sink = EventBridgeSink(EventBridgePublisher(client, "bus"))  # type: ignore[arg-type]
    everything = [events(12, kind, kind.slug) for kind in EventType]
    for batch in everything:
        await sink.emit(batch)
    await sink.flush()
    sent = [job_id for call in client.calls for job_id in call]
    assert sorted({job_id.rstrip("0123456789") for job_id in sent}) == ["dead-lettered", "failed"]
    assert len(sent) == 24 and max(len(c) for c in client.calls) == 10


def test_event_types_are_chosen_by_slug() -> None:
    assert parse_types("failed, dead-lettered") == {EventType.FAILED, EventType.DEAD_LETTERED}
    assert parse_types("all") == frozenset(EventType)
    assert parse_types("") == frozenset()
    with pytest.raises(ValueError, match="unknown event"):
        parse_types("failed,exploded")
