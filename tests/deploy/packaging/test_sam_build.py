"""``sam build`` works without Docker, and every handler imports from what it built.

The build is the real one: arm64 wheels for python3.13. Those cannot load on this
machine, so the import check pairs the built function artefacts with the layers built by
the same Makefile for this machine's platform, plus boto3 (which Lambda's runtime ships),
under python3.13 if it is installed.

Only the API has FastAPI, Mangum and OpenTelemetry (ApiLayer), and only the
file-processing poller Pillow (ImagingLayer): checked on the arm64 layers each function
is deployed with, and by importing each handler with only its own layers on the path.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.deploy.build import python_for, sam_build, sam_command
from infra.deploy.importtime import build_runtime
from infra.deploy.template_model import Function, functions, load_template

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SAM = sam_command()
PYTHON = python_for()
needs_tools = pytest.mark.skipif(
    SAM is None or PYTHON is None, reason="needs the SAM CLI (make sam-cli) and python3.13"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    assert SAM is not None and PYTHON is not None
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    sam_build(build_dir, sam=SAM, python=PYTHON, cached=False)
    yield build_dir


API_ONLY = {"fastapi", "starlette", "mangum", "fastapi_offline", "opentelemetry"}
IMAGING_ONLY = {"PIL"}


def built_functions(build_dir: Path) -> dict[str, Function]:
    return functions(load_template(build_dir / "template.yaml"))


def top_level(layer: Path) -> set[str]:
    """The top-level names a built layer holds (packages, modules, dist-info)."""
    names = {p.name.removesuffix(".py") for p in (layer / "python").iterdir()}
    return names - {"bin", "__pycache__"}


def allowed_only_in(function: Function) -> set[str]:
    """What ``function`` must neither ship nor load: the API's and Pillow's packages,
    unless the function is the API or its queue needs Pillow."""
    keep_out = set()
    if function.handler != "api.app.handler":
        keep_out |= API_ONLY
    if "ImagingLayer" not in function.layers:
        keep_out |= IMAGING_ONLY
    return keep_out


@needs_tools
def test_the_layer_is_arm64_python313_without_boto3(built: Path) -> None:
    layer = built / "CorralLayer" / "python"
    binaries = list(layer.rglob("*.so"))
    assert binaries and all("cpython-313-aarch64-linux-gnu" in so.name for so in binaries)
    assert (layer / "corral" / "lua" / "claim.lua").is_file()
    assert not (layer / "botocore").exists() and not (layer / "boto3").exists()
    size = sum(f.stat().st_size for f in layer.rglob("*") if f.is_file())
    assert size < 250 * 1024 * 1024


@needs_tools
def test_each_function_ships_only_the_packages_it_may_load(built: Path) -> None:
    found = built_functions(built)
    shipped = {
        name: {n for x in f.layers for n in top_level(built / x)} for name, f in found.items()
    }
    assert {"redis", "pydantic", "aws_lambda_powertools", "corral"} <= shipped["Pollerwebhook"]
    assert shipped["ApiFunction"] >= API_ONLY
    assert shipped["Pollerfileprocessing"] >= IMAGING_ONLY
    for name, function in found.items():
        assert shipped[name] & allowed_only_in(function) == set(), name
    # A layer on top of the engine's repeats none of it (Lambda would overwrite the files).
    engine = top_level(built / "CorralLayer")
    assert top_level(built / "ApiLayer") & engine == set()
    assert top_level(built / "ImagingLayer") & engine == set()


@needs_tools
def test_every_function_is_built_with_its_handler(built: Path) -> None:
    found = built_functions(built)
    assert set(found) == set(functions(load_template()))
    for logical_id, function in found.items():
        module = function.handler.rpartition(".")[0]
        code = built / logical_id / Path(*module.split("."))
        assert code.with_suffix(".py").is_file() or (code / "__init__.py").is_file(), logical_id
        # Bytecode for the declared runtime, so no cold start compiles the code.
        bytecode = code.parent / "__pycache__" / f"{code.name}.cpython-313.pyc"
        assert bytecode.is_file(), logical_id
        assert not (built / logical_id / "Makefile").exists()


@needs_tools
def test_every_handler_imports_from_the_built_artefacts(built: Path, tmp_path: Path) -> None:
    """Each handler imports with only its own layers on the path, and loads none of what
    the function may not have (nor could: its layers do not hold it)."""
    assert PYTHON is not None
    found = built_functions(built)
    host = build_runtime(tmp_path, PYTHON, sorted({x for f in found.values() for x in f.layers}))
    failures = {}
    for logical_id, function in found.items():
        module, _, attribute = function.handler.rpartition(".")
        path = [str(p) for p in [built / logical_id, *host.path_for(function.layers)]]
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONNOUSERSITE": "1",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            **{k: v for k, v in function.environment.items() if isinstance(v, str)},
        }
        keep_out = sorted(allowed_only_in(function))
        check = (
            f"import importlib.util, json; import {module} as m; assert callable(m.{attribute})\n"
            "loaded = {name.split('.')[0] for name in sys.modules}\n"
            f"keep_out = {keep_out!r}\n"
            "print(json.dumps([sorted(loaded.intersection(keep_out)),\n"
            "    [name for name in keep_out if importlib.util.find_spec(name)]]))"
        )
        run = subprocess.run(
            [PYTHON, "-I", "-c", f"import sys; sys.path[:0] = {path!r}\n{check}"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode:
            failures[logical_id] = run.stderr.strip().splitlines()[-1:]
            continue
        loaded, installed = json.loads(run.stdout.splitlines()[-1])
        if loaded or installed:
            failures[logical_id] = [f"loads {loaded}", f"could import {installed}"]
    assert failures == {}
