"""The cost table: corral per million jobs and per idle month, beside SQS + Lambda ESM."""

from __future__ import annotations

from bench.chaos.run import Config, Result
from bench.cost import estimate as e
from bench.cost import prices as p

ROUNDS_PER_MONTH = p.MINUTES_PER_MONTH
"""A deployment ticks every poller, the scheduler and the reconciler once a minute."""
TICK_S = 2.0
"""The emulator's tick period in these runs (``CORRAL_LOCAL_SCHEDULE_S``)."""


def _rows(label: str, dollars: dict[str, float]) -> list[str]:
    lines = [f"{label}"]
    lines += [f"  {name:<34} ${value:>10.4f}" for name, value in dollars.items() if value]
    lines.append(f"  {'total':<34} ${sum(dollars.values()):>10.4f}")
    return lines


def redis_lines(result: Result, jobs: int) -> list[str]:
    """The Redis commands that cost the most CPU, per job."""
    times = e.command_times(result.redis_busy, None)
    unit = e.simple_us(times)
    top = sorted(times.items(), key=lambda kv: -kv[1][1])[:6]
    lines = [f"  Redis: one ECPU taken as {unit:.1f} us of CPU (a simple command here)"]
    lines += [
        f"    {name}: {calls / jobs:.1f} calls/job, {usec / max(1.0, calls):.0f} us/call"
        for name, (calls, usec) in top
    ]
    return lines


def render(result: Result, idle_s: float, config: Config) -> str:
    """The whole table, with the counts it comes from."""
    jobs = result.outcome.completed
    producer = result.producer
    busy = e.usage(
        result.ledger,
        result.items,
        result.redis_busy,
        api_requests=producer.requests,
        api_ms=producer.request_ms,
    )
    per_million = busy.scaled(1e6 / jobs)
    rounds = idle_s / TICK_S
    idle = e.usage(result.idle, [], result.redis_idle, redis_before=result.redis_busy)
    idle_month = idle.scaled(ROUNDS_PER_MONTH / rounds)
    units = result.ledger.get("units", {})
    handler_ms = units.get("handler.ms", 0.0) / max(1.0, units.get("handler.runs", 0.0))
    record_units = e.item_units(result.items)
    esm = e.esm_usage(1e6, handler_ms)
    esm_status = e.esm_usage(1e6, handler_ms, record_units)
    storage = e.storage_month(0)

    lines = [
        f"cost per million jobs, us-east-1, prices as of {p.PRICES_AS_OF} (bench/cost/prices.py)",
        f"measured: {jobs} jobs, {config.tenants} tenants, one job per API request, no faults",
        "",
        *_rows("corral, per million jobs", per_million.dollars()),
        *_rows("SQS + Lambda event source mapping, per million jobs", esm.dollars()),
        *_rows("  the same, plus a status record per job in DynamoDB", esm_status.dollars()),
        "",
        *_rows("corral idle, per month (ticks every minute)", idle_month.dollars()),
        f"  {'ElastiCache storage (100 MB minimum)':<34} ${storage:>10.4f}",
        *_rows("SQS + Lambda ESM idle, per month (long polling)", e.esm_idle_month().dollars()),
        "",
        "per job, as counted:",
        *[f"  {name}: {value / jobs:.2f}" for name, value in sorted(busy.detail.items())],
        f"  API requests: {producer.requests / jobs:.2f}, "
        f"mean {producer.request_ms / max(1, producer.requests):.0f} ms (billed as API duration)",
        f"  DynamoDB write units {busy.write_units / jobs:.2f}, read units "
        f"{busy.read_units / jobs:.2f} (a job record is {record_units:.0f} KB)",
        f"  SQS requests {busy.sqs_requests / jobs:.2f}",
        f"  Lambda GB-s {busy.lambda_gb_s / jobs:.4f}, ElastiCache ECPUs {busy.ecpus / jobs:.1f}",
        f"  handler time {handler_ms:.1f} ms (the ESM batch runs ten of them in turn)",
        *redis_lines(result, jobs),
        "",
        f"The emulator ticked every {TICK_S:g} s (a deployment: every minute), so the ticks'",
        "share of the per-job figures is overstated; pollers bill their wall time, so the",
        "Lambda figure falls as the arrival rate rises. Prices: bench/cost/prices.py.",
    ]
    return "\n".join(lines)
