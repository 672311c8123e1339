"""Import time of each handler, as Lambda's python3.13 would import it (``python -X importtime``).

Builds what a cold start loads: the function code, the function's layers (built by
``layers/Makefile`` for this machine's platform, since arm64 wheels cannot load here:
the engine's for every handler, the API's FastAPI on top for the API) and boto3, which the
Lambda runtime provides. The functions and the engine are copied afresh
on every run, so a kept ``--workdir`` measures the current code, with cpython-313
bytecode as ``sam build`` ships it (``layers/Makefile``, ``functions/Makefile``).

Each handler module is imported ``--runs`` times in a fresh interpreter. Wall time means
little on a shared machine, and CPU time grows with the load too, so the minimum CPU
time is reported beside the median: it is the run that was disturbed least. With
``--instructions``, the instructions executed by the import are also counted under
``valgrind --tool=callgrind`` (the import's count minus a bare interpreter's), which does
not depend on the load at all, and for the API and the poller the count of their floor:
the third-party imports they cannot do without (``infra.deploy.import_floor``).

``--tracing`` imports as the deployed functions do with ``Tracing: Active``: Lambda's
``LAMBDA_TASK_ROOT`` is set, so Powertools turns its X-Ray tracer on.

``python -m infra.deploy.importtime`` prints a table (milliseconds, millions of
instructions).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra.deploy.build import python_for
from infra.deploy.import_floor import floor_of
from infra.deploy.template_model import Function, functions, load_template

ROOT = Path(__file__).resolve().parents[2]
TARGETS_MS = {"api.app": 300.0, "poller.app": 150.0}
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
COLLECTED = re.compile(r"Collected : (\d+)")
NO_BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc")


@dataclass
class Measure:
    """One handler's import time (ms) over several runs, and its heaviest direct imports."""

    module: str
    wall_median_ms: float
    cpu_median_ms: float
    cpu_min_ms: float
    heaviest: list[tuple[str, float]]
    instructions: int | None = None


@dataclass
class HostRuntime:
    """The layers built for this machine, and boto3 as the Lambda runtime ships it."""

    into: Path
    layers: dict[str, Path]
    runtime: Path

    def opt(self, layers: list[str]) -> Path:
        """The ``/opt/python`` of a function with ``layers``: Lambda extracts them into one
        directory, in order (here hard links, built once per combination)."""
        merged = self.into / "opt" / "+".join(layers) / "python"
        if not merged.is_dir():
            for layer in layers:
                shutil.copytree(self.layers[layer], merged, copy_function=_link, dirs_exist_ok=True)
        return merged

    def path_for(self, layers: list[str]) -> list[Path]:
        """``sys.path`` past the function's code: its layers, then the runtime's boto3."""
        return [self.opt(layers), self.runtime]


def _link(source: str, target: str) -> None:
    # A later layer's file replaces an earlier one's, as Lambda's extraction does.
    Path(target).unlink(missing_ok=True)
    os.link(source, target)


def build_runtime(into: Path, python: str, layers: list[str]) -> HostRuntime:
    """``layers`` built for this machine by ``layers/Makefile``, plus boto3 (what the
    Lambda runtime provides); a layer or boto3 already built under ``into`` is kept."""
    env = {**os.environ, "LAYER_PLATFORM": f"manylinux2014_{platform.machine()}"}
    env["PYTHON"], env["COMPILE_PYTHON"] = sys.executable, python
    built = {layer: into / "layers" / layer for layer in layers}
    for layer, artefacts in built.items():
        if (artefacts / "python").is_dir():
            continue
        subprocess.run(
            [
                "make",
                "-s",
                "-C",
                str(ROOT / "layers"),
                f"build-{layer}",
                f"ARTIFACTS_DIR={artefacts}",
            ],
            env=env,
            check=True,
        )
    runtime = into / "runtime"
    if not runtime.is_dir():
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
    return HostRuntime(into, {layer: path / "python" for layer, path in built.items()}, runtime)


def current_code(workdir: Path, python: str) -> list[Path]:
    """Today's functions and engine, to put on ``sys.path`` ahead of the built layers' copy."""
    code = workdir / "code"
    shutil.rmtree(code, ignore_errors=True)
    shutil.copytree(ROOT / "functions", code / "functions", ignore=NO_BYTECODE)
    shutil.copytree(ROOT / "layers" / "corral" / "corral", code / "engine" / "corral")
    # The same bytecode as layers/Makefile and functions/Makefile ship.
    compileall = [python, "-m", "compileall", "-q", "-j", "0"]
    options = ["--invalidation-mode", "unchecked-hash"]
    subprocess.run([*compileall, *options, str(code)], check=True)
    return [code / "functions", code / "engine"]


def representatives(found: dict[str, Function]) -> dict[str, Function]:
    """Each handler module, with the function running it that has the fewest layers (a
    poller as most queues deploy it: the file-processing one adds Pillow, unimported)."""
    chosen: dict[str, Function] = {}
    for function in found.values():
        module = function.handler.rpartition(".")[0]
        if module not in chosen or len(function.layers) < len(chosen[module].layers):
            chosen[module] = function
    return dict(sorted(chosen.items()))


def plain_variables(function: Function) -> dict[str, str]:
    """The function's environment variables that the template sets to a plain string (those
    that depend on a parameter or a resource are left out)."""
    return {k: v for k, v in function.environment.items() if isinstance(v, str)}


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


def environment(
    path: list[Path], *, tracing: bool, variables: dict[str, str] | None = None
) -> dict[str, str]:
    """A clean environment for the measured interpreter (and a fixed hash seed), with the
    function's own ``variables`` (``PYDANTIC_DISABLE_PLUGINS``, Powertools' settings)."""
    env = {
        **(variables or {}),
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join(map(str, path)),
        "PYTHONDONTWRITEBYTECODE": "1",  # Lambda cannot write .pyc either
        "PYTHONHASHSEED": "0",  # so that instruction counts repeat exactly
        "PYTHONNOUSERSITE": "1",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    if tracing:
        env["LAMBDA_TASK_ROOT"] = str(path[0])
        env["AWS_LAMBDA_FUNCTION_NAME"] = "importtime"
    return env


def measure(module: str, python: str, env: dict[str, str], runs: int) -> Measure:
    """Wall and CPU time of importing ``module`` in ``runs`` fresh interpreters."""
    code = (
        "import time; w, c = time.perf_counter(), time.process_time(); "
        f"import {module}; print(time.perf_counter() - w, time.process_time() - c)"
    )
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        out = subprocess.run(
            [python, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        walls.append(float(out[0]) * 1000)
        cpus.append(float(out[1]) * 1000)
    # One more run for the breakdown: -X importtime adds its own overhead to the timing.
    detail = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    _, heaviest = parse(detail.stderr, module)
    return Measure(module, statistics.median(walls), statistics.median(cpus), min(cpus), heaviest)


def instructions(code: str, python: str, env: dict[str, str]) -> int:
    """Instructions executed by ``python -c code``, counted by callgrind."""
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = COLLECTED.search(run.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind: {run.stderr[-500:]}")
    return int(found[1])


def main(argv: list[str] | None = None) -> int:
    """Print each handler's import time against its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) the built runtime here")
    parser.add_argument("--only", action="append", help="measure only this handler module")
    parser.add_argument("--tracing", action="store_true", help="as deployed: X-Ray tracing on")
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions (valgrind, slow)"
    )
    args = parser.parse_args(argv)
    python = python_for()
    if python is None:
        print("python3.13 not found (pyenv install 3.13)")
        return 1
    if args.instructions and shutil.which("valgrind") is None:
        print("valgrind not found (apt-get install valgrind)")
        return 1
    chosen = representatives(functions(load_template()))
    modules = [m for m in chosen if not args.only or m in args.only]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        needed = sorted({layer for m in modules for layer in chosen[m].layers})
        host = build_runtime(workdir, python, needed)
        code = current_code(workdir, python)
        envs = {
            m: environment(
                [*code, *host.path_for(chosen[m].layers)],
                tracing=args.tracing,
                variables=plain_variables(chosen[m]),
            )
            for m in modules
        }
        bare = instructions("pass", python, envs[modules[0]]) if args.instructions else 0
        print(
            f"{'handler':<16}{'cpu min':>8}{'cpu med':>8}{'wall med':>9}"
            f"{'M instr':>9}{'floor':>7}{'target':>7}  heaviest imports (ms, one run)"
        )
        for module in modules:
            env = envs[module]
            found = measure(module, python, env, args.runs)
            floor = "-"
            if args.instructions:
                found.instructions = instructions(f"import {module}", python, env) - bare
                floor_code = floor_of(module, tracing=args.tracing)
                if floor_code is not None:
                    floor = f"{(instructions(floor_code, python, env) - bare) / 1e6:.0f}"
            target = TARGETS_MS.get(module)
            heavy = ", ".join(f"{name} {ms:.0f}" for name, ms in found.heaviest)
            count = f"{found.instructions / 1e6:.0f}" if found.instructions is not None else "-"
            print(
                f"{module:<16}{found.cpu_min_ms:>8.0f}{found.cpu_median_ms:>8.0f}"
                f"{found.wall_median_ms:>9.0f}{count:>9}{floor:>7}{target or '':>7}  {heavy}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
