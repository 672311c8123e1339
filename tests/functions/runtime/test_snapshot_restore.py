"""After a SnapStart restore: the hooks Lambda calls drop what init or an earlier invocation
left (Redis connections, event loops, boto3 clients, the random state)."""

from __future__ import annotations

import importlib
import random
import sys
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
import redis as sync_redis
from corral import snapshot
from corral.scripts import RedisClient
from corral.wiring import Wiring, aws_client, install

from tests.conftest import SHARED_REDIS_URL
from tests.functions.api.test_api_mangum import LambdaRuntime
from tests.support.lambda_env import LambdaEnv, lambda_env


@pytest.fixture
def env() -> Iterator[LambdaEnv]:
    yield from lambda_env()


async def connection_id(redis: RedisClient) -> int:
    return int(await redis.client_id())


def connected(client_id: int) -> bool:
    """Whether the Redis server still has a connection with this id."""
    with sync_redis.Redis.from_url(SHARED_REDIS_URL) as admin:
        return bool(admin.client_list(client_id=[client_id]))


def test_the_hooks_are_handed_to_the_lambda_runtime_when_it_has_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registered: list[Callable[[], None]] = []
    runtime = ModuleType("snapshot_restore_py")
    runtime.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    snapshot._register_with_runtime()
    assert registered == [snapshot.run_after_restore]


def test_without_the_lambda_runtime_registering_does_nothing() -> None:
    assert importlib.util.find_spec("snapshot_restore_py") is None
    snapshot._register_with_runtime()


def test_a_restore_reseeds_random() -> None:
    random.seed(7)
    snapshotted = random.getstate()
    drawn = [random.random() for _ in range(3)]
    random.setstate(snapshotted)
    snapshot.run_after_restore()
    assert [random.random() for _ in range(3)] != drawn


def test_a_restore_builds_new_boto3_clients_behind_the_same_handles() -> None:
    sqs = aws_client("sqs")
    assert aws_client("sqs") is sqs
    before = sqs.meta
    assert sqs.meta is before, "built once"
    snapshot.run_after_restore()
    assert aws_client("sqs") is sqs, "a holder keeps its handle"
    assert sqs.meta is not before, "which builds a new client on next use"


@pytest.mark.parametrize("part", ["poller", "reconciler"])
def test_a_restore_closes_the_runtimes_redis_and_the_next_invocation_reconnects(
    env: LambdaEnv, part: str
) -> None:
    if part == "poller":
        install(Wiring(poller=env.poller_runtime()))
    else:
        install(Wiring(reconciler=env.reconciler_runtime()))
    try:
        before = env.run(connection_id)
        assert connected(before)
        snapshot.run_after_restore()
        assert not connected(before)
        after = env.run(connection_id)
        assert after != before and connected(after)
    finally:
        install(None)


def test_a_restore_reconnects_the_api_s_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", SHARED_REDIS_URL)
    from corral.settings import get_settings

    get_settings.cache_clear()
    lambda_runtime = LambdaRuntime(None)
    try:
        sys.modules.pop("api.app", None)
        module = lambda_runtime.run(importlib.import_module, "api.app")
        loop = lambda_runtime.loop
        before = lambda_runtime.run(loop.run_until_complete, connection_id(module.wiring.redis))
        assert connected(before)
        lambda_runtime.run(snapshot.run_after_restore)
        assert not connected(before)
        after = lambda_runtime.run(loop.run_until_complete, connection_id(module.wiring.redis))
        assert after != before and connected(after)
        lambda_runtime.run(loop.run_until_complete, module.wiring.redis.aclose())
    finally:
        lambda_runtime.close()
        get_settings.cache_clear()


def test_a_restore_with_no_current_event_loop_still_runs_every_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before the first request no loop may be current: the API's hook then has no
    connection to close and must not stop the hooks after it."""
    import asyncio

    monkeypatch.setenv("REDIS_URL", SHARED_REDIS_URL)
    lambda_runtime = LambdaRuntime(None)
    try:
        sys.modules.pop("api.app", None)
        lambda_runtime.run(importlib.import_module, "api.app")  # registers its hook
        lambda_runtime.run(asyncio.set_event_loop, None)
        random.seed(7)
        drawn = random.random()
        random.seed(7)
        lambda_runtime.run(snapshot.run_after_restore)
        assert random.random() != drawn
    finally:
        lambda_runtime.close()
