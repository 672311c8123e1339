"""corral.pricing: a tenant's estimated cost from its counts, by service and event choice."""

from __future__ import annotations

import pytest
from corral import pricing


def test_a_million_jobs_cost_what_make_cost_measures() -> None:
    cost = pricing.estimate({"queued": 1_000_000, "completed": 1_000_000})
    assert cost["apiGateway"] == pytest.approx(1.00)
    assert cost["dynamodb"] == pytest.approx(1.25 + 2.50), "two writes, four index entries"
    assert cost["eventbridge"] == 0, "no failure, no event by default"
    measured = pricing.MEASURED
    api_gb_s = measured.api_ms / 1000 * measured.api_memory_mb / 1024
    lambda_ = 0.20 + (api_gb_s + measured.poller_gb_s) * 1e6 * pricing.LAMBDA_GB_SECOND_ARM
    assert cost["lambda"] == pytest.approx(lambda_)
    assert cost["elasticache"] == pytest.approx(measured.ecpus * 0.0023)


def test_each_event_type_chosen_adds_a_dollar_per_million_of_its_events() -> None:
    totals = {"queued": 1_000_000, "completed": 900_000, "failed": 100_000, "retried": 50_000}
    default = pricing.estimate(totals)["eventbridge"]
    assert default == pytest.approx((150_000 + 100_000) / 1e6), "failed attempts, dead letters"
    everything = pricing.estimate(totals, event_types=frozenset({"queued", "started", "completed"}))
    assert everything["eventbridge"] == pytest.approx((1_000_000 + 1_050_000 + 900_000) / 1e6)


def test_a_provisioned_job_table_prices_its_writes_by_the_unit_hour() -> None:
    totals = {"queued": 1_000_000, "completed": 1_000_000}
    on_demand = pricing.estimate(totals)
    write_unit = pricing.job_table_write_unit(provisioned=True)
    provisioned = pricing.estimate(totals, write_unit=write_unit)
    # Six units a job at $0.00065 a unit-hour, used at 70%: about $0.26 per million units.
    assert provisioned["dynamodb"] == pytest.approx(6 * 0.258, abs=0.01)
    assert {k: v for k, v in provisioned.items() if k != "dynamodb"} == {
        k: v for k, v in on_demand.items() if k != "dynamodb"
    }
    assert pricing.job_table_write_unit(provisioned=False) == pricing.DYNAMODB_WRITE_UNIT
