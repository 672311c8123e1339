"""``sam build`` without Docker, and the pieces the build test needs.

SAM's Python builder wants the runtime's interpreter (python3.13) on ``PATH`` even
though the functions have no dependencies of their own (the layer has them, built by
``layers/Makefile`` with pip's cross-platform wheel selection). ``python_for`` finds that
interpreter, through pyenv if it is not on ``PATH``.

``python -m infra.deploy.build`` runs ``sam build`` into ``.aws-sam/build``.

SAM's build cache keys on the source files only, so a layer built once without bytecode (or
by another interpreter) would be kept. The interpreter that compiles the bytecode is part of
the key here: its path and version are recorded beside the build, and a build with a
different one (or none recorded) skips the cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_VERSION = "3.13"
PLACEHOLDER_PARAMETERS = ("VpcId=vpc-00000000", "SubnetIds=subnet-00000000,subnet-11111111")
"""``sam build`` resolves Fn::ForEach with parameters; the network is only needed to deploy."""


def _runs(python: str) -> bool:
    try:
        return (
            subprocess.run([python, "-c", "pass"], capture_output=True, check=False).returncode == 0
        )
    except OSError:
        return False


def python_for(version: str = RUNTIME_VERSION) -> str | None:
    """An interpreter for ``version``: on ``PATH``, else the newest pyenv one, else None."""
    found = shutil.which(f"python{version}")
    if found and _runs(found):
        return found
    if shutil.which("pyenv") is None:
        return None
    bare = subprocess.run(
        ["pyenv", "versions", "--bare"], capture_output=True, text=True, check=False
    ).stdout.split()
    for candidate in sorted((v for v in bare if v.startswith(f"{version}.")), reverse=True):
        prefix = subprocess.run(
            ["pyenv", "prefix", candidate], capture_output=True, text=True, check=False
        ).stdout.strip()
        python = Path(prefix) / "bin" / f"python{version}"
        if python.is_file() and _runs(str(python)):
            return str(python)
    return None


def sam_command() -> str | None:
    """The SAM CLI: on ``PATH``, or in the ``.venv-sam`` that ``make build`` installs."""
    local = ROOT / ".venv-sam" / "bin" / "sam"
    return shutil.which("sam") or (str(local) if local.is_file() else None)


def interpreter_identity(python: str) -> str:
    """What the bytecode depends on: the interpreter's resolved path and full version."""
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return f"{Path(python).resolve()}\n{version}\n"


def cache_record(build_dir: Path) -> Path:
    """Where the interpreter of the cached build is recorded."""
    return build_dir.parent / "corral-build-python"


def cache_is_for(build_dir: Path, identity: str) -> bool:
    """Whether the cached build was compiled by this interpreter."""
    record = cache_record(build_dir)
    return record.is_file() and record.read_text() == identity


def sam_build(build_dir: Path, *, sam: str, python: str, cached: bool = True) -> None:
    """Run ``sam build`` for the template into ``build_dir`` (raises on failure)."""
    identity = interpreter_identity(python)
    cached = cached and cache_is_for(build_dir, identity)
    cache_record(build_dir).unlink(missing_ok=True)
    env = {
        **os.environ,
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SAM_CLI_TELEMETRY": "0",
        # The layer's Makefile runs pip under the same interpreter as the SAM CLI.
        "PYTHON": os.environ.get("PYTHON", sys.executable),
        "COMPILE_PYTHON": python,
    }
    command = [
        sam,
        "build",
        "--build-dir",
        str(build_dir),
        "--parameter-overrides",
        *PLACEHOLDER_PARAMETERS,
    ]
    if not cached:
        command.append("--no-cached")
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    cache_record(build_dir).parent.mkdir(parents=True, exist_ok=True)
    cache_record(build_dir).write_text(identity)


def main() -> int:
    """Build into ``.aws-sam/build``."""
    sam, python = sam_command(), python_for()
    if sam is None or python is None:
        print("needs the SAM CLI (make build installs it) and python3.13 (pyenv install 3.13)")
        return 1
    sam_build(ROOT / ".aws-sam" / "build", sam=sam, python=python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
