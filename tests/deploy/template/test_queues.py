"""One poller per queue in code, each with its schedule, and the generated pieces up to date."""

from __future__ import annotations

from typing import Any

import pytest
from corral.definition import QueueDefinition, QueueRegistry
from corral.poller import longest_job_ms, unfit
from pydantic import BaseModel

from infra.deploy import queues
from infra.deploy.queues import (
    GRANT_POLICIES,
    TEMPLATE,
    load_registry,
    logical_id,
    render_template,
    reserved_concurrency,
)
from infra.deploy.template_model import Function, resolve


class Model(BaseModel):
    pass


def pollers(lambdas: dict[str, Function]) -> dict[str, Function]:
    return {
        f.environment["CORRAL_QUEUE"]: f
        for f in lambdas.values()
        if f.handler == "poller.app.handler"
    }


def test_every_queue_has_exactly_one_poller(lambdas: dict[str, Function]) -> None:
    names = sorted(load_registry().names())
    found = [f.environment.get("CORRAL_QUEUE") for f in lambdas.values()]
    assert sorted(q for q in found if q) == names
    assert set(pollers(lambdas)) == set(names)


def test_only_pollers_get_a_queue(lambdas: dict[str, Function]) -> None:
    for function in lambdas.values():
        if function.handler != "poller.app.handler":
            assert "CORRAL_QUEUE" not in function.environment, function.logical_id


def test_every_poller_runs_every_minute_without_async_retries(
    lambdas: dict[str, Function],
) -> None:
    for queue, poller in pollers(lambdas).items():
        events = poller.properties["Events"]
        assert [e["Properties"]["Schedule"] for e in events.values()] == ["rate(1 minute)"], queue
        assert poller.properties["EventInvokeConfig"]["MaximumRetryAttempts"] == 0


def test_pollers_take_size_and_reservation_from_their_queue(
    lambdas: dict[str, Function],
) -> None:
    for definition in load_registry():
        poller = lambdas[logical_id(definition.name)]
        assert poller.environment["CORRAL_QUEUE"] == definition.name
        assert poller.properties["MemorySize"] == definition.poller_memory_mb
        assert poller.properties["Timeout"] == definition.poller_timeout_s
        reserved = poller.properties["ReservedConcurrentExecutions"]["Fn::If"]
        assert reserved[:2] == ["ReserveConcurrency", reserved_concurrency(definition)]


def test_pollers_are_written_out_not_looped(template: dict[str, Any]) -> None:
    # sam package cannot map a Fn::ForEach resource to its built code (it fails to upload it).
    raw = TEMPLATE.read_text()
    assert "Fn::ForEach" not in raw
    assert {logical_id(d.name) for d in load_registry()} <= set(template["Resources"])


def test_every_grant_names_a_policy_of_the_template(template: dict[str, Any]) -> None:
    for attachment in GRANT_POLICIES.values():
        policy = attachment.split("!Ref ")[1].split(",")[0].strip()
        assert template["Resources"][policy]["Type"] == "AWS::IAM::ManagedPolicy"


def test_every_queue_fits_the_poller_timeout_the_template_resolves(
    template: dict[str, Any], lambdas: dict[str, Function]
) -> None:
    registry = load_registry()
    assert unfit(registry) == []
    for queue, poller in pollers(lambdas).items():
        timeout_s = resolve(poller.properties["Timeout"], template)
        assert registry.get(queue).timeout_ms <= longest_job_ms(timeout_s), queue


def test_a_queue_whose_jobs_cannot_fit_its_poller_fails_the_check(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The emulator's old 300 s poller against data-export's 840 s jobs: nothing ever ran.
    stalled = QueueDefinition("long", Model, lambda p, j: None, timeout_ms=840_000)
    too_long = QueueDefinition("huge", Model, lambda p, j: None, poller_timeout_s=1800)

    assert queues.main(["--check"], QueueRegistry([stalled, too_long])) == 1

    out = capsys.readouterr().out
    assert "queue long: timeout_ms=840000 does not fit its poller" in out
    assert "at most 292000 ms" in out
    assert "queue huge: poller_timeout_s=1800 is not a Lambda timeout" in out


def test_a_job_fits_up_to_the_poller_timeout_less_what_the_run_keeps_back() -> None:
    fits = QueueDefinition("edge", Model, lambda p, j: None, timeout_ms=longest_job_ms(300))
    over = QueueDefinition("over", Model, lambda p, j: None, timeout_ms=longest_job_ms(300) + 1)

    assert unfit([fits]) == []
    assert len(unfit([over])) == 1


def test_generated_template_blocks_are_up_to_date() -> None:
    current = TEMPLATE.read_text()
    assert render_template(current, load_registry()) == current, (
        "run: PYTHONPATH=functions python -m infra.deploy.queues"
    )
