"""``corral local``: the emulator of the checkout around the current folder.

The emulator is server-side code (``infra/local``, the engine, moto), which this package
does not install: it is found at run time in the checkout, as ``make run`` runs it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ENGINE_MODULES = ("corral", "redis", "fastapi", "moto")
"""What the emulator imports that this package does not install."""


def checkout_of(start: Path) -> Path | None:
    """The corral checkout that holds ``start``: the emulator runs from its template."""
    for folder in (start, *start.parents):
        if (folder / "template.yaml").is_file() and (folder / "infra" / "local").is_dir():
            return folder
    return None


def emulator_python(root: Path) -> str | None:
    """An interpreter that can run the checkout's emulator: this one when it has the
    server side's packages (the checkout's dev install), else the checkout's ``.venv``."""
    if all(importlib.util.find_spec(name) is not None for name in ENGINE_MODULES):
        return sys.executable
    venv = root / ".venv" / "bin" / "python"
    return str(venv) if venv.is_file() else None


def run_local(start: Path) -> int:
    """``corral local``: the emulator of the checkout around ``start`` (as ``make run``).

    The emulator is server-side code: it runs from the checkout (``infra/local``) under an
    interpreter that has the engine, which this package does not install. The process
    becomes the emulator, so Ctrl-C and its exit status are the emulator's own.
    """
    root = checkout_of(start)
    if root is None:
        print(
            "error: corral local runs inside a corral checkout (it reads template.yaml and "
            "runs functions/ and infra/local); cd into one, or run `make run` there",
            file=sys.stderr,
        )
        return 1
    python = emulator_python(root)
    if python is None:
        print(
            "error: corral local needs the checkout's development install: run `make install` "
            f"in {root} (or `make run`, which starts the same emulator)",
            file=sys.stderr,
        )
        return 1
    paths = [str(root), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    sys.stdout.flush()
    os.execve(python, [python, "-m", "infra.local"], env)
