"""``sam build`` works without Docker, and every handler imports from what it built.

The build is the real one: arm64 wheels for python3.13. Those cannot load on this
machine, so the import check pairs the built function artefacts with the layer built by
the same Makefile for this machine's platform, plus boto3 (which Lambda's runtime ships),
under python3.13 if it is installed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.deploy.build import python_for, sam_build, sam_command
from infra.deploy.importtime import build_runtime
from infra.deploy.template_model import functions, load_template

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


def built_functions(build_dir: Path) -> dict[str, Any]:
    return functions(load_template(build_dir / "template.yaml"))


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
    assert PYTHON is not None
    _, layer, runtime = build_runtime(tmp_path, PYTHON)
    failures = {}
    for logical_id, function in built_functions(built).items():
        module, _, attribute = function.handler.rpartition(".")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join(map(str, [built / logical_id, layer, runtime])),
            "PYTHONNOUSERSITE": "1",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            **{k: v for k, v in function.environment.items() if isinstance(v, str)},
        }
        check = f"import {module} as m; assert callable(m.{attribute})"
        run = subprocess.run(
            [
                PYTHON,
                "-I",
                "-c",
                f"import sys; sys.path[:0] = {env['PYTHONPATH'].split(os.pathsep)!r}; {check}",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode:
            failures[logical_id] = run.stderr.strip().splitlines()[-1:]
    assert failures == {}
