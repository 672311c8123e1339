"""Each function gets the layers its code imports, and the layers' requirements follow pyproject.

Every function has the engine's layer; only the API has FastAPI's (which brings
OpenTelemetry, imported by redis-py whenever it is installed), and only a poller whose queue
names the ``imaging`` extra has Pillow's. What the built layers hold, and what each handler
loads from them, is checked on the build itself (``test_sam_build.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from corral.definition import QueueDefinition
from pydantic import BaseModel

from infra.deploy import layer_requirements
from infra.deploy.layer_requirements import ENGINE_LAYER, EXTRA_LAYERS, requirement_name
from infra.deploy.queues import load_registry, render_poller
from infra.deploy.template_model import Function, parse_yaml
from tests.deploy.template.translated import needs_sam, translate

ON_TOP = Path(__file__).resolve().parents[3] / "layers" / "on_top.py"
API_PACKAGES = {"fastapi", "mangum", "fastapi-offline", "starlette", "opentelemetry-api"}


class Model(BaseModel):
    pass


def test_every_function_has_the_engine_layer_first(lambdas: dict[str, Function]) -> None:
    for function in lambdas.values():
        assert function.layers[0] == ENGINE_LAYER, function.logical_id


def test_only_the_api_has_the_api_layer(lambdas: dict[str, Function]) -> None:
    having = {name for name, f in lambdas.items() if EXTRA_LAYERS["api"] in f.layers}
    assert having == {"ApiFunction"}


def test_a_poller_has_the_layers_of_its_queue_extras(lambdas: dict[str, Function]) -> None:
    registry = {d.name: d for d in load_registry()}
    for function in lambdas.values():
        if function.handler != "poller.app.handler":
            continue
        extras = registry[function.environment["CORRAL_QUEUE"]].extras
        assert function.layers[1:] == [EXTRA_LAYERS[x] for x in sorted(extras)]
    assert registry["file-processing"].extras == ("imaging",)


def test_the_generator_adds_an_extra_layer_and_refuses_an_unknown_extra() -> None:
    plain = QueueDefinition("plain", Model, lambda p, j: None)
    images = QueueDefinition("images", Model, lambda p, j: None, extras=("imaging",))
    assert "Layers" not in parse_yaml(render_poller(plain))["Pollerplain"]["Properties"]
    rendered = parse_yaml(render_poller(images))["Pollerimages"]["Properties"]
    assert rendered["Layers"] == [{"Ref": "ImagingLayer"}]
    with pytest.raises(ValueError, match="no layer for extras"):
        render_poller(QueueDefinition("odd", Model, lambda p, j: None, extras=("gpu",)))


@needs_sam
def test_sam_appends_a_function_layers_to_the_global_one() -> None:
    resources: dict[str, Any] = translate(JwtIssuer="https://issuer", JwtAudience="corral")[
        "Resources"
    ]

    def layers(name: str) -> list[str]:
        return [
            ref["Ref"].rstrip("0123456789abcdef") for ref in resources[name]["Properties"]["Layers"]
        ]

    assert layers("ApiFunction") == ["CorralLayer", "ApiLayer"]
    assert layers("Pollerfileprocessing") == ["CorralLayer", "ImagingLayer"]
    assert layers("Pollerwebhook") == layers("ReconcilerFunction") == ["CorralLayer"]


def test_layer_requirements_follow_pyproject() -> None:
    assert layer_requirements.main(["--check"]) == 0
    names = {
        layer: {requirement_name(r) for r in layer_requirements.layer_requirements(layer)}
        for layer in ("engine", *EXTRA_LAYERS)
    }
    assert {"redis", "pydantic", "aws-lambda-powertools"} <= names["engine"]
    assert "boto3" not in names["engine"]
    assert names["engine"].isdisjoint(API_PACKAGES | {"pillow"})
    assert {"fastapi", "mangum"} <= names["api"]
    assert names["imaging"] == {"pillow"}


def report(tmp_path: Path, name: str, pins: dict[str, str]) -> Path:
    """A ``pip install --report`` file that installs ``pins``."""
    path = tmp_path / f"{name}.json"
    items = [{"metadata": {"name": n, "version": v}} for n, v in pins.items()]
    path.write_text(json.dumps({"version": "1", "install": items}))
    return path


def on_top(tmp_path: Path, engine: dict[str, str], combined: dict[str, str]) -> Any:
    return subprocess.run(
        [
            sys.executable,
            str(ON_TOP),
            str(report(tmp_path, "e", engine)),
            str(report(tmp_path, "c", combined)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_layer_on_top_holds_only_what_the_engine_layer_lacks(tmp_path: Path) -> None:
    engine = {"redis": "8.2.0", "pydantic_core": "2.50.5", "botocore": "1.40.0"}
    combined = {**engine, "Pydantic-Core": "2.50.5", "fastapi": "0.165.0", "s3transfer": "0.14"}
    run = on_top(tmp_path, engine, combined)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["fastapi==0.165.0"]


def test_a_layer_that_needs_another_engine_version_fails_the_build(tmp_path: Path) -> None:
    run = on_top(tmp_path, {"starlette": "1.10.0"}, {"starlette": "0.48.0", "fastapi": "0.1"})
    assert run.returncode != 0
    assert "starlette 1.10.0 (engine) != 0.48.0" in run.stderr
