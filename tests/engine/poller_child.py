"""A poller in its own process, for tests that kill it: ``python -m tests.engine.poller_child
REDIS_URL TABLE DLQ_URL PREFIX QUEUE [LEASE_MARGIN_MS [LINGER_MS]]`` with ``functions/`` on
PYTHONPATH (the Lambda code root). AWS is the moto server named by AWS_ENDPOINT_URL.

``PAUSE_BEFORE_CHILD_DONE=<file>`` (this process only): once a flow child's durable half
is written, create ``<file>`` and hang before ``child_done.lua``, for the test to kill it
at exactly that point."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any


def pause_before_child_done(marker: Path) -> None:
    from corral.flows.link import FlowLinker

    async def hang(self: FlowLinker, *args: Any) -> int:
        marker.touch()
        time.sleep(3600)  # blocks the loop too: nothing else moves until the kill
        raise AssertionError("not killed")

    FlowLinker.tell_redis = hang  # type: ignore[method-assign,assignment]


def main(argv: list[str]) -> None:
    import boto3
    from corral.dlq import DeadLetterQueue
    from corral.lambda_support import ThreadLoops
    from corral.poller import PollerRuntime, PollerSettings
    from corral.queue import LeaseSettings
    from corral.store import JobStore
    from corral.wiring import Wiring, install
    from poller import app
    from redis.asyncio import Redis

    from tests.support.lambda_env import FakeContext
    from tests.support.testqueues import registry

    pause = os.environ.get("PAUSE_BEFORE_CHILD_DONE")
    if pause:
        pause_before_child_done(Path(pause))
    redis_url, table, dlq_url, prefix, queue = argv[:5]
    margin_ms = int(argv[5]) if len(argv) > 5 else 500
    linger_ms = int(argv[6]) if len(argv) > 6 else 30_000
    store = JobStore(boto3.client("dynamodb", region_name="us-east-1"), table)
    dlq = DeadLetterQueue(boto3.client("sqs", region_name="us-east-1"), dlq_url)
    loops = ThreadLoops(lambda: Redis.from_url(redis_url, decode_responses=True))
    runtime = PollerRuntime(
        registry,
        store,
        dlq,
        loops,
        prefix=prefix,
        settings=PollerSettings(linger_ms=linger_ms, max_idle_ms=60_000),
        lease=LeaseSettings(cap_ms=1000, margin_ms=margin_ms),
    )
    install(Wiring(poller=runtime))
    print("polling", flush=True)
    app.handler({"queue": queue}, FakeContext(120_000))


if __name__ == "__main__":
    main(sys.argv[1:])
