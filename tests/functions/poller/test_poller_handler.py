"""The poller function, driven by EventBridge scheduled events and wake-up events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from corral.errors import UnknownQueueError
from corral.job import JobStatus
from corral.keys import QueueKeys
from corral.settings import get_settings
from corral.wiring import Wiring, install
from poller import app

from tests.support.lambda_env import FakeContext, LambdaEnv, lambda_env, load_event


@pytest.fixture
def env() -> Iterator[LambdaEnv]:
    yield from lambda_env()


@pytest.fixture
def installed(env: LambdaEnv) -> Iterator[LambdaEnv]:
    install(Wiring(poller=env.poller_runtime()))
    try:
        yield env
    finally:
        install(None)


@pytest.fixture
def queue_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The poller function's environment names its queue (one function per queue)."""
    monkeypatch.setenv("CORRAL_QUEUE", "work")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def wake(queue: str = "work") -> dict[str, Any]:
    return load_event("poller_wake.json", queue=queue)


def test_a_tick_drains_the_queue_then_exits_when_empty(
    installed: LambdaEnv, queue_env: None
) -> None:
    ids = [installed.enqueue({"value": i}) for i in range(5)]
    context = FakeContext(60_000)

    reply = app.handler(load_event("poller_tick.json"), context)

    assert reply["completed"] == 5
    assert reply["stop_reason"] == "empty"
    assert context.get_remaining_time_in_millis() > 0
    for i, job_id in enumerate(ids):
        record = installed.store.get("work", job_id)
        assert record is not None
        assert record.status is JobStatus.COMPLETED
        assert record.result == {"value": i, "attempt": 1}
        assert record.attempts_made == 1


def test_the_poller_flag_is_cleared_when_it_exits(installed: LambdaEnv) -> None:
    installed.enqueue({"value": 1})
    app.handler(wake(), FakeContext(60_000))

    flag = QueueKeys("work", installed.prefix).poller_flag()
    assert installed.run(lambda redis: redis.exists(flag)) == 0


def test_a_job_that_fails_for_good_goes_to_the_dlq_once_then_is_failed(
    installed: LambdaEnv,
) -> None:
    job_id = installed.enqueue({"action": "fail", "value": "x"})

    reply = app.handler(wake(), FakeContext(60_000))

    assert reply["retried"] == 2
    assert reply["failed"] == 1
    letters = installed.dead_letters()
    assert [letter["job_id"] for letter in letters] == [job_id]
    assert letters[0]["attempts_made"] == 3
    assert letters[0]["tenant"] == "acme"
    assert letters[0]["data"]["value"] == "x"
    assert "failing on purpose" in letters[0]["error"]["message"]
    record = installed.store.get("work", job_id)
    assert record is not None
    assert record.status is JobStatus.FAILED
    assert record.attempts_made == 3
    assert "attempt 3" in record.error["message"]


def test_a_flaky_job_is_retried_until_it_completes(installed: LambdaEnv) -> None:
    job_id = installed.enqueue({"action": "flaky", "failTimes": 2})

    reply = app.handler(wake(), FakeContext(60_000))

    assert reply["retried"] == 2
    record = installed.store.get("work", job_id)
    assert record is not None
    assert record.status is JobStatus.COMPLETED
    assert record.result["attempt"] == 3
    assert installed.dead_letters() == []


def test_no_job_starts_that_cannot_finish_before_the_deadline(installed: LambdaEnv) -> None:
    # 4 s left, 2 s kept in reserve: a job with a 3 s timeout does not fit.
    job_id = installed.enqueue({"value": 1})
    context = FakeContext(4_000)

    reply = app.handler(wake(), context)

    assert reply["claimed"] == 0
    assert reply["stop_reason"] == "deadline"
    assert context.get_remaining_time_in_millis() > 0
    record = installed.store.get("work", job_id)
    assert record is not None
    assert record.status is JobStatus.PENDING


def test_a_deep_backlog_starts_more_pollers_up_to_the_queue_limit(env: LambdaEnv) -> None:
    # One handler per poller and a queue limit of 4: at most 4 pollers, so 3 more.
    install(Wiring(poller=env.poller_runtime(concurrency=1, backlog_per_poller=2)))
    try:
        for i in range(12):
            env.enqueue({"value": i, "sleepMs": 20})
        reply = app.handler(wake(), FakeContext(60_000))
    finally:
        install(None)

    assert reply["completed"] == 12
    assert env.started == ["work"] * 3
    assert reply["started_pollers"] == 3


def test_overlapping_ticks_run_each_job_once(installed: LambdaEnv, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    ids = [installed.enqueue({"value": i, "runLog": str(log), "sleepMs": 5}) for i in range(20)]
    replies: list[dict[str, Any]] = []

    def tick() -> None:
        replies.append(app.handler(wake(), FakeContext(60_000)))

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    runs = [line.split()[0] for line in log.read_text().splitlines()]
    assert sorted(runs) == sorted(ids)
    assert sum(r["completed"] for r in replies) == 20


def test_an_unknown_queue_is_an_error(installed: LambdaEnv) -> None:
    with pytest.raises(UnknownQueueError):
        app.handler(wake("nope"), FakeContext(10_000))
