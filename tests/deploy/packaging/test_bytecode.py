"""The build ships bytecode or fails: a missing python3.13 is an error, not a silent skip."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from infra.deploy.build import ROOT, cache_is_for, cache_record, interpreter_identity, python_for

PYTHON = python_for()
needs_python313 = pytest.mark.skipif(PYTHON is None, reason="needs python3.13 (pyenv install)")


def shim(tmp_path: Path) -> Path:
    """A stand-in for a pyenv shim whose version is not selected: it exits 127."""
    path = tmp_path / "python3.13"
    path.write_text("#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n")
    path.chmod(0o755)
    return path


def make_build(
    directory: str, target: str, out: Path, **variables: str
) -> subprocess.CompletedProcess[str]:
    assignments = [f"{name}={value}" for name, value in variables.items()]
    return subprocess.run(
        ["make", "-s", "-C", str(ROOT / directory), target, f"ARTIFACTS_DIR={out}", *assignments],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHON": "/bin/false"},
    )


@pytest.mark.parametrize(
    ("directory", "target"), [("functions", "build-ApiFunction"), ("layers", "build-CorralLayer")]
)
def test_a_shim_that_exits_127_fails_the_build_loudly(
    tmp_path: Path, directory: str, target: str
) -> None:
    run = make_build(directory, target, tmp_path / "out", COMPILE_PYTHON=str(shim(tmp_path)))
    assert run.returncode != 0
    assert "no working python3.13" in run.stderr
    assert not (tmp_path / "out").exists(), "nothing is built without the interpreter"


def test_no_interpreter_at_all_fails_the_build(tmp_path: Path) -> None:
    run = make_build("functions", "build-ApiFunction", tmp_path / "out", COMPILE_PYTHON="")
    if run.returncode == 0:  # a python3.13 on PATH is found by name
        assert list((tmp_path / "out").rglob("*.cpython-313.pyc"))
    else:
        assert "no working python3.13" in run.stderr


@needs_python313
def test_a_working_interpreter_ships_bytecode(tmp_path: Path) -> None:
    assert PYTHON is not None
    run = make_build("functions", "build-ApiFunction", tmp_path / "out", COMPILE_PYTHON=PYTHON)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "api" / "__pycache__" / "app.cpython-313.pyc").is_file()


@needs_python313
def test_the_build_cache_is_keyed_on_the_interpreter(tmp_path: Path) -> None:
    assert PYTHON is not None
    build_dir = tmp_path / ".aws-sam" / "build"
    identity = interpreter_identity(PYTHON)
    assert "3.13" in identity and str(Path(PYTHON).resolve()) in identity
    assert not cache_is_for(build_dir, identity), "no record: no cache"
    cache_record(build_dir).parent.mkdir(parents=True)
    cache_record(build_dir).write_text(identity)
    assert cache_is_for(build_dir, identity)
    assert not cache_is_for(build_dir, identity.replace("3.13", "3.12"))
