"""The script lane (corral.redis_lane) when things go wrong, on a private Redis: a call
cut off, stalled past its timeout or cancelled behaves as redis-py's own path would, and
leaves the lane fit for the next call."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio
from corral import redis_call
from corral.definition import QueueDefinition
from corral.queue import Queue
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tests.conftest import Payload, delete_prefix, noop
from tests.engine.servers import HOST

Connect = Callable[..., redis.asyncio.Redis]


@pytest.fixture
async def connect(lone_port: int, prefix: str) -> AsyncIterator[Connect]:
    """Clients on the private server (``redis-py`` options as keywords), closed afterwards."""
    made: list[redis.asyncio.Redis] = []

    def make(**options: Any) -> redis.asyncio.Redis:
        client = redis.asyncio.Redis(host=HOST, port=lone_port, decode_responses=True, **options)
        made.append(client)
        return client

    yield make
    admin = make()
    await unpause(admin)
    await delete_prefix(admin, prefix)
    for client in made:
        await client.aclose()


def queue_on(client: redis.asyncio.Redis, prefix: str) -> Queue:
    definition = QueueDefinition(name="lane", payload=Payload, handler=noop)
    return Queue(client, definition, prefix=prefix)


async def pause(admin: redis.asyncio.Redis, ms: int) -> None:
    """Hold every write (an enqueue) on the server for ``ms``: a call now stalls."""
    await admin.execute_command("CLIENT", "PAUSE", ms, "WRITE")  # type: ignore[no-untyped-call]


async def unpause(admin: redis.asyncio.Redis) -> None:
    await admin.execute_command("CLIENT", "UNPAUSE")  # type: ignore[no-untyped-call]


async def lane_client_id(admin: redis.asyncio.Redis, queue: Queue) -> int:
    await queue.add({"n": 0})  # opens the lane
    lane = redis_call._lane(queue.redis.connection_pool)  # type: ignore[union-attr]
    assert lane is not None
    assert lane.conn is not None
    names = {c["id"]: c for c in await admin.client_list()}
    ours = [i for i, c in names.items() if c["cmd"] == "evalsha"]
    assert len(ours) == 1
    return int(ours[0])


async def opened_lane(
    connect: Connect, prefix: str, retries: int
) -> tuple[redis.asyncio.Redis, Queue, int]:
    """An admin client, a queue whose client retries ``retries`` times without backoff, and
    the server's id of that queue's open lane."""
    admin = connect()
    queue = queue_on(connect(retry=Retry(NoBackoff(), retries)), prefix)
    return admin, queue, await lane_client_id(admin, queue)


async def test_a_connection_cut_off_mid_call_is_reopened_and_the_call_retried(
    connect: Connect, prefix: str
) -> None:
    admin, queue, lane_id = await opened_lane(connect, prefix, 1)
    await pause(admin, 300)
    call = asyncio.create_task(queue.add({"n": 1}))
    await asyncio.sleep(0.05)  # the call is sent, held by the pause

    await admin.client_kill_filter(_id=str(lane_id))
    await call

    assert (await queue.counts()).waiting == 2


async def test_a_connection_cut_off_mid_call_without_retries_is_a_connection_error(
    connect: Connect, prefix: str
) -> None:
    admin, queue, lane_id = await opened_lane(connect, prefix, 0)
    await pause(admin, 300)
    call = asyncio.create_task(queue.add({"n": 1}))
    await asyncio.sleep(0.05)

    await admin.client_kill_filter(_id=str(lane_id))
    with pytest.raises(RedisConnectionError):
        await call

    await unpause(admin)
    await queue.add({"n": 2})  # the lane opens anew
    assert (await queue.counts()).waiting == 2


async def test_a_stalled_call_times_out_and_the_next_call_gets_its_own_reply(
    connect: Connect, prefix: str
) -> None:
    admin = connect()
    queue = queue_on(connect(socket_timeout=0.2, retry=Retry(NoBackoff(), 0)), prefix)
    loop = asyncio.get_running_loop()
    await queue.add({"n": 0})
    # The watchdog timer the first call armed fires while the stalled call is in flight
    # and not yet due: it must follow that call's own deadline.
    await asyncio.sleep(0.1)
    await pause(admin, 1000)
    started = loop.time()

    with pytest.raises(RedisTimeoutError):
        await queue.add({"n": 1})

    assert 0.15 < loop.time() - started < 0.8
    await unpause(admin)
    # The timed-out call's connection was closed: its late reply cannot reach this call.
    counts = await queue.counts()
    assert counts.waiting in (1, 2)  # the stalled enqueue may still have run


async def test_a_stalled_call_is_retried_by_the_client_policy(
    connect: Connect, prefix: str
) -> None:
    admin = connect()
    queue = queue_on(connect(socket_timeout=0.2, retry=Retry(NoBackoff(), 3)), prefix)
    await queue.add({"n": 0})
    await pause(admin, 300)

    result = await queue.add({"n": 1})

    assert result.created
    assert (await queue.counts()).waiting >= 2


async def test_a_callers_own_timeout_is_the_callers_and_leaves_the_lane_usable(
    connect: Connect, prefix: str
) -> None:
    admin = connect()
    queue = queue_on(connect(socket_timeout=5), prefix)
    await queue.add({"n": 0})
    await pause(admin, 300)

    with pytest.raises(TimeoutError) as raised:
        async with asyncio.timeout(0.05):
            await queue.add({"n": 1})

    assert not isinstance(raised.value, RedisTimeoutError)
    await unpause(admin)
    assert (await queue.counts()).waiting in (1, 2)


async def test_a_call_cancelled_while_stalled_closes_the_lane(
    connect: Connect, prefix: str
) -> None:
    admin = connect()
    queue = queue_on(connect(), prefix)
    await queue.add({"n": 0})
    await pause(admin, 300)
    call = asyncio.create_task(queue.add({"n": 1}))
    await asyncio.sleep(0.05)

    call.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await call

    lane = redis_call._lane(queue.redis.connection_pool)  # type: ignore[union-attr]

    assert lane is not None
    assert lane.conn is not None and not lane.conn.is_connected
    assert not lane.busy
    await unpause(admin)
    assert (await queue.counts()).waiting in (1, 2)


async def test_a_due_health_check_pings_before_the_call(connect: Connect, prefix: str) -> None:
    admin = connect()
    queue = queue_on(connect(health_check_interval=0.05), prefix)
    await queue.add({"n": 0})

    async def pings() -> int:
        stats = await admin.info("commandstats")
        return int(stats.get("cmdstat_ping", {}).get("calls", 0))

    before = await pings()
    await asyncio.sleep(0.1)
    await queue.add({"n": 1})

    assert await pings() == before + 1


async def test_closing_the_client_closes_the_lane_at_once(connect: Connect, prefix: str) -> None:
    client = connect()
    queue = queue_on(client, prefix)
    await queue.add({"n": 0})
    lane = redis_call._lane(client.connection_pool)
    assert lane is not None and lane.conn is not None

    async with asyncio.timeout(2):  # redis-py waits for its stream to close: passed on
        await client.aclose()

    assert not lane.conn.is_connected


async def test_bytes_no_call_asked_for_send_the_next_call_down_a_new_connection(
    connect: Connect, prefix: str
) -> None:
    admin, queue, lane_id = await opened_lane(connect, prefix, 0)
    lane = redis_call._lane(queue.redis.connection_pool)  # type: ignore[union-attr]
    assert lane is not None and lane.protocol is not None
    lane.protocol.data_received(b"+OK\r\n")  # a reply left over from a call cut short

    await queue.add({"n": 1})

    assert await lane_client_id(admin, queue) != lane_id
    assert (await queue.counts()).waiting == 3
