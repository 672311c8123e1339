"""``sam local`` inputs: env.json names only variables the template declares, events exist."""

from __future__ import annotations

import json
from pathlib import Path

from infra.deploy.template_model import ROOT, Function

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
