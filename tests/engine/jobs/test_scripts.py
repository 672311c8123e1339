"""scripts.py: EVALSHA with a fallback to EVAL when the server answers NOSCRIPT."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio
from corral import redis_call
from corral.definition import QueueDefinition
from corral.queue import Queue
from corral.script_source import LUA_DIR
from corral.scripts import SCRIPT_NAMES, load_script, run_script
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from tests.conftest import Payload, delete_prefix, noop
from tests.engine.conftest import RedisTarget


@pytest.fixture
async def private_client(private_target: RedisTarget, prefix: str) -> AsyncIterator[Any]:
    client = private_target.connect()
    try:
        yield client
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()


async def flush_scripts(target: RedisTarget, ports: list[int]) -> None:
    """SCRIPT FLUSH on every node of a private target (as a restart or failover would)."""
    for port in ports:
        node = redis.asyncio.Redis(port=port)
        try:
            await node.script_flush()
        finally:
            await node.aclose()


def node_ports(target: RedisTarget, request: pytest.FixtureRequest) -> list[int]:
    if target.kind == "cluster":
        return list(request.getfixturevalue("cluster_ports"))
    return [target.port]


def test_the_table_names_every_script_file_once() -> None:
    files = sorted(path.stem for path in LUA_DIR.glob("*.lua"))
    assert sorted(SCRIPT_NAMES) == files


def test_every_script_expands_its_includes() -> None:
    for name in SCRIPT_NAMES:
        script = load_script(name)
        assert "--@include" not in script.source
        assert script.source.startswith("--[[")
        assert len(script.sha) == 40


async def test_noscript_falls_back_to_the_source_and_caches_it(
    private_client: Any,
    private_target: RedisTarget,
    prefix: str,
    request: pytest.FixtureRequest,
) -> None:
    definition = QueueDefinition(name="noscript", payload=Payload, handler=noop)
    queue = Queue(private_client, definition, prefix=prefix)
    ports = node_ports(private_target, request)
    await flush_scripts(private_target, ports)
    sha = load_script("enqueue").sha

    job_id = (await queue.add({"n": 1})).job_id

    assert (await queue.counts()).waiting == 1
    assert (await queue.claim("w1", 1)).jobs[0].id == job_id
    # EVAL loaded the script on the node that owns the queue's slot: EVALSHA works again.
    loaded = []
    for port in ports:
        node = redis.asyncio.Redis(port=port)
        try:
            loaded.extend(await node.script_exists(sha))
        finally:
            await node.aclose()
    assert True in loaded


async def test_other_script_errors_are_not_swallowed(private_client: Any) -> None:
    with pytest.raises(redis.ResponseError):
        await run_script(private_client, "counts", ["only-one-key"], [])


async def test_a_script_call_survives_a_dropped_connection(
    private_client: Any, prefix: str
) -> None:
    """A connection the server closed between two script calls is reopened."""
    definition = QueueDefinition(name="dropped", payload=Payload, handler=noop)
    queue = Queue(private_client, definition, prefix=prefix)
    await queue.add({"n": 1})
    await private_client.client_kill_filter(_type="normal", skipme=False)

    await queue.add({"n": 2})

    assert (await queue.counts()).waiting == 2


async def test_a_value_redis_cannot_encode_is_a_data_error(private_client: Any) -> None:
    with pytest.raises(redis.DataError):
        await run_script(private_client, "quota_rate", ["k"], [True, 1, 1, 1])


async def test_a_client_that_overrides_execute_command_sees_every_script_call(
    private_target: RedisTarget, prefix: str
) -> None:
    sent: list[str] = []

    class Recording(redis.asyncio.Redis):
        async def execute_command(self, *args: Any, **options: Any) -> Any:
            sent.append(str(args[0]).upper())
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]

    if private_target.kind == "cluster":
        pytest.skip("a cluster client routes each call itself")
    client = Recording(host="127.0.0.1", port=private_target.port, decode_responses=True)
    try:
        definition = QueueDefinition(name="recorded", payload=Payload, handler=noop)
        await Queue(client, definition, prefix=prefix).add({"n": 1})
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()

    assert sent[0] == "EVALSHA"


async def test_concurrent_script_calls_share_the_lane_and_the_pool(
    private_client: Any, prefix: str
) -> None:
    definition = QueueDefinition(name="concurrent", payload=Payload, handler=noop)
    queue = Queue(private_client, definition, prefix=prefix)

    added = await asyncio.gather(*(queue.add({"n": i}) for i in range(50)))

    assert len({result.job_id for result in added}) == 50
    assert (await queue.counts()).waiting == 50


async def test_a_cancelled_script_call_leaves_no_reply_for_the_next(
    private_client: Any, prefix: str
) -> None:
    definition = QueueDefinition(name="cancelled", payload=Payload, handler=noop)
    queue = Queue(private_client, definition, prefix=prefix)
    await queue.add({"n": -1})
    for steps in range(12):
        call = asyncio.create_task(queue.add({"n": steps}))
        for _ in range(steps % 4):
            await asyncio.sleep(0)
        call.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await call
        # Counts parse seven integers: an enqueue's reply read here would not.
        counts = await queue.counts()
        assert 1 <= counts.waiting <= steps + 2


async def test_a_lane_marked_to_reconnect_is_closed_after_its_call(
    private_client: Any, private_target: RedisTarget, prefix: str
) -> None:
    if private_target.kind == "cluster":
        pytest.skip("a cluster client routes each call itself")
    definition = QueueDefinition(name="marked", payload=Payload, handler=noop)
    queue = Queue(private_client, definition, prefix=prefix)
    await queue.add({"n": 1})
    lane = redis_call._lane(private_client.connection_pool)
    assert lane is not None
    assert lane.conn is not None and lane.conn.is_connected
    lane.conn.mark_for_reconnect()  # type: ignore[no-untyped-call]  # as maintenance does

    await queue.add({"n": 2})

    assert not lane.conn.is_connected
    await queue.add({"n": 3})
    assert (await queue.counts()).waiting == 3


async def test_a_lane_the_server_closed_while_idle_reconnects_without_a_retry(
    private_target: RedisTarget, prefix: str
) -> None:
    """As the pool checks a connection it lends, the lane checks its own before a call: one
    the server closed (an idle timeout, a frozen Lambda) opens anew instead of failing."""
    if private_target.kind == "cluster":
        pytest.skip("a cluster client routes each call itself")
    client = redis.asyncio.Redis(
        port=private_target.port, decode_responses=True, retry=Retry(NoBackoff(), 0)
    )
    try:
        definition = QueueDefinition(name="idle", payload=Payload, handler=noop)
        queue = Queue(client, definition, prefix=prefix)
        await queue.add({"n": 1})
        await client.client_kill_filter(_type="normal", skipme=False)
        await asyncio.sleep(0.05)  # the server's close reaches the lane's socket

        await queue.add({"n": 2})

        assert (await queue.counts()).waiting == 2
    finally:
        await delete_prefix(client, prefix)
        await client.aclose()
