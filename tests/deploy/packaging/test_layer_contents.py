"""The built layer holds what Lambda functions run: the engine, not the client or the CLI
(those are the ``corral-client`` package, in ``client/``)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from infra.deploy.build import ROOT, python_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PYTHON = python_for()
MOVED = {"cli", "cli_bulk", "cli_flow", "client", "client_calls", "client_types", "redact"}
"""The engine's modules that moved to the client package."""


@pytest.mark.skipif(PYTHON is None, reason="needs python3.13 (pyenv install)")
def test_the_built_layer_ships_the_engine_without_the_client(tmp_path: Path) -> None:
    assert PYTHON is not None
    out = tmp_path / "layer"
    env = {
        **os.environ,
        # The layers/Makefile build as sam runs it, with wheels for this machine.
        "LAYER_PLATFORM": f"manylinux2014_{platform.machine()}",
        "PYTHON": sys.executable,
        "COMPILE_PYTHON": PYTHON,
    }
    subprocess.run(
        ["make", "-s", "-C", str(ROOT / "layers"), "build-CorralLayer", f"ARTIFACTS_DIR={out}"],
        env=env,
        check=True,
    )
    layer = out / "python"
    engine = {p.relative_to(layer).as_posix() for p in (layer / "corral").rglob("*.py")}
    source = ROOT / "layers" / "corral"
    assert engine == {p.relative_to(source).as_posix() for p in (source / "corral").rglob("*.py")}
    assert not (layer / "corral_client").exists()
    assert not list(layer.glob("corral_client-*.dist-info"))
    assert not (layer / "bin" / "corral").exists()
    assert {Path(p).stem for p in engine} & MOVED == set()
