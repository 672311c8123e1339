"""``make bench``'s flow line: a flow of 1 parent and 100 children, end to end (records
written, children drained, each counted on its parent, the parent run), in flows per
second and as a ratio of a plain drain of as many jobs through the same store.

The job table is moto's in-process DynamoDB, for both sides: the ratio is what the flow's
bookkeeping costs over plain jobs, not what DynamoDB would take.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import boto3
from corral.definition import QueueDefinition
from corral.drain import Drainer
from corral.failures import FailureRecorder
from corral.flows.intake import FlowIntake, FlowNode
from corral.intake import Intake
from corral.poller.hooks import StoreHooks
from corral.queue import Queue
from corral.records import table_definition
from corral.store import JobStore
from moto import mock_aws
from redis.asyncio import Redis

from bench.systems.corral_sys import Noop, _ignore

CHILDREN = 100
TABLE = "corral-jobs-bench"
TENANT = "bench"


async def drain(queue: Queue, store: JobStore) -> None:
    hooks = StoreHooks(queue, store, FailureRecorder(store, None), record_processing=False)
    await Drainer(queue, concurrency=8, hooks=hooks).run(until_empty=True)


async def one_flow(queues: dict[str, Queue], store: JobStore) -> float:
    started = time.perf_counter()
    kids = [FlowNode("parts", {"i": i}) for i in range(CHILDREN)]
    intake = FlowIntake(queues, store, TENANT, store.clock)
    await intake.run(FlowNode("reports", {"i": 0}, children=kids))
    await drain(queues["parts"], store)
    await drain(queues["reports"], store)
    return time.perf_counter() - started


async def plain(queues: dict[str, Queue], store: JobStore) -> float:
    started = time.perf_counter()
    jobs = [({"i": i}, None) for i in range(CHILDREN + 1)]
    await Intake(queues["parts"], store, TENANT, store.clock).run(jobs)
    await drain(queues["parts"], store)
    return time.perf_counter() - started


async def measure(
    url: str, flows: int, dynamodb: Any, prefix: str = "flowbench", table: str = TABLE
) -> str:
    """The flow line: ``flows`` flows and as many plain drains, medians compared."""
    redis = Redis.from_url(url, decode_responses=True)
    store = JobStore(dynamodb, table)
    queues = {
        name: Queue(redis, QueueDefinition(name, Noop, _ignore), prefix=prefix)
        for name in ("reports", "parts")
    }
    try:
        flow_s = sorted([await one_flow(queues, store) for _ in range(flows)])
        plain_s = sorted([await plain(queues, store) for _ in range(flows)])
    finally:
        store.close()
        await redis.aclose()
    flow_med, plain_med = flow_s[len(flow_s) // 2], plain_s[len(plain_s) // 2]
    return (
        f"flow of 1 parent + {CHILDREN} children, end to end (moto table): "
        f"{1 / flow_med:.2f} flows/s ({flow_med * 1000:.0f} ms); a plain drain of "
        f"{CHILDREN + 1} jobs takes {plain_med * 1000:.0f} ms: "
        f"the flow runs at {plain_med / flow_med:.2f}x its speed (median of {flows})"
    )


def cli() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True, help="a Redis of the bench's own")
    p.add_argument("--flows", type=int, default=5)
    a = p.parse_args()
    with mock_aws():
        dynamodb = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        dynamodb.create_table(**table_definition(TABLE))
        print(asyncio.run(measure(a.url, a.flows, dynamodb)))


if __name__ == "__main__":
    cli()
