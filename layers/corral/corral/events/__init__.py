"""Job lifecycle events: built once, sent to EventBridge, webhooks and daily counters."""

from corral.events.eventbridge import EventBridgePublisher, EventBridgeSink
from corral.events.hooks import EventHooks
from corral.events.model import EVENT_SLUGS, EventFactory, EventType, LifecycleEvent, job_event
from corral.events.sink import BackgroundSink, EventSink, NoEvents, Sinks, combine

__all__ = [
    "EVENT_SLUGS",
    "BackgroundSink",
    "EventBridgePublisher",
    "EventBridgeSink",
    "EventFactory",
    "EventHooks",
    "EventSink",
    "EventType",
    "LifecycleEvent",
    "NoEvents",
    "Sinks",
    "combine",
    "job_event",
]
