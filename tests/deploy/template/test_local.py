"""``sam local`` inputs: env.json names only variables the template declares, events exist."""

from __future__ import annotations

import json
from pathlib import Path

from infra.deploy.queues import load_registry
from infra.deploy.template_model import ROOT, Function, resolve
from infra.local.template import FunctionSize, poller_sizes, scheduled_functions

EVENTS = ROOT / "events"


def test_env_json_sets_only_what_each_function_declares(lambdas: dict[str, Function]) -> None:
    # sam local ignores a variable the template does not declare for the function.
    env = json.loads((ROOT / "env.json").read_text())
    everywhere = set.intersection(*(set(f.environment) for f in lambdas.values()))
    assert set(env.pop("Parameters")) <= everywhere
    for logical_id, variables in env.items():
        assert logical_id in lambdas
        assert set(variables) <= set(lambdas[logical_id].environment), logical_id


def test_env_json_gives_each_poller_its_queue(lambdas: dict[str, Function]) -> None:
    env = json.loads((ROOT / "env.json").read_text())
    for logical_id, function in lambdas.items():
        if "CORRAL_QUEUE" in function.environment:
            assert env[logical_id]["CORRAL_QUEUE"] == function.environment["CORRAL_QUEUE"]


def test_every_function_has_a_sample_event(lambdas: dict[str, Function]) -> None:
    for function in lambdas.values():
        package = function.handler.split(".")[0]
        samples = sorted(EVENTS.glob(f"{package}_*.json"))
        assert samples, f"no events/{package}_*.json"
        for sample in samples:
            assert isinstance(json.loads(Path(sample).read_text()), dict)


def test_the_emulator_sizes_each_poller_as_its_queue_does() -> None:
    # Each poller's Timeout and MemorySize come from its queue (once read as 300 s for all).
    sizes = poller_sizes()

    assert sizes == {
        d.name: FunctionSize(d.poller_timeout_s, d.poller_memory_mb) for d in load_registry()
    }
    assert sizes["data-export"] == FunctionSize(900, 1024)


def test_scheduled_functions_take_globals_and_their_own_sizes() -> None:
    functions, notes = scheduled_functions()

    sizes = {f.handler: (f.timeout_s, f.memory_mb) for f in functions}
    assert sizes["scheduler.app.handler"] == (60, 512)
    assert sizes["reconciler.app.handler"] == (300, 512)
    assert notes == []


def test_resolve_reads_mappings_and_parameter_defaults() -> None:
    template = {
        "Parameters": {"Size": {"Type": "String", "Default": "big"}},
        "Mappings": {"Sizes": {"big": {"Timeout": 900}}},
    }
    found = resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Size"}, "Timeout"]}, template)

    assert found == 900
    assert resolve({"Ref": "AWS::Region"}, template) == {"Ref": "AWS::Region"}
    assert resolve(30, template) == 30
