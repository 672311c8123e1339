"""Import time of each handler, as Lambda's python3.13 would import it (``python -X importtime``).

Builds what a cold start loads: the function code, the corral layer (built by
``layers/Makefile`` for this machine's platform, since arm64 wheels cannot load here) and
boto3, which the Lambda runtime provides. Each handler module is imported ``--runs``
times in a fresh interpreter; the median cumulative time is reported with the imports
that dominate it.

``python -m infra.deploy.importtime`` prints a table (milliseconds).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra.deploy.build import python_for
from infra.deploy.template_model import functions, load_template

ROOT = Path(__file__).resolve().parents[2]
TARGETS_MS = {"api.app": 300.0, "poller.app": 150.0}
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


@dataclass
class Measure:
    """One handler's median import time (wall and CPU) and its heaviest direct imports."""

    module: str
    median_ms: float
    median_cpu_ms: float
    heaviest: list[tuple[str, float]]


def build_runtime(into: Path, python: str) -> list[Path]:
    """The layer for this machine plus boto3: the directories Lambda puts on ``sys.path``."""
    layer, runtime = into / "layer", into / "runtime"
    env = {**os.environ, "LAYER_PLATFORM": f"manylinux2014_{platform.machine()}"}
    env["PYTHON"], env["COMPILE_PYTHON"] = sys.executable, python
    subprocess.run(
        ["make", "-s", "-C", str(ROOT / "layers"), "build-CorralLayer", f"ARTIFACTS_DIR={layer}"],
        env=env,
        check=True,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--target",
            str(runtime),
            "--python-version",
            "3.13",
            "--only-binary=:all:",
            "boto3",
        ],
        check=True,
    )
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", str(runtime)], check=True)
    return [ROOT / "functions", layer / "python", runtime]


def parse(stderr: str, module: str) -> tuple[float, list[tuple[str, float]]]:
    """Cumulative ms of ``module`` and of its direct imports, heaviest first.

    ``-X importtime`` prints a module after its imports, indented one step deeper.
    """
    entries = [
        (len(m[3]), m[4], int(m[2]) / 1000) for m in map(LINE.match, stderr.splitlines()) if m
    ]
    index = next(i for i, (_, name, _) in enumerate(entries) if name == module)
    depth, _, total = entries[index]
    direct: list[tuple[str, float]] = []
    for child_depth, name, ms in reversed(entries[:index]):
        if child_depth <= depth:
            break
        if child_depth == depth + 2:
            direct.append((name, ms))
    return total, sorted(direct, key=lambda item: -item[1])[:6]


def measure(module: str, python: str, path: list[Path], runs: int) -> Measure:
    """Median import time of ``module`` over ``runs`` fresh interpreters."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(map(str, path)),
        "PYTHONDONTWRITEBYTECODE": "1",  # Lambda cannot write .pyc either
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    # CPU time is printed too: on a loaded machine it moves much less than wall time.
    code = f"import time; t = time.process_time(); import {module}; print(time.process_time() - t)"
    totals: list[float] = []
    cpu: list[float] = []
    heaviest: list[tuple[str, float]] = []
    for _ in range(runs):
        run = subprocess.run(
            [python, "-X", "importtime", "-c", code],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        total, heaviest = parse(run.stderr, module)
        totals.append(total)
        cpu.append(float(run.stdout) * 1000)
    return Measure(module, statistics.median(totals), statistics.median(cpu), heaviest)


def main(argv: list[str] | None = None) -> int:
    """Print each handler's median import time against its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) the built runtime here")
    args = parser.parse_args(argv)
    python = python_for()
    if python is None:
        print("python3.13 not found (pyenv install 3.13)")
        return 1
    modules = sorted({f.handler.rpartition(".")[0] for f in functions(load_template()).values()})
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        if (workdir / "runtime").is_dir():
            path = [ROOT / "functions", workdir / "layer" / "python", workdir / "runtime"]
        else:
            path = build_runtime(workdir, python)
        print(
            f"{'handler':<16}{'wall ms':>8}{'cpu ms':>8}{'target':>8}  heaviest imports (wall ms)"
        )
        for module in modules:
            found = measure(module, python, path, args.runs)
            target = TARGETS_MS.get(module)
            heavy = ", ".join(f"{name} {ms:.0f}" for name, ms in found.heaviest)
            print(
                f"{module:<16}{found.median_ms:>8.0f}{found.median_cpu_ms:>8.0f}"
                f"{target or '':>8}  {heavy}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
