"""Faults around the poller: the job table or the DLQ failing on complete, and handlers
that hang past their timeout. No result may be dropped, and nothing may run forever."""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError
from corral.job import JobStatus
from corral.poller import PollerRuntime, PollerSettings
from corral.queue import LeaseSettings
from corral.store import JobStore, now_ms
from corral.wiring import Wiring
from corral.wiring import install as install_wiring
from poller import app

from tests.support.lambda_env import FakeContext, LambdaEnv, lambda_env, load_event
from tests.support.testqueues import registry


class Flaky:
    """A boto3 client whose named calls fail ``times`` times (or until healed), then work."""

    def __init__(self, inner: Any, method: str, times: int = 10**9) -> None:
        self.inner = inner
        self.method = method
        self.left = times
        self.failures = 0
        self._lock = threading.Lock()

    def heal(self) -> None:
        with self._lock:
            self.left = 0

    def __getattr__(self, name: str) -> Any:
        call = getattr(self.inner, name)
        if name != self.method:
            return call

        def maybe_fail(**kwargs: Any) -> Any:
            with self._lock:
                fail = self.left > 0
                if fail:
                    self.left -= 1
                    self.failures += 1
            if fail:
                error = {"Error": {"Code": "InternalServerError", "Message": "injected"}}
                raise ClientError(error, name)  # type: ignore[arg-type]
            return call(**kwargs)

        return maybe_fail


@pytest.fixture(autouse=True, scope="module")
def earlier_garbage() -> None:
    """Collect what earlier modules left to the garbage collector before these timed tests
    run: a leak reported in the middle of one of them would fail it for another's fault."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _: None
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook


@pytest.fixture
def env() -> Iterator[LambdaEnv]:
    yield from lambda_env()


def install(env: LambdaEnv, store: JobStore | None = None, dlq_client: Any = None) -> None:
    dlq = env.dlq
    if dlq_client is not None:
        dlq = type(env.dlq)(dlq_client, env.aws.dlq_url, wait_s=0)
    install_wiring(
        Wiring(
            poller=PollerRuntime(
                registry,
                store or env.store,
                dlq,
                env.loops,
                prefix=env.prefix,
                settings=PollerSettings(linger_ms=300, safety_ms=1000),
                lease=LeaseSettings(cap_ms=1000, margin_ms=500),
            )
        )
    )


def drain(queue: str = "work", budget_ms: int = 60_000) -> dict[str, Any]:
    event = load_event("poller_wake.json", queue=queue)
    reply: dict[str, Any] = app.handler(event, FakeContext(budget_ms))
    return reply


@pytest.fixture(autouse=True)
def uninstall() -> Iterator[None]:
    yield
    install_wiring(None)


def test_a_table_error_on_complete_is_retried_until_the_result_is_durable(
    env: LambdaEnv,
) -> None:
    flaky = Flaky(env.aws.dynamodb, "update_item", times=6)
    install(env, JobStore(cast(Any, flaky), env.aws.table))
    job_id = env.enqueue({"value": "precious"})

    reply = drain()

    assert flaky.failures == 6
    assert reply["completed"] == 1
    record = env.store.get("work", job_id)
    assert record is not None
    assert record.status is JobStatus.COMPLETED
    assert record.result == {"value": "precious", "attempt": 1}


def test_a_table_down_for_a_whole_run_leaves_the_job_to_run_again(env: LambdaEnv) -> None:
    flaky = Flaky(env.aws.dynamodb, "update_item")
    install(env, JobStore(cast(Any, flaky), env.aws.table))
    job_id = env.enqueue({"value": 1})

    first = drain(budget_ms=8_000)  # the store never answers before this run's deadline

    assert first["completed"] == 0
    record = env.store.get("work", job_id)
    assert record is not None
    assert record.status is JobStatus.PENDING  # Redis did not forget the job either

    flaky.heal()
    wait_for_lease_to_lapse(env, job_id)
    second = drain()

    assert second["completed"] == 1
    record = env.store.get("work", job_id)
    assert record is not None
    assert record.status is JobStatus.COMPLETED
    assert record.result == {"value": 1, "attempt": 2}


def wait_for_lease_to_lapse(env: LambdaEnv, job_id: str) -> None:
    key = env.prefix + ":{work}:active"
    for _ in range(100):
        score = env.run(lambda redis: redis.zscore(key, job_id))
        if score is None or score < now_ms():
            return
        time.sleep(0.1)
    raise AssertionError("the lease never lapsed")


def test_a_dlq_error_on_final_failure_is_retried_and_sends_one_letter(env: LambdaEnv) -> None:
    flaky = Flaky(env.aws.sqs, "send_message_batch", times=3)
    install(env, dlq_client=flaky)
    job_id = env.enqueue({"action": "fail"}, options=None)

    reply = drain()

    assert flaky.failures == 3
    assert reply["failed"] == 1
    assert [letter["job_id"] for letter in env.dead_letters()] == [job_id]
    record = env.store.get("work", job_id)
    assert record is not None
    assert record.status is JobStatus.FAILED


def test_a_handler_that_hangs_past_its_timeout_is_failed_and_retried(env: LambdaEnv) -> None:
    install(env)
    job_id = env.enqueue({"sleepMs": 60_000}, queue="slow")  # timeout 1 s, 2 attempts

    reply = drain("slow")

    assert reply["retried"] == 1
    assert reply["failed"] == 1
    record = env.store.get("slow", job_id)
    assert record is not None
    assert record.status is JobStatus.FAILED
    assert record.attempts_made == 2
    assert record.error["type"] == "JobTimeoutError"
    assert [letter["job_id"] for letter in env.dead_letters()] == [job_id]
