"""The reconciler function: Redis rebuilt from the job table, and the table synced."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from corral.job import JobOptions, JobState, JobStatus
from corral.queue import Outcome
from corral.records import OutcomeRecord
from corral.scripts import RedisClient
from corral.store import now_ms
from corral.wiring import Wiring, install
from poller import app as poller_app
from reconciler import app

from tests.support.lambda_env import FakeContext, LambdaEnv, lambda_env, load_event


@pytest.fixture
def env() -> Iterator[LambdaEnv]:
    for env in lambda_env():
        install(Wiring(poller=env.poller_runtime(), reconciler=env.reconciler_runtime()))
        try:
            yield env
        finally:
            install(None)
            install(None)


def reconcile(event: str = "reconciler_tick.json") -> dict[str, Any]:
    reply = app.handler(load_event(event), FakeContext(60_000))
    queues: dict[str, Any] = reply["queues"]
    return queues


def drain(queue: str = "work") -> dict[str, Any]:
    event = load_event("poller_wake.json", queue=queue)
    reply: dict[str, Any] = poller_app.handler(event, FakeContext(60_000))
    return reply


def state(env: LambdaEnv, job_id: str) -> JobState | None:
    async def read(redis: RedisClient) -> JobState | None:
        job = await env.queue(redis).get_job(job_id)
        return None if job is None else job.state

    return env.run(read)


def status(env: LambdaEnv, job_id: str) -> JobStatus:
    record = env.store.get("work", job_id)
    assert record is not None
    return record.status


def test_after_a_flush_pending_jobs_are_restored_and_run_once(env: LambdaEnv) -> None:
    ids = [env.enqueue({"value": i}) for i in range(3)]
    later = env.enqueue({"value": "later"}, options=JobOptions(delay=600_000))
    env.flush()

    reply = reconcile()

    assert reply["work"]["restored"] == 4
    assert state(env, later) is JobState.DELAYED
    assert drain()["completed"] == 3
    assert [status(env, job_id) for job_id in ids] == [JobStatus.COMPLETED] * 3
    assert reconcile()["work"]["restored"] == 0  # nothing is restored twice


def test_a_restored_job_keeps_its_options_and_attempts(env: LambdaEnv) -> None:
    job_id = env.enqueue({"action": "fail"}, options=JobOptions(attempts=2, priority=5))
    record = env.store.get("work", job_id)
    assert record is not None
    at = now_ms() - 60_000
    env.store.record_outcomes([OutcomeRecord("work", job_id, "acme", JobStatus.PROCESSING, 1, at)])
    env.flush()

    assert reconcile()["work"]["restored"] == 1

    job = env.run(lambda redis: env.queue(redis).get_job(job_id))
    assert job is not None
    assert job.attempts_made == 1
    assert job.options.attempts == 2
    assert job.priority == 5
    assert drain()["failed"] == 1  # its second attempt is its last
    assert status(env, job_id) is JobStatus.FAILED


def test_a_job_that_may_still_be_running_is_left_alone(env: LambdaEnv) -> None:
    job_id = env.enqueue({"value": 1})
    env.store.record_outcomes(
        [OutcomeRecord("work", job_id, "acme", JobStatus.PROCESSING, 1, now_ms())]
    )
    env.flush()

    reply = reconcile()

    assert reply["work"]["restored"] == 0
    assert reply["work"]["waitingOut"] == 1
    assert state(env, job_id) is None


def test_a_lost_last_attempt_fails_the_job_into_the_dlq(env: LambdaEnv) -> None:
    job_id = env.enqueue({"value": 1}, options=JobOptions(attempts=1))
    at = now_ms() - 60_000
    env.store.record_outcomes([OutcomeRecord("work", job_id, "acme", JobStatus.PROCESSING, 1, at)])
    env.flush()

    assert reconcile()["work"]["failed"] == 1

    assert status(env, job_id) is JobStatus.FAILED
    assert [letter["job_id"] for letter in env.dead_letters()] == [job_id]


def finish_in_redis_only(env: LambdaEnv, kind: str, payload: Any) -> str:
    """Run a job's attempt in Redis without telling the table (a crash in between)."""
    job_id = env.enqueue({"value": 1}, options=JobOptions(attempts=1))

    async def settle(redis: RedisClient) -> None:
        queue = env.queue(redis)
        job = (await queue.claim("w", 1)).jobs[0]
        codes, _ = await queue.settle("w", [Outcome(job, kind, json.dumps(payload))])
        assert codes == [1]

    env.run(settle)
    return job_id


def test_a_completion_only_redis_saw_is_synced(env: LambdaEnv) -> None:
    job_id = finish_in_redis_only(env, "c", {"answer": 42})

    assert reconcile()["work"]["synced"] == 1

    record = env.store.get("work", job_id)
    assert record is not None
    assert record.status is JobStatus.COMPLETED
    assert record.result == {"answer": 42}


def test_a_failure_only_redis_saw_is_synced_with_its_dead_letter(env: LambdaEnv) -> None:
    job_id = finish_in_redis_only(env, "f", {"message": "boom"})

    assert reconcile()["work"]["synced"] == 1

    assert status(env, job_id) is JobStatus.FAILED
    letters = env.dead_letters()
    assert [(letter["job_id"], letter["error"]) for letter in letters] == [
        (job_id, {"message": "boom"})
    ]


def test_young_records_wait_for_the_next_run(env: LambdaEnv) -> None:
    install(Wiring(reconciler=env.reconciler_runtime(grace_ms=60_000)))
    env.enqueue({"value": 1})
    env.flush()

    assert reconcile()["work"]["restored"] == 0


def test_an_on_demand_run_reconciles_the_queues_it_names(env: LambdaEnv) -> None:
    event = load_event("reconciler_on_demand.json", queues=["slow"])
    reply = app.handler(event, FakeContext(60_000))

    assert list(reply["queues"]) == ["slow"]
