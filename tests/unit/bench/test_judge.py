"""The chaos run's verdict and the cost arithmetic, on made-up counts (no servers)."""

from __future__ import annotations

from typing import Any

from bench.chaos.collect import judge
from bench.chaos.load import Planned
from bench.cost import estimate


def planned(n: int, kind: str = "fast") -> Planned:
    return Planned("email", f"c{n:07d}", 0, kind, {"kind": kind})


def record(job: Planned, status: str) -> dict[str, Any]:
    return {
        "pk": {"S": job.key},
        "status": {"S": status},
        "attemptsMade": {"N": "1"},
        "createdAt": {"N": "1000"},
        "completedAt": {"N": "1500"},
    }


def ledger(**hashes: dict[str, float]) -> dict[str, dict[str, float]]:
    return {"effects": {}, "recorded": {}, "runs": {}, **hashes}


def test_a_clean_run_passes() -> None:
    fast, poison = planned(1), planned(2, "poison")
    counts = ledger(effects={fast.key: 1}, recorded={fast.key: 1}, runs={fast.key: 1})
    letters = [{"queue": "email", "job_id": poison.job_id}]

    out = judge(
        [fast, poison],
        {fast.key: 0.0, poison.key: 0.0},
        [record(fast, "completed"), record(poison, "failed")],
        letters,
        counts,
    )

    assert out.ok
    assert (out.completed, out.failed, out.poison) == (1, 1, 1)
    assert out.latency_ms == [500]


def test_a_job_left_pending_or_missing_is_lost() -> None:
    pending, missing = planned(1), planned(2)
    out = judge(
        [pending, missing],
        {pending.key: 0.0, missing.key: 0.0},
        [record(pending, "pending")],
        [],
        ledger(),
    )

    assert out.lost == [pending.key, missing.key]
    assert not out.ok


def test_two_recorded_completions_and_a_completion_without_work_fail() -> None:
    twice, idle = planned(1), planned(2)
    counts = ledger(effects={twice.key: 2}, recorded={twice.key: 2, idle.key: 1})

    out = judge(
        [twice, idle],
        {twice.key: 0.0, idle.key: 0.0},
        [record(twice, "completed"), record(idle, "completed")],
        [],
        counts,
    )

    assert out.completed_twice == [twice.key]
    assert out.lost == [idle.key]  # recorded completed, but its side effect never happened
    assert out.reran == 1


def test_the_dlq_must_hold_exactly_the_poison_jobs() -> None:
    fast, poison = planned(1), planned(2, "poison")
    counts = ledger(effects={fast.key: 1}, recorded={fast.key: 1})
    letters = [{"queue": "email", "job_id": fast.job_id}]

    out = judge(
        [fast, poison],
        {fast.key: 0.0, poison.key: 0.0},
        [record(fast, "completed"), record(poison, "failed")],
        letters,
        counts,
    )

    assert out.dlq_not_poison == [fast.key]
    assert out.poison_not_in_dlq == [poison.key]
    assert not out.ok


def test_scripts_cost_ecpus_by_cpu_time_against_a_simple_command() -> None:
    stats = {
        "cmdstat_get": {"calls": 10, "usec": 20},  # 2 us each: the unit
        "cmdstat_evalsha": {"calls": 10, "usec": 200},  # 20 us each: 10 ECPUs each
        "bytes": 0,
    }

    assert estimate.ecpus(stats) == 10 + 100


def test_an_esm_batch_of_ten_is_one_invocation_a_receive_and_a_delete() -> None:
    usage = estimate.esm_usage(100, handler_ms=2.0)

    assert usage.lambda_requests == 10
    assert usage.sqs_requests == 100 + 2 * 10
    assert usage.lambda_gb_s == 10 * 0.020 * 0.5
