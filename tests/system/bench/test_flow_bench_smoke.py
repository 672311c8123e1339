"""The bench's flow line runs end to end (one flow, the shared Redis, its own prefix); it
measures nothing and asserts no speed."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from redis.asyncio import Redis

from bench.flow_bench import measure
from tests.conftest import SHARED_REDIS_URL, delete_prefix
from tests.support.awsmock import AwsStack, start_aws


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


@pytest.mark.timeout(60)
async def test_the_flow_line_runs(aws: AwsStack) -> None:
    prefix = f"t{uuid4().hex[:8]}"
    try:
        line = await measure(SHARED_REDIS_URL, 1, aws.dynamodb, prefix, table=aws.table)
    finally:
        redis = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
        await delete_prefix(redis, prefix)
        await redis.aclose()
    assert line.startswith("flow of 1 parent + 100 children") and "flows/s" in line
