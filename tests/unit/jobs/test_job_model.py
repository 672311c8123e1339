"""The job's shapes: resolved options and their JSON for the scripts, the count types."""

from __future__ import annotations

import json

import pytest
from corral.definition import QueueDefinition
from corral.job import (
    Backoff,
    BackoffType,
    JobOptions,
    KeyGroupOption,
    KeyGroupRate,
    ResolvedOptions,
    WebhookOption,
)
from corral.queue import NewJob, OutcomeCounts, Queue
from corral.queue_types import decode_options, encode_options
from pydantic import BaseModel


class Payload(BaseModel):
    n: int = 0


async def noop(payload: Payload, ctx: object) -> None:
    return None


def make_queue() -> Queue:
    definition = QueueDefinition(
        name="jobs", payload=Payload, handler=noop, attempts=4, timeout_ms=2_000
    )
    return Queue(None, definition)  # type: ignore[arg-type]  # no script runs here


def test_resolving_fills_in_the_queue_defaults() -> None:
    resolved = make_queue().resolve(JobOptions(priority=2))

    assert (resolved.attempts, resolved.timeout, resolved.priority) == (4, 2_000, 2)
    assert resolved.backoff == Backoff()
    assert resolved.ttl is None and resolved.webhook is None and resolved.group is None


def test_a_restore_keeps_the_attempt_budget_recorded_at_enqueue() -> None:
    queue = make_queue()

    assert queue.resolve(JobOptions(), attempts=9).attempts == 9
    assert queue.resolve(JobOptions(attempts=2), attempts=9).attempts == 2


def test_the_opts_json_the_scripts_read_keeps_its_layout() -> None:
    """The JSON in a job's hash is read by Lua (``ttl``, ``group``) and by older pollers:
    its keys, their order and its escaping are part of the boundary."""
    options = JobOptions(
        attempts=5,
        backoff=Backoff(type=BackoffType.FIXED, delay=250, max_delay=1_000, jitter=0),
        timeout=4_000,
        priority=7,
        delay=5_000,
        ttl=60_000,
        webhook=WebhookOption(url="https://hooks.example.com/é", events=["completed"]),
        group=KeyGroupOption(id="acct", concurrency=2, rate_limit=KeyGroupRate(max=9)),
    )

    encoded = encode_options(make_queue().resolve(options))

    assert encoded == (
        '{"attempts":5,"backoff":{"type":"fixed","delay":250,"maxDelay":1000,"jitter":0.0},'
        '"timeout":4000,"priority":7,"delay":5000,"ttl":60000,'
        '"webhook":{"url":"https://hooks.example.com/\\u00e9","events":["completed"]},'
        '"group":{"id":"acct","concurrency":2,"rateLimit":{"max":9,"durationMs":1000}}}'
    )


def test_flow_links_come_last_in_the_opts_json() -> None:
    resolved = make_queue().resolve(JobOptions())
    child = resolved.model_copy(update={"parent": {"queue": "q", "id": "p", "ignore": False}})
    root = resolved.model_copy(update={"flow_root": True})

    assert encode_options(child).endswith(',"parent":{"queue":"q","id":"p","ignore":false}}')
    assert encode_options(root).endswith(',"flowRoot":true}')


def test_decoding_reads_what_the_scripts_add_and_skips_what_it_does_not_know() -> None:
    raw = json.loads(encode_options(make_queue().resolve(JobOptions(ttl=10))))
    raw |= {"childrenResults": {"a": None}, "childrenFailures": {}, "addedLater": 1}

    decoded = decode_options(json.dumps(raw))

    assert decoded.ttl == 10 and decoded.timeout == 2_000
    assert decoded.children_results == {"a": None} and decoded.children_failures == {}
    assert "addedLater" not in decoded.as_dict()


def test_resolved_options_round_trip_and_cannot_change() -> None:
    resolved = make_queue().resolve(JobOptions(webhook=WebhookOption(url="https://h.example")))

    assert decode_options(encode_options(resolved)) == resolved
    with pytest.raises(ValueError, match="frozen"):
        resolved.timeout = 1  # type: ignore[misc]


def test_a_flow_root_parent_is_marked_in_its_enqueue_fields() -> None:
    queue = make_queue()
    fields = queue.shaper.fields(NewJob({"n": 1}, flow_root=True), 1_000)

    assert isinstance(fields[3], str)
    assert decode_options(fields[3]).flow_root is True
    assert fields[6] == 2_000  # the timeout the scripts keep beside the JSON


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [("c", (1, 0, 0, 0)), ("rr", (0, 2, 0, 0)), ("f", (0, 0, 1, 0)), ("xcx", (1, 0, 0, 2))],
)
def test_outcome_counts_by_kind(kinds: str, expected: tuple[int, int, int, int]) -> None:
    counts = OutcomeCounts()
    for kind in kinds:
        counts.add_outcome(kind)

    assert (counts.completed, counts.retried, counts.failed, counts.cancelled) == expected
    assert counts.finished == len(kinds)


def test_outcome_counts_add_up() -> None:
    total = OutcomeCounts(completed=1, failed=2)
    total.add_counts(OutcomeCounts(completed=3, retried=4, cancelled=5))

    assert total == OutcomeCounts(completed=4, retried=4, failed=2, cancelled=5)


def test_resolved_options_need_the_resolved_fields() -> None:
    with pytest.raises(ValueError, match="timeout"):
        ResolvedOptions.model_validate({"attempts": 1, "backoff": {}})
