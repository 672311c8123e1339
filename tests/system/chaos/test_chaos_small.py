"""``make chaos`` at CI size: the whole local system under load and every fault at once.

A few hundred jobs over the five queues and three tenants, with pollers killed, Redis
flushed and restarted, DynamoDB and SQS failing and throttled, scheduler ticks doubled
and late, and handlers that hang. Nothing may be lost, nothing recorded twice.
"""

from __future__ import annotations

import shutil

import pytest

from bench.chaos.report import table
from bench.chaos.run import Config, execute

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


def test_a_small_chaos_run_loses_nothing_and_records_each_completion_once() -> None:
    result = execute(Config(jobs=150, duration_s=15, settle_s=240))
    print(table(result.run, result.outcome))
    out = result.outcome

    assert out.accepted == 150
    assert out.lost == []
    assert out.completed_twice == []
    assert out.dlq_not_poison == [] and out.poison_not_in_dlq == []
    assert out.poison > 0 and out.dlq_jobs == out.poison
    assert out.completed + out.failed + out.cancelled == out.accepted + out.scheduled
    assert result.run.retained.ok
    # The faults did happen (a run without them would prove nothing).
    faults = result.run.faults
    assert faults["redis flushed (FLUSHALL)"] == 1
    assert faults["redis restarted (all keys lost)"] == 1
    assert faults["poller process killed mid-batch (SIGKILL)"] > 0
    assert faults["dynamodb throttled"] > 0 and faults["dynamodb 500"] > 0
    assert out.scheduled > 0
    # The recovery faults timed the way back: a flush is repaired by the reconcile the
    # next API call starts, within seconds rather than at the next scheduled run.
    recovery = result.run.recovery
    back_s = recovery.get("redis flushed: every waiting job back in Redis after")
    assert back_s is not None and back_s < 10, recovery
