"""The cost table from a run's counts: marginal per-job cost, and its first total line."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from corral import pricing as p

from bench.chaos.run import Result
from bench.cost.table import idle_usage, measure, render

STATS = {
    "cmdstat_hset": {"calls": 100, "usec": 200},
    "cmdstat_evalsha": {"calls": 100, "usec": 4000},
    "bytes": 1000,
}


def result(jobs: int, requests: int) -> Result:
    ledger: dict[str, Any] = {
        "lambda:count": {"corral-poller-email": 10.0},
        "lambda:ms": {"corral-poller-email": 4000.0},
        "lambda:idle_ms": {"corral-poller-email": 3000.0},
        "api:ms": {"api": 10.0 * requests, "requests": float(requests)},
        "calls": {"dynamodb.PutItem": float(jobs), "dynamodb.UpdateItem": float(jobs)},
        "units": {"dynamodb.put_wcu": float(jobs), "handler.ms": 3.0 * jobs, "handler.runs": jobs},
    }
    idle = {
        "lambda:count": {"corral-poller-email": 5.0},
        "lambda:ms": {"corral-poller-email": 1000.0},
        "lambda:idle_ms": {"corral-poller-email": 900.0},
    }
    fake = SimpleNamespace(
        ledger=ledger,
        items=[{"pk": {"S": "x"}}],
        redis_busy=STATS,
        redis_idle=STATS,
        idle=idle,
        busy_s=20.0,
        producer=SimpleNamespace(requests=requests, request_ms=40.0 * requests),
        outcome=SimpleNamespace(completed=jobs),
        run=SimpleNamespace(tenants=3),
    )
    return cast(Result, fake)


def test_the_first_total_line_is_corrals_cost_for_single_enqueues() -> None:
    single, batched = result(100, 100), result(100, 10)
    idle = idle_usage(single)
    one = measure("single enqueues (one job per API request)", single, idle, 20.0)
    many = measure("batches of 10 per API request", batched, idle, 20.0)
    text = render(one, many, idle, 20.0)
    first = next(line for line in text.splitlines() if "total" in line)
    assert first.startswith("corral total per million jobs, single enqueues")
    assert first.endswith(f"${one.per_million.total():.2f}")
    assert many.per_million.total() < one.per_million.total(), "batches share API requests"
    assert one.api_ms == 10.0, "time inside the app, not over HTTP"
    assert "Lambda GB-seconds idle" in text and "QStash" in text and "ratio" in text
    assert one.per_million.lambda_idle_gb_s < one.usage.lambda_idle_gb_s * 1e6 / 100


def test_a_functions_time_waiting_on_moto_is_billed_as_aws_latency() -> None:
    slow = result(100, 100)
    # 10 runs: 4,000 ms billed, 2,000 of them waiting on moto in 20 waves of calls.
    slow.ledger["lambda:aws_ms"] = {"corral-poller-email": 2000.0}
    slow.ledger["lambda:aws_waves"] = {"corral-poller-email": 20.0}
    plain_result = result(100, 100)
    for run in (slow, plain_result):
        run.ledger["lambda:idle_ms"] = {"corral-poller-email": 1000.0}
    idle = idle_usage(slow)

    swapped = measure("single", slow, idle, 20.0).usage
    plain = measure("single", plain_result, idle, 20.0).usage

    # 2,000 ms of moto became 20 x 5 ms; the idle part stays what it was.
    busy_ms_saved = (plain.lambda_gb_s - swapped.lambda_gb_s) / (128 / 1024) * 1000
    assert round(busy_ms_saved) == 2000 - 20 * 5
    assert swapped.lambda_idle_gb_s == plain.lambda_idle_gb_s


def test_the_index_write_units_are_in_the_totals() -> None:
    single = result(100, 100)
    idle = idle_usage(single)
    one = measure("single", single, idle, 20.0)
    # Records under 1 KB: four index entries a job, one unit each.
    assert one.per_million.index_write_units == 4e6
    dollars = one.per_million.dollars()
    assert dollars["DynamoDB index write units"] == pytest.approx(2.50)
    text = render(one, None, idle, 20.0)
    row = next(line for line in text.splitlines() if "DynamoDB index write units" in line)
    assert row.strip().endswith("$    2.5000")
    assert "Not in the totals" not in text


def test_the_provisioned_job_table_line_reprices_only_the_writes() -> None:
    single = result(100, 100)
    idle = idle_usage(single)
    one = measure("single", single, idle, 20.0)
    on_demand = one.per_million.dollars()
    provisioned = one.per_million.dollars(p.DYNAMODB_PROVISIONED_WRITE_UNIT)
    # $0.00065 a unit-hour at 70% use: about $0.26 per million units, against $0.625.
    assert pytest.approx(0.258, abs=0.001) == p.DYNAMODB_PROVISIONED_WRITE_UNIT * 1e6
    writes = ("DynamoDB write units", "DynamoDB index write units")
    for line in writes:
        assert provisioned[line] == pytest.approx(on_demand[line] * 0.258 / 0.625, rel=0.01)
    assert {k: v for k, v in provisioned.items() if k not in writes} == {
        k: v for k, v in on_demand.items() if k not in writes
    }
    text = render(one, None, idle, 20.0)
    first = next(line for line in text.splitlines() if "total" in line)
    assert first.endswith(f"${one.per_million.total():.2f}"), "on demand comes first"
    row = next(line for line in text.splitlines() if "JobTableCapacity" in line)
    assert row.endswith(f"${sum(provisioned.values()):.2f}")
