"""Counted usage of a run, and its price per million jobs and per idle month."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from corral import pricing as p
from corral.records import index_write_units

from bench.chaos.faults import item_bytes
from infra.deploy.template_model import load_template
from infra.local.template import TEMPLATE

SIMPLE_COMMANDS = frozenset(
    {"get", "set", "hget", "hset", "zadd", "zrem", "zcard", "del", "exists"}
)
"""Commands that cost one ECPU each; their mean time here is what one ECPU's worth of CPU is."""
HARNESS_COMMANDS = frozenset({"info", "dbsize", "scan", "flushall", "ping"})
"""The run's own probes (memory sampling, the final checks), which corral does not make."""
SIMPLE_COMMAND_US = 2.0
"""The fallback for that time, if a run made none of them."""
AWS_CALL_MS = 5.0
"""What one AWS call takes from a Lambda in its region (DynamoDB: "single-digit
milliseconds"). A function's time waiting on moto is replaced by this per wave of calls
(parallel ones overlap), and each of the API's wake-ups (a Lambda ``Invoke`` in AWS, a
local call here) adds it."""
ESM_BATCH = 10
ESM_POLLERS = 5
"""An SQS event source mapping long-polls with five pollers while the queue is empty."""
LONG_POLL_S = 20


@dataclass
class Usage:
    """Billable units, before prices."""

    lambda_requests: float = 0.0
    lambda_gb_s: float = 0.0
    """Busy: running handlers, claiming, settling, starting up."""
    lambda_idle_gb_s: float = 0.0
    """Idle: pollers waiting with nothing to run."""
    api_requests: float = 0.0
    write_units: float = 0.0
    index_write_units: float = 0.0
    """Written to the job table's indexes: not counted per call (DynamoDB bills them with
    the table write, unseen), but derived from the design (``corral.records``)."""
    read_units: float = 0.0
    sqs_requests: float = 0.0
    ecpus: float = 0.0
    events: float = 0.0
    detail: dict[str, float] = field(default_factory=dict)

    def dollars(self, write_unit: float = p.DYNAMODB_WRITE_UNIT) -> dict[str, float]:
        """Each line's cost, with writes at ``write_unit`` (on demand unless told)."""
        return {
            "Lambda requests": self.lambda_requests * p.LAMBDA_REQUEST,
            "Lambda GB-seconds busy (arm64)": self.lambda_gb_s * p.LAMBDA_GB_SECOND_ARM,
            "Lambda GB-seconds idle (arm64)": self.lambda_idle_gb_s * p.LAMBDA_GB_SECOND_ARM,
            "API Gateway HTTP API requests": self.api_requests * p.HTTP_API_REQUEST,
            "DynamoDB write units": self.write_units * write_unit,
            "DynamoDB index write units": self.index_write_units * write_unit,
            "DynamoDB read units": self.read_units * p.DYNAMODB_READ_UNIT,
            "SQS requests": self.sqs_requests * p.SQS_REQUEST,
            "ElastiCache ECPUs": self.ecpus * p.ELASTICACHE_ECPU,
            "EventBridge events (job lifecycle)": self.events * p.EVENTBRIDGE_EVENT,
        }

    def scaled(self, factor: float) -> Usage:
        scaled = Usage(**{k: v * factor for k, v in vars(self).items() if k != "detail"})
        scaled.detail = {k: v * factor for k, v in self.detail.items()}
        return scaled

    def minus(self, other: Usage) -> Usage:
        """What this window used beyond ``other`` (each unit at least zero)."""
        fields = {
            k: max(0.0, v - getattr(other, k)) for k, v in vars(self).items() if k != "detail"
        }
        left = Usage(**fields)
        left.detail = dict(self.detail)
        return left

    def total(self, write_unit: float = p.DYNAMODB_WRITE_UNIT) -> float:
        return sum(self.dollars(write_unit).values())


@cache
def memory_mb() -> dict[str, int]:
    """Each function's memory as ``template.yaml`` sizes it (by its name in the ledger)."""
    template = load_template(TEMPLATE)
    default = int(template["Globals"]["Function"].get("MemorySize", 128))
    resources = template["Resources"]
    sizes = {"api": int(resources["ApiFunction"]["Properties"].get("MemorySize", default))}
    for name in ("scheduler", "reconciler"):
        props = resources[f"{name.title()}Function"]["Properties"]
        sizes[f"corral-{name}"] = int(props.get("MemorySize", default))
    for resource in resources.values():
        props = resource.get("Properties") or {} if isinstance(resource, dict) else {}
        name = props.get("FunctionName", "")
        name = str(name.get("Fn::Sub", "") if isinstance(name, dict) else name)
        if props.get("Handler") == "poller.app.handler" and "-poller-" in name:
            queue = name.rsplit("-poller-", 1)[1]
            sizes[f"corral-poller-{queue}"] = int(props.get("MemorySize", default))
    sizes["default"] = default
    return sizes


def memory_gb(function: str) -> float:
    sizes = memory_mb()
    return sizes.get(function, sizes["default"]) / 1024


def command_times(
    stats: dict[str, Any], before: dict[str, Any] | None
) -> dict[str, tuple[float, float]]:
    """Calls and CPU microseconds per command in a window of ``INFO commandstats``."""
    before = before or {}
    out = {}
    for name, value in stats.items():
        if not name.startswith("cmdstat_") or not isinstance(value, dict):
            continue
        if name.removeprefix("cmdstat_") in HARNESS_COMMANDS:
            continue
        old = before.get(name, {"calls": 0, "usec": 0})
        out[name.removeprefix("cmdstat_")] = (
            float(value["calls"] - old["calls"]),
            float(value["usec"] - old["usec"]),
        )
    return out


def simple_us(times: dict[str, tuple[float, float]]) -> float:
    """This machine's CPU time of a simple command (the unit a scripted call is measured in)."""
    calls = sum(times[c][0] for c in SIMPLE_COMMANDS if c in times)
    usec = sum(times[c][1] for c in SIMPLE_COMMANDS if c in times)
    return usec / calls if calls else SIMPLE_COMMAND_US


def ecpus(stats: dict[str, Any], before: dict[str, Any] | None = None) -> float:
    """ElastiCache ECPUs: one per command, more for CPU-heavy ones (Lua scripts), plus one
    per KB moved beyond the first of each command."""
    times = command_times(stats, before)
    unit = simple_us(times)
    total, calls = 0.0, 0.0
    for n, usec in times.values():
        total += max(n, usec / unit)
        calls += n
    moved = float(stats.get("bytes", 0) - (before or {}).get("bytes", 0))
    return total + max(0.0, moved / 1024 - calls)


def item_units(items: list[dict[str, Any]]) -> float:
    """Write units of one write of a typical job record (its mean size, rounded up to 1 KB)."""
    if not items:
        return 1.0
    mean = sum(item_bytes(i) for i in items) / len(items)
    return float(math.ceil(mean / 1024))


def usage(
    ledger: dict[str, dict[str, float]],
    items: list[dict[str, Any]],
    redis_stats: dict[str, Any],
    *,
    api_requests: float = 0.0,
    api_ms: float = 0.0,
    redis_before: dict[str, Any] | None = None,
    jobs: float = 0.0,
) -> Usage:
    """What the counters of a window add up to; ``jobs`` ran once each and completed."""
    u = Usage()
    for function, count in ledger.get("lambda:count", {}).items():
        u.lambda_requests += count
        ms = ledger.get("lambda:ms", {}).get(function, 0.0)
        # Its time waiting on moto, swapped for AWS's latency per wave of calls.
        waited = ledger.get("lambda:aws_ms", {}).get(function, 0.0)
        waves = ledger.get("lambda:aws_waves", {}).get(function, 0.0)
        ms = max(0.0, ms - waited) + waves * AWS_CALL_MS
        idle_ms = min(ms, ledger.get("lambda:idle_ms", {}).get(function, 0.0))
        u.lambda_gb_s += (ms - idle_ms) / 1000 * memory_gb(function)
        u.lambda_idle_gb_s += idle_ms / 1000 * memory_gb(function)
        u.detail[f"{function} invocations"] = count
    u.lambda_requests += api_requests
    u.lambda_gb_s += api_ms / 1000 * memory_gb("api")
    u.api_requests = api_requests
    calls = ledger.get("calls", {})
    units = ledger.get("units", {})
    per_write = item_units(items)
    writes = sum(calls.get(f"dynamodb.{op}", 0.0) for op in ("UpdateItem", "DeleteItem"))
    u.write_units = units.get("dynamodb.put_wcu", 0.0) + writes * per_write
    u.index_write_units = jobs * index_write_units(per_write)
    u.read_units = units.get("dynamodb.rcu", 0.0)
    u.sqs_requests = units.get("sqs.requests", 0.0)
    u.events = units.get("events.entries", 0.0)
    u.ecpus = ecpus(redis_stats, redis_before)
    u.detail.update({k: v for k, v in calls.items()})
    return u


def esm_usage(jobs: float, handler_ms: float, status_units: float = 0.0) -> Usage:
    """The same jobs on SQS with a Lambda event source mapping (batches of ten).

    One SendMessage per job, one ReceiveMessage and one DeleteMessageBatch per batch, one
    invocation per batch running its ten handlers in turn; ``status_units`` adds a job
    record (a put and an update) for the status corral keeps.
    """
    batches = math.ceil(jobs / ESM_BATCH)
    billed_ms = max(1.0, math.ceil(ESM_BATCH * handler_ms))
    u = Usage(
        lambda_requests=batches,
        lambda_gb_s=batches * billed_ms / 1000 * 0.5,
        sqs_requests=jobs + 2 * batches,
        write_units=2 * jobs * status_units,
    )
    return u


def esm_idle_month() -> Usage:
    """An empty queue: the mapping's pollers long-poll without pause."""
    receives = ESM_POLLERS * (60 / LONG_POLL_S) * p.MINUTES_PER_MONTH
    return Usage(sqs_requests=receives)


def storage_month(gb: float) -> float:
    """ElastiCache Serverless data storage for a month (at least the minimum)."""
    return max(gb, p.ELASTICACHE_MIN_GB) * p.ELASTICACHE_GB_HOUR * p.HOURS_PER_MONTH
