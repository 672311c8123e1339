"""A flow's own lifecycle event: ``Flow Completed`` or ``Flow Failed`` once its root
parent settles, through the same events as jobs (and sent to the bus only if chosen)."""

from __future__ import annotations

from collections.abc import Sequence

from corral.drain import Drainer
from corral.events.eventbridge import DEFAULT_TYPES, parse_types
from corral.events.hooks import EventHooks
from corral.events.model import EVENT_SLUGS, EventType, LifecycleEvent
from corral.failures import FailureRecorder
from corral.flows.intake import FlowNode
from corral.poller.hooks import StoreHooks

from tests.engine.flows.test_flows import Flows, aws, flows, ids, kids

__all__ = ["aws", "flows"]


class Collect:
    def __init__(self) -> None:
        self.events: list[LifecycleEvent] = []

    async def emit(self, events: Sequence[LifecycleEvent]) -> None:
        self.events.extend(events)

    async def flush(self) -> None:
        pass

    def of_flows(self) -> list[LifecycleEvent]:
        kinds = (EventType.FLOW_COMPLETED, EventType.FLOW_FAILED)
        return [e for e in self.events if e.type in kinds]


async def drain(flows: Flows, name: str, sink: Collect) -> None:
    """A poller's drain, wired as the poller runtime wires it."""
    queue = flows.queues[name]
    store_hooks = StoreHooks(queue, flows.store, FailureRecorder(flows.store, None), events=sink)
    await Drainer(queue, concurrency=4, hooks=EventHooks(queue, store_hooks, sink)).run(
        until_empty=True
    )


async def test_a_nested_flow_completes_once_for_its_root(flows: Flows) -> None:
    sink = Collect()
    middle = FlowNode("parts", {"n": 10}, children=kids(11, queue="pages"))
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=[middle]))
    for name in ("pages", "parts"):
        await drain(flows, name, sink)
    assert sink.of_flows() == []  # the middle parent is not a flow's end
    await drain(flows, "reports", sink)
    (event,) = sink.of_flows()
    assert event.type is EventType.FLOW_COMPLETED
    assert (event.job_id, event.queue, event.tenant) == (tree.job_id, "reports", "acme")
    assert event.detail["status"] == "completed"


async def test_a_child_that_fails_the_root_fails_the_flow_once(flows: Flows) -> None:
    sink = Collect()
    flows.runs.fail = {2}
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=kids(1, 2)))
    await drain(flows, "parts", sink)
    await drain(flows, "reports", sink)
    (event,) = sink.of_flows()
    assert event.type is EventType.FLOW_FAILED
    assert event.job_id == tree.job_id
    assert event.detail["failedChild"] == ids(tree)[1]
    assert ids(tree)[1] in event.detail["error"]["message"]


async def test_a_root_that_runs_and_fails_for_good_fails_the_flow(flows: Flows) -> None:
    sink = Collect()
    flows.runs.fail = {0}
    tree = await flows.intake().run(FlowNode("reports", {"n": 0}, children=kids(1)))
    await drain(flows, "parts", sink)
    await drain(flows, "reports", sink)
    (event,) = sink.of_flows()
    assert (event.type, event.job_id) == (EventType.FLOW_FAILED, tree.job_id)
    assert "job 0 broke" in event.detail["error"]["message"]


def test_flow_events_have_their_own_slugs_and_are_opt_in() -> None:
    assert len(set(EVENT_SLUGS)) == len(EVENT_SLUGS)
    assert parse_types("flow-completed,flow-failed") == {
        EventType.FLOW_COMPLETED,
        EventType.FLOW_FAILED,
    }
    assert EventType.FLOW_FAILED not in DEFAULT_TYPES
