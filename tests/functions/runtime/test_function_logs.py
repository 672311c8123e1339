"""What the functions log: each line names its own function and queue, even with several
invocations in one process (as the emulator runs them); idle runs say nothing at INFO; a
job that cannot fit a poller run is a warning and a metric."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from corral.invocation import logger
from corral.wiring import Wiring, install
from poller import app as poller
from reconciler import app as reconciler

from tests.support.lambda_env import FakeContext, LambdaEnv, lambda_env, load_event


@pytest.fixture
def env() -> Iterator[LambdaEnv]:
    yield from lambda_env()


@pytest.fixture
def installed(env: LambdaEnv) -> Iterator[LambdaEnv]:
    install(Wiring(poller=env.poller_runtime(), reconciler=env.reconciler_runtime()))
    try:
        yield env
    finally:
        install(None)
        install(None)


Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def lines() -> Iterator[Lines]:
    """The JSON lines the functions logged so far (INFO and up, the default level)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    handler.setLevel(logging.INFO)
    target = logging.getLogger(logger.name)
    target.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        target.removeHandler(handler)


def wake(queue: str) -> dict[str, Any]:
    return load_event("poller_wake.json", queue=queue)


def test_concurrent_invocations_each_log_their_own_function_and_queue(
    installed: LambdaEnv, lines: Lines
) -> None:
    for i in range(3):
        installed.enqueue({"value": i, "sleepMs": 50}, queue="work")
        installed.enqueue({"value": i, "sleepMs": 50}, queue="slow")

    def run(queue: str) -> None:
        poller.handler(wake(queue), FakeContext(30_000, function_name=f"corral-poller-{queue}"))

    def reconcile() -> None:
        reconciler.handler({}, FakeContext(30_000, function_name="corral-reconciler"))

    threads = [threading.Thread(target=run, args=(q,)) for q in ("work", "slow")]
    threads.append(threading.Thread(target=reconcile))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    logged = lines()
    reports = [line for line in logged if line["message"] == "poller run finished"]
    assert sorted(line["queue"] for line in reports) == ["slow", "work"]
    for line in logged:
        if "queue" in line:
            assert line["function_name"] == f"corral-poller-{line['queue']}", line
        else:
            assert line["function_name"] == "corral-reconciler", line
    for report in reports:
        assert report["report"]["queue"] == report["queue"]


def test_an_idle_run_logs_nothing_at_info(installed: LambdaEnv, lines: Lines) -> None:
    # The queue's first run notices it has no Redis marker yet (one line); later idle
    # runs, every minute, say nothing.
    poller.handler(wake("work"), FakeContext(30_000))
    first = lines()
    poller.handler(wake("work"), FakeContext(30_000))
    reconciler.handler({}, FakeContext(30_000, function_name="corral-reconciler"))

    assert [line["message"] for line in first] == [
        "Redis holds no marker of queue work (new, flushed or failed over): reconciling now"
    ]
    assert lines() == first


def test_a_job_that_cannot_fit_is_a_warning_and_a_metric(
    installed: LambdaEnv, lines: Lines, capsys: pytest.CaptureFixture[str]
) -> None:
    # 4 s left, 2 s kept back: the work queue's 3 s jobs cannot start in this run.
    installed.enqueue({"value": 1})

    reply = poller.handler(wake("work"), FakeContext(4_000))

    assert (reply["claimed"], reply["too_long"]) == (0, 1)
    [warning] = [line for line in lines() if line["level"] == "WARNING"]
    assert warning["message"].startswith("1 waiting jobs of work cannot start")
    assert (warning["queue"], warning["function_name"]) == ("work", "corral-poller-work")
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    [metrics] = [m for m in emf if "JobsTooLong" in m]
    assert metrics["JobsTooLong"] == [1.0] and metrics["queue"] == "work"
