"""The cost table from a run's counts: marginal per-job cost, and its first total line."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

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
