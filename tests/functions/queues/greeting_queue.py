"""A queue that exists only in the tests: the whole of what adding a queue takes."""

from __future__ import annotations

from corral.context import JobContext
from corral.definition import QueueDefinition
from queues._common import TenantPayload


class GreetingPayload(TenantPayload):
    name: str


def handle(payload: GreetingPayload, job: JobContext) -> str:
    job.progress(100)
    return f"hello {payload.name}"


queue = QueueDefinition(name="greeting", payload=GreetingPayload, handler=handle, concurrency=2)
