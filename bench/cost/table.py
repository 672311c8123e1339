"""The cost table: corral per million jobs (single and batched enqueues) and per idle month,
beside SQS + Lambda ESM and QStash.

Per-job figures are marginal: the run's usage minus what the idle system uses over the
same time. The emulator ticks every poller every 2 s (a deployment: every minute), so
the ticks' cost belongs to the idle month, not to the jobs that happen to run meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass

from corral import pricing as p
from corral.records import INDEX_WRITES_PER_JOB, index_write_units

from bench.chaos.run import Result
from bench.cost import estimate as e

ROUNDS_PER_MONTH = p.MINUTES_PER_MONTH
"""A deployment ticks every poller, the scheduler and the reconciler once a minute."""
TICK_S = 2.0
"""The emulator's tick period in these runs (``CORRAL_LOCAL_SCHEDULE_S``)."""
WIDTH = 36


@dataclass
class Measured:
    """One run's usage: in total, and per million jobs beyond the idle baseline."""

    label: str
    result: Result
    usage: e.Usage
    per_million: e.Usage
    api_ms: float

    @property
    def jobs(self) -> int:
        return self.result.outcome.completed


def idle_usage(result: Result) -> e.Usage:
    """What the idle window of ``result`` used."""
    return e.usage(result.idle, [], result.redis_idle, redis_before=result.redis_busy)


def measure(label: str, result: Result, idle: e.Usage, idle_s: float) -> Measured:
    """``result``'s usage, and its marginal usage per million jobs."""
    producer = result.producer
    api = result.ledger.get("api:ms", {})
    if api.get("requests"):
        # Time inside the API app per enqueue, with moto's share swapped for DynamoDB's.
        calls = api.get("aws waves", 0.0) + api.get("lambda invokes", 0.0)
        inside = api["api"] - api.get("aws", 0.0) + calls * e.AWS_CALL_MS
        api_ms = inside / api["requests"] * producer.requests
    else:
        api_ms = producer.request_ms  # the HTTP round trip: an over-estimate
    usage = e.usage(
        result.ledger,
        result.items,
        result.redis_busy,
        api_requests=producer.requests,
        api_ms=api_ms,
        jobs=result.outcome.completed,
    )
    baseline = idle.scaled(result.busy_s / idle_s) if idle_s else e.Usage()
    per_million = usage.minus(baseline).scaled(1e6 / result.outcome.completed)
    return Measured(label, result, usage, per_million, api_ms / max(1, producer.requests))


def _rows(label: str, dollars: dict[str, float]) -> list[str]:
    lines = [label]
    lines += [f"  {name:<{WIDTH}} ${value:>10.4f}" for name, value in dollars.items() if value]
    lines.append(f"  {'total':<{WIDTH}} ${sum(dollars.values()):>10.4f}")
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


def api_line(m: Measured) -> str:
    api, producer = m.result.ledger.get("api:ms", {}), m.result.producer
    n = max(1.0, api.get("requests", 0.0))
    return (
        f"  API requests {producer.requests / m.jobs:.2f}: {m.api_ms:.1f} ms billed "
        f"({api.get('api', 0.0) / n:.1f} ms inside the app, of which "
        f"{api.get('aws', 0.0) / n:.1f} ms waiting on {api.get('aws calls', 0.0) / n:.1f} moto "
        f"calls in {api.get('aws waves', 0.0) / n:.1f} waves; each wave and each of "
        f"{api.get('lambda invokes', 0.0) / n:.2f} wake-up invokes billed as "
        f"{e.AWS_CALL_MS:g} ms each); {producer.request_ms / max(1, producer.requests):.1f}"
        " ms over local HTTP"
    )


def function_aws_line(m: Measured) -> str:
    """The other functions' time waiting on moto, and what replaced it."""
    ledger = m.result.ledger
    runs = sum(ledger.get("lambda:count", {}).values())
    waited = sum(ledger.get("lambda:aws_ms", {}).values())
    waves = sum(ledger.get("lambda:aws_waves", {}).values())
    per_run = max(1.0, runs)
    return (
        f"  pollers, reconciler, scheduler: {runs / m.jobs:.2f} runs per job, each waiting "
        f"{waited / per_run:.1f} ms on moto in {waves / per_run:.2f} waves, billed as "
        f"{e.AWS_CALL_MS:g} ms a wave"
    )


def per_job_lines(m: Measured) -> list[str]:
    """What one job used, as counted (whole run, ticks included)."""
    jobs, u, calls = m.jobs, m.usage, m.result.ledger.get("calls", {})
    writes = sum(calls.get(f"dynamodb.{op}", 0.0) for op in ("PutItem", "UpdateItem", "DeleteItem"))
    units = m.result.ledger.get("units", {})
    handler_ms = units.get("handler.ms", 0.0) / max(1.0, units.get("handler.runs", 0.0))
    return [
        f"per job, {m.label}, as counted over the whole run:",
        *[f"  {name}: {value / jobs:.2f}" for name, value in sorted(u.detail.items())],
        f"  DynamoDB writes {writes / jobs:.2f} (PutItem, UpdateItem, DeleteItem), "
        f"write units {u.write_units / jobs:.2f}, index write units "
        f"{u.index_write_units / jobs:.2f}, read units {u.read_units / jobs:.2f}",
        f"  EventBridge events {u.events / jobs:.2f}",
        api_line(m),
        function_aws_line(m),
        f"  Lambda GB-s busy {u.lambda_gb_s / jobs:.4f}, idle {u.lambda_idle_gb_s / jobs:.4f}; "
        f"ElastiCache ECPUs {u.ecpus / jobs:.1f}; handler time {handler_ms:.1f} ms",
    ]


def unit_lines(m: Measured) -> list[str]:
    """The measured unit costs ``corral.pricing.MEASURED`` holds (for ``/stats``)."""
    u = m.per_million.scaled(1e-6)
    memory = e.memory_gb("api")
    poller_gb_s = u.lambda_gb_s + u.lambda_idle_gb_s - m.api_ms / 1000 * memory
    return [
        "unit costs for corral/pricing.py (MEASURED), per job beyond the idle baseline:",
        f"  api_ms={m.api_ms:.1f} poller_gb_s={max(0.0, poller_gb_s):.4f} ecpus={u.ecpus:.1f}",
    ]


def index_lines(m: Measured) -> list[str]:
    """How the index write units in the totals are reckoned (DynamoDB bills them unseen)."""
    units = e.item_units(m.result.items)
    entries = ", ".join(f"{name} {n}" for name, n in INDEX_WRITES_PER_JOB.items())
    per_job = index_write_units(units)
    return [
        f"DynamoDB index write units, in the totals: {per_job:g} a job "
        f"(${per_job * p.DYNAMODB_WRITE_UNIT * 1e6:.2f} per million), from corral/records.py:",
        f"  entries written per job {entries}; an entry costs the record's {units:g} unit(s)",
        "  where the index holds every attribute, 1 where it holds keys only.",
    ]


def render(single: Measured, batched: Measured | None, idle: e.Usage, idle_s: float) -> str:
    """The whole table, with the counts it comes from. The first line with "total" in it
    is corral's cost per million jobs enqueued one per request."""
    handler_runs = single.result.ledger.get("units", {})
    handler_ms = handler_runs.get("handler.ms", 0.0) / max(1.0, handler_runs.get("handler.runs", 0))
    esm = e.esm_usage(1e6, handler_ms).total()
    esm_status = e.esm_usage(1e6, handler_ms, e.item_units(single.result.items)).total()
    qstash = 1e6 * p.QSTASH_MESSAGE
    idle_month = idle.scaled(ROUNDS_PER_MONTH / (idle_s / TICK_S)) if idle_s else e.Usage()
    storage = e.storage_month(0)
    corral = [(single.label, single.per_million.total())]
    if batched is not None:
        corral.append((batched.label, batched.per_million.total()))
    lines = [
        f"cost per million jobs, {p.REGION}, prices as of {p.PRICES_AS_OF} (corral/pricing.py)",
        f"measured: {single.jobs} jobs, {single.result.run.tenants} tenants, no faults",
        "",
        f"corral total per million jobs, {corral[0][0]}: ${corral[0][1]:.2f}",
        *[f"corral total per million jobs, {label}: ${cost:.2f}" for label, cost in corral[1:]],
        *[
            f"the same, {m.label}, with JobTableCapacity (writes at "
            f"{p.PROVISIONED_USE:.0%} of provisioned units): "
            f"${m.per_million.total(p.DYNAMODB_PROVISIONED_WRITE_UNIT):.2f}"
            for m in (single, batched)
            if m is not None
        ],
        f"SQS + Lambda event source mapping, per million jobs: ${esm:.2f}",
        f"SQS + Lambda ESM plus a DynamoDB status record per job: ${esm_status:.2f}",
        f"QStash, per million messages (list price, $1 per 100,000): ${qstash:.2f}",
    ]
    for label, cost in corral:
        lines.append(
            f"ratio, corral {label}: {cost / esm:.1f}x SQS + ESM, "
            f"{cost / esm_status:.2f}x SQS + ESM + status, {cost / qstash:.2f}x QStash"
        )
    lines += [
        f"corral idle, per month: ${idle_month.total():.2f} "
        f"(+ ${storage:.2f} ElastiCache storage minimum); SQS + ESM idle: "
        f"${e.esm_idle_month().total():.2f}",
        "",
    ]
    for m in (single, batched):
        if m is not None:
            lines += _rows(f"corral, {m.label}, per million jobs", m.per_million.dollars())
    lines += [
        *_rows("corral idle, per month (ticks every minute)", idle_month.dollars()),
        "",
    ]
    for m in (single, batched):
        if m is not None:
            lines += [*per_job_lines(m), *redis_lines(m.result, m.jobs), ""]
    lines += [
        *unit_lines(single),
        *index_lines(single),
        "",
        f"Per-job figures are the run's usage minus the idle system's over the same "
        f"{single.result.busy_s:.0f} s (the emulator",
        f"ticked every {TICK_S:g} s, a deployment every minute). Functions bill their wall time",
        f"with each wave of moto calls taken as {e.AWS_CALL_MS:g} ms; a poller run started for a"
        " lone job does not linger.",
    ]
    return "\n".join(lines)
