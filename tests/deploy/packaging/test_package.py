"""The client package stands alone: it imports none of the server side, it installs into a
fresh virtualenv with its own dependencies, and its checks agree with the server's."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from corral import keys
from corral_client import cli, local, names

ROOT = Path(__file__).resolve().parents[3]
CLIENT = ROOT / "client"
MODULES = sorted(f"corral_client.{p.stem}" for p in (CLIENT / "corral_client").glob("*.py"))
SERVER_SIDE = ("corral", "redis", "boto3", "botocore", "fastapi", "starlette", "pydantic")


def test_importing_every_client_module_imports_nothing_of_the_server_side() -> None:
    modules = [m for m in MODULES if not m.endswith("__main__")]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "import corral_client.cli as cli; cli.parser()\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout)
    assert "corral_client.cli" in loaded and "httpx" in loaded
    found = [m for m in loaded if m.split(".")[0] in SERVER_SIDE]
    assert found == []


def test_no_lambda_code_imports_the_client() -> None:
    """The layer and the functions ship without the client: none may need it."""
    offenders = []
    for root in (ROOT / "layers" / "corral" / "corral", ROOT / "functions"):
        for path in root.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    found = [node.module or ""]
                else:
                    continue
                if any(name.split(".")[0] == "corral_client" for name in found):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_names_are_checked_with_the_servers_own_patterns() -> None:
    assert names.QUEUE_NAME.pattern == keys.QUEUE_NAME.pattern
    assert names.IDENTIFIER.pattern == keys.IDENTIFIER.pattern
    assert names.require_queue_name("generic-task") == "generic-task"
    for bad in ("..", "a/b", "Email", "q{x}", ""):
        with pytest.raises(names.InvalidIdentifierError):
            names.require_queue_name(bad)
    with pytest.raises(names.InvalidIdentifierError, match="job id"):
        names.require_identifier("../jobs", "job id")


def test_url_and_token_come_from_the_environment_whatever_its_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CORRAL_URL", raising=False)
    monkeypatch.delenv("CORRAL_TOKEN", raising=False)
    args = cli.parser().parse_args(["stats"])
    assert (args.url, args.token) == (cli.DEFAULT_URL, "")
    monkeypatch.setenv("CORRAL_URL", "https://jobs.example.com")
    monkeypatch.setenv("corral_token", "secret")
    args = cli.parser().parse_args(["stats"])
    assert (args.url, args.token) == ("https://jobs.example.com", "secret")
    assert cli.parser().parse_args(["--token", "given", "stats"]).token == "given"


def test_corral_local_runs_the_emulator_with_this_interpreter_when_it_has_the_engine() -> None:
    # The dev install has the engine's packages; a client-only install is tested below.
    assert local.emulator_python(ROOT) == sys.executable


def fake_checkout(tmp_path: Path) -> Path:
    """A folder shaped like a checkout (template and infra/local) with no dev install."""
    checkout = tmp_path / "checkout"
    (checkout / "infra" / "local").mkdir(parents=True)
    (checkout / "template.yaml").write_text("Resources: {}\n")
    return checkout


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_pip_install_of_the_client_alone_gives_a_working_corral(tmp_path: Path) -> None:
    """``pip install ./client`` into a fresh virtualenv: httpx comes with it, the engine
    does not, and the command runs."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python, corral = env_dir / "bin" / "python", env_dir / "bin" / "corral"
    # A copy: pip builds a local project in place, and the checkout stays as it is.
    source = tmp_path / "client"
    shutil.copytree(CLIENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    subprocess.run([*install, str(source)], check=True, timeout=240)

    def run(*argv: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
        )

    helped = run(str(corral), "--help")
    assert helped.returncode == 0, helped.stderr
    assert "enqueue" in helped.stdout and "dashboard" in helped.stdout
    probe = "import importlib.util as u; print([n for n in %r if u.find_spec(n)])"
    found = run(str(python), "-c", probe % (SERVER_SIDE,))
    assert found.stdout.strip() == "[]", found.stderr
    # No server answers on a closed loopback port: a clear error, no traceback.
    unreachable = run(str(corral), "--url", "http://127.0.0.1:9", "stats")
    assert unreachable.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
    # `corral local` needs the checkout's dev install; without one it says so.
    checkout = fake_checkout(tmp_path)
    local = run(str(corral), "local", cwd=checkout / "infra")
    assert local.returncode == 1
    assert "needs the checkout's development install" in local.stderr
    assert "make install" in local.stderr and "Traceback" not in local.stderr
    # With one (.venv), the checkout's infra/local runs under the checkout's interpreter.
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / ".venv" / "bin" / "python").symlink_to(sys.executable)
    for package in ("infra", "infra/local"):
        (checkout / package / "__init__.py").write_text("")
    (checkout / "infra" / "local" / "__main__.py").write_text(
        "import sys\nprint('emulator of the checkout under', sys.executable)\n"
    )
    local = run(str(corral), "local", cwd=checkout / "infra")
    assert local.returncode == 0, local.stderr
    venv_python = checkout / ".venv" / "bin" / "python"
    assert local.stdout.strip() == f"emulator of the checkout under {venv_python}"
