"""What AWS charges corral, in one place: list prices, and the unit costs ``make cost`` measured.

``make cost`` (``bench/cost``) prices its counted requests with these constants, and
``GET /stats`` estimates each tenant's cost from its job counts with ``estimate``. Prices
are us-east-1, on-demand, as listed on the pages named below as of ``PRICES_AS_OF``;
AWS changes them (DynamoDB on-demand halved on 2024-11-01, for one). Check them before
relying on a figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from corral.records import index_write_units

PRICES_AS_OF = "2025-06"
REGION = "us-east-1"

# https://aws.amazon.com/lambda/pricing/ (Arm, first 7.5 billion GB-seconds a month)
LAMBDA_REQUEST = 0.20 / 1e6
LAMBDA_GB_SECOND_ARM = 0.0000133334

# https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs, first 300 million a month)
HTTP_API_REQUEST = 1.00 / 1e6

# https://aws.amazon.com/dynamodb/pricing/on-demand/ (Standard table class)
DYNAMODB_WRITE_UNIT = 0.625 / 1e6
DYNAMODB_READ_UNIT = 0.125 / 1e6

# https://aws.amazon.com/dynamodb/pricing/provisioned/ (Standard table class): the job
# table with JobTableCapacity, which auto scaling keeps at PROVISIONED_USE of its capacity
# (template.yaml's scaling policies), so each unit used pays for 1 / PROVISIONED_USE.
DYNAMODB_WRITE_UNIT_HOUR = 0.00065
PROVISIONED_USE = 0.70
DYNAMODB_PROVISIONED_WRITE_UNIT = DYNAMODB_WRITE_UNIT_HOUR / 3600 / PROVISIONED_USE

# https://aws.amazon.com/sqs/pricing/ (standard queues, after the free first million)
SQS_REQUEST = 0.40 / 1e6

# https://aws.amazon.com/eventbridge/pricing/ (custom events, per 64 KB entry)
EVENTBRIDGE_EVENT = 1.00 / 1e6

# https://aws.amazon.com/elasticache/pricing/ (Serverless, Valkey)
ELASTICACHE_ECPU = 0.0023 / 1e6
ELASTICACHE_GB_HOUR = 0.084
ELASTICACHE_MIN_GB = 0.1
"""Valkey serverless bills at least 100 MB of data stored."""

HOURS_PER_MONTH = 730
MINUTES_PER_MONTH = HOURS_PER_MONTH * 60

# https://upstash.com/pricing/qstash (pay as you go: $1 per 100,000 messages)
QSTASH_MESSAGE = 1.00 / 100_000


@dataclass(frozen=True)
class UnitCosts:
    """What one job uses, as ``make cost COST_JOBS=300`` measured it (2026-12-06, fast jobs,
    one job per API request). Update these from its "unit costs" lines.

    Attributes:
        api_ms: time inside the API function per enqueue request.
        api_memory_mb: the API function's memory (``template.yaml``).
        poller_gb_s: poller compute per job run (busy, plus the idle linger it caused).
        ecpus: ElastiCache ECPUs per job (enqueue, claim, settle).
        record_write_units: write units of one job record write (records are under 1 KB);
            the job table's indexes add ``records.index_write_units`` of it per job.
    """

    api_ms: float = 17.6
    api_memory_mb: int = 1024
    poller_gb_s: float = 0.0106
    ecpus: float = 437.4
    record_write_units: float = 1.0


MEASURED = UnitCosts()


def job_table_write_unit(provisioned: bool) -> float:
    """What one write to the job table costs: on demand, or provisioned (JobTableCapacity)."""
    return DYNAMODB_PROVISIONED_WRITE_UNIT if provisioned else DYNAMODB_WRITE_UNIT


FAILURE_EVENTS = ("failed", "dead-lettered")


def estimate(
    totals: Mapping[str, int],
    *,
    event_types: frozenset[str] = frozenset(FAILURE_EVENTS),
    units: UnitCosts = MEASURED,
    write_unit: float = DYNAMODB_WRITE_UNIT,
) -> dict[str, float]:
    """Dollars a tenant's jobs cost, by service, from its counts (``queued``,
    ``completed``, ``failed``, ``retried``, ``cancelled``), the event types sent and the
    price of a job table write (``job_table_write_unit``).

    Every job is taken as enqueued alone (a batch shares one API request: an upper bound).
    """
    queued = totals.get("queued", 0)
    runs = sum(totals.get(s, 0) for s in ("completed", "failed", "retried"))
    finished = runs + totals.get("cancelled", 0)
    failed, retried = totals.get("failed", 0), totals.get("retried", 0)
    events = queued * ("queued" in event_types)
    events += (failed + retried) * ("failed" in event_types)
    events += failed * ("dead-lettered" in event_types)
    events += totals.get("completed", 0) * ("completed" in event_types)
    events += runs * ("started" in event_types)
    events += totals.get("cancelled", 0) * ("cancelled" in event_types)
    api_gb_s = queued * units.api_ms / 1000 * units.api_memory_mb / 1024
    return {
        "apiGateway": queued * HTTP_API_REQUEST,
        "lambda": queued * LAMBDA_REQUEST
        + (api_gb_s + runs * units.poller_gb_s) * LAMBDA_GB_SECOND_ARM,
        "dynamodb": (
            (queued + finished) * units.record_write_units
            + queued * index_write_units(units.record_write_units)
        )
        * write_unit,
        "elasticache": queued * units.ecpus * ELASTICACHE_ECPU,
        "eventbridge": events * EVENTBRIDGE_EVENT,
        "sqs": failed * SQS_REQUEST,
    }
